"""The library's errors name config fields; the command layer names the flags a user typed."""

import pytest
from conftest import RandomImages
from infogan_tf_launchers.command import FIELD_OF_FLAG, error_line, flag_of

from infogan_tf import experiment
from infogan_tf.config import ExperimentConfig, RunConfig, TrainConfig
from infogan_tf.errors import ConfigError


def test_a_message_spells_fields_as_paths_or_as_whatever_the_caller_names_them():
    error = ConfigError('{train.batch_size}=3 does not split; see {"cluster": 1} and {devices.strategy}')
    assert str(error) == 'train.batch_size=3 does not split; see {"cluster": 1} and devices.strategy'
    assert error.fields == ["train.batch_size", "devices.strategy"]
    assert error.render(str.upper) == 'TRAIN.BATCH_SIZE=3 does not split; see {"cluster": 1} and DEVICES.STRATEGY'


def test_the_library_names_the_field_and_the_command_layer_the_flag(tmp_path):
    config = ExperimentConfig(
        train=TrainConfig(batch_size=1000),
        run=RunConfig(root_log_dir=str(tmp_path / "logs"), root_checkpoint_dir=str(tmp_path / "ckt")),
    )
    with pytest.raises(experiment.SetupError) as raised:
        experiment.check_run_setup(RandomImages(), [(0, "run")], config)
    assert str(raised.value).startswith("train.batch_size=1000 exceeds the 64 training images of random")
    assert error_line(raised.value).startswith("error: --batch_size=1000 exceeds the 64 training images")
    assert error_line(ValueError("plain")) == "error: plain"


def test_every_field_the_library_names_has_a_flag():
    """Each path in a library message that the command layer maps must be a flag's field, or it reaches users."""
    assert flag_of("train.batch_size") == "--batch_size"
    assert flag_of("invariance.max_shear") == "--invariance_shear"
    assert flag_of("no.such") == "no.such"
    for path in ("run.root_log_dir", "run.root_checkpoint_dir", "train.input_pipeline", "train.jit_compile"):
        assert path in FIELD_OF_FLAG.values()
    for path in ("devices.strategy", "devices.cpu_devices", "restarts.criterion", "restarts.count"):
        assert path in FIELD_OF_FLAG.values()
