"""The library's errors name config fields; the command layer names the flags a user typed."""

import ast

import pytest
from conftest import REPO, RandomImages
from infogan_tf_launchers.command import FIELD_OF_FLAG, error_line, flag_of

from infogan_tf import experiment
from infogan_tf.checkpoints import CheckpointError
from infogan_tf.config import ExperimentConfig, RunConfig, TrainConfig
from infogan_tf.data import DataError, MnistDataset
from infogan_tf.errors import _FIELD, ConfigError


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


def fields_named_in_the_library() -> dict[str, str]:
    """Every ``{a.b}`` in a string literal of the library (an f-string's ``{{a.b}}`` too), with where it is."""
    found = {}
    for path in (REPO / "infogan_tf").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for field in _FIELD.findall(node.value):
                    found.setdefault(field, f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_every_field_a_library_message_names_is_a_flag_s():
    named = fields_named_in_the_library()
    assert {"run.exp_name", "run.resume", "data_dir", "evaluation.classifier_path"} <= set(named)
    unknown = {field: where for field, where in named.items() if field not in FIELD_OF_FLAG.values()}
    assert not unknown, f"these reach users as config paths, not flags: {unknown}"


def test_checkpoint_and_data_errors_reach_the_command_line_as_flags(tmp_path):
    with pytest.raises(DataError) as missing:
        MnistDataset(str(tmp_path / "nowhere"))
    assert "data_dir=DIR" in str(missing.value) and "--data_dir=DIR" in error_line(missing.value)
    error = CheckpointError("{run.resume}=latest, but x holds no checkpoint; choose a new {run.exp_name}")
    assert error_line(error) == "error: --resume=latest, but x holds no checkpoint; choose a new --exp_name"
    assert isinstance(error, ConfigError)
