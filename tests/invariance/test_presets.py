"""--preset: named settings between the launcher's defaults and the command line."""

import json
import sys

import pytest
from absl import flags
from conftest import REPO, run_command
from infogan_tf_launchers.command import preset_flags, preset_named_in

from infogan_tf import config as configs
from infogan_tf.config import ExperimentConfig
from infogan_tf.invariance.presets import PRESETS, Preset


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_setting_of_a_preset_is_a_config_field_and_a_value_its_flag_accepts(name):
    flag_values = preset_flags(name)
    assert len(flag_values) == len(PRESETS[name].settings)
    for flag, value in flag_values.items():
        parsed = flags.FLAGS[flag].parser.parse(str(value))
        assert parsed == value, flag
    config = PRESETS[name].apply(ExperimentConfig())
    for path, value in PRESETS[name].settings.items():
        assert configs.get(config, path) == value != configs.get(ExperimentConfig(), path), path


def test_a_preset_must_say_why_for_each_setting():
    with pytest.raises(ValueError, match="a reason for each setting"):
        Preset("x", {"invariance.coeff": 1.0}, {})


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["prog", "--preset=invariant"], "invariant"),
        (["prog", "--preset", "invariant", "--seed=3"], "invariant"),
        (["prog", "--seed=3"], None),
        (["prog", "--preset=no_such_preset"], None),
    ],
)
def test_the_preset_is_read_from_the_command_line_before_the_flags_are_parsed(argv, expected):
    assert preset_named_in(argv) == expected


def run_tiny(tmp_path, mnist_dir, exp_name, *extra):
    """Two updates of batch 8 through the MNIST launcher, unevaluated; the finished process."""
    return run_command(
        [
            sys.executable,
            str(REPO / "launchers" / "run_mnist_exp.py"),
            f"--data_dir={mnist_dir}",
            f"--root_log_dir={tmp_path / 'logs'}",
            f"--root_checkpoint_dir={tmp_path / 'ckt'}",
            f"--exp_name={exp_name}",
            "--batch_size=8",
            "--updates_per_epoch=2",
            "--max_epoch=1",
            "--noevaluate",
            *extra,
        ]
    )


def test_a_preset_run_takes_its_settings_and_the_command_lines_own_values(tmp_path, mnist_dir):
    """The preset sets the invariance term; --invariance_copies=2 on the command line wins over its 3; and the
    over-clustering head, which needs the term, is accepted because the preset turns the term on."""
    result = run_tiny(
        tmp_path, mnist_dir, "preset", "--preset=invariant", "--invariance_copies=2", "--invariance_overclusters=20"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        "Preset invariant: --invariance_coeff=1.0 --invariance_copies=2 --invariance_scale=0.1; "
        "the command line's own: --invariance_copies" in result.stdout
    )
    flags_file = (tmp_path / "logs" / "preset" / "flags.txt").read_text().splitlines()
    for line in ("--preset=invariant", "--invariance_coeff=1.0", "--invariance_copies=2", "--invariance_scale=0.1"):
        assert line in flags_file
    record = json.loads((tmp_path / "logs" / "preset" / "metrics.jsonl").read_text().splitlines()[-1])
    assert "MI_invariance" in record and "MI_overcluster" in record


def test_the_slant_preset_turns_on_its_boolean_flag_and_trains(tmp_path, mnist_dir):
    """A boolean set by a preset (``invariance_deslant``) reaches the run as a real True, not the string."""
    result = run_tiny(tmp_path, mnist_dir, "slant", "--preset=invariant_slant")
    assert result.returncode == 0, result.stderr[-3000:]
    flags_file = (tmp_path / "logs" / "slant" / "flags.txt").read_text().splitlines()
    preset_lines = ("--preset=invariant_slant", "--invariance_deslant", "--invariance_shear=0.3")
    for line in (*preset_lines, "--generator_average=0.999", "--generator_average_from=4000"):
        assert line in flags_file
    run = json.loads((tmp_path / "ckt" / "slant" / "run.json").read_text())["update"]
    assert run["invariance"]["deslant"] is True and run["invariance"]["max_shear"] == 0.3
    assert run["generator_average"] == 0.999 and run["generator_average_from"] == 4000
