"""The command layer: the config the flags make, the presets, and the commands' mains.

The flags are defined in ``flag_definitions`` (each default is its ``ExperimentConfig``
field's, the original MNIST launcher's value) and checked in ``flag_checks``. Here the
library's typed errors become one ``error:`` line and exit code 1; SIGINT and SIGTERM end
a command after a checkpoint, with exit code 128 + the signal number. No library module
reads a flag: ``experiment_config`` is where flags become the config.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import tensorflow as tf
from absl import app, flags
from absl import logging as absl_logging
from infogan_tf_launchers import flag_checks, flag_definitions  # noqa: F401  (flag_checks registers the validators)
from infogan_tf_launchers.flag_definitions import DEFAULT, FLAGS

from infogan_tf import config as configs
from infogan_tf import experiment, export, process, sampling
from infogan_tf.checkpoints import CheckpointError, is_resume_source, load
from infogan_tf.config import ExperimentConfig
from infogan_tf.data import DataError
from infogan_tf.errors import ConfigError
from infogan_tf.evaluation.classifier import ClassifierError
from infogan_tf.invariance import restarts, selection
from infogan_tf.invariance.presets import PRESETS
from infogan_tf.losses import NonFiniteLossError
from infogan_tf.terms import TERMS
from infogan_tf.trainer import TrainingInterrupted

# Flags to the config --------------------------------------------------------------------------------------------

_GROUPS = ("model", "images", "train", "run", "evaluation", "devices")
_RENAMED = {
    "dataset": "dataset",
    "data_dir": "data_dir",
    "invariance_overclusters": "invariance.overclusters",
    "restarts": "restarts.count",
    "restart_select_at": "restarts.select_at",
    "restart_criterion": "restarts.criterion",
    "invariance_coeff": "invariance.coeff",
    "invariance_degrees": "invariance.max_degrees",
    "invariance_shift": "invariance.max_shift",
    "invariance_scale": "invariance.max_scale",
    "invariance_shear": "invariance.max_shear",
    "invariance_elastic": "invariance.elastic",
    "invariance_elastic_sigma": "invariance.elastic_sigma",
    "invariance_erase": "invariance.erase",
    "invariance_erased_copies": "invariance.erased_copies",
    "invariance_deslant": "invariance.deslant",
    "invariance_fakes": "invariance.fakes",
    "invariance_leads": "invariance.leads",
    "invariance_leads_from": "invariance.leads_from",
    "invariance_copies": "invariance.copies",
}
FIELD_OF_FLAG: dict[str, str] = {
    **{f.name: f"{group}.{f.name}" for group in _GROUPS for f in dataclasses.fields(getattr(DEFAULT, group))},
    **_RENAMED,
}
"""Each flag's config field (a dotted path); the flags not here (--preset, --checkpoint, sampling's) are commands'."""
FLAG_OF_FIELD: dict[str, str] = {path: flag for flag, path in FIELD_OF_FLAG.items()}


_BUILT_IN_TERMS = ("invariance",)
"""Terms whose flags are defined above by hand (their names predate the registry)."""


def _term_flag(term: str, field: dataclasses.Field) -> str:
    return f"{term}_{field.name}"


def define_term_flags(flag_values: flags.FlagValues = FLAGS) -> None:
    """A flag per settings field of every registered term that has none yet: ``--<term>_<field>``."""
    definers = {
        bool: flags.DEFINE_boolean,
        int: flags.DEFINE_integer,
        float: flags.DEFINE_float,
        str: flags.DEFINE_string,
    }
    for term, spec in TERMS.items():
        if term in _BUILT_IN_TERMS:
            continue
        defaults = spec.settings()
        for field in dataclasses.fields(spec.settings):
            name, default = _term_flag(term, field), getattr(defaults, field.name)
            if name in flag_values:
                continue
            define = definers.get(type(default))
            if define is None:
                raise TypeError(f"term {term!r}: field {field.name} needs a bool, int, float or str default")
            help_text = field.metadata.get("help", f"The {term} term's {field.name} (beyond the paper).")
            define(name, default, help_text, flag_values=flag_values)


def experiment_config(flag_values: flags.FlagValues = FLAGS) -> ExperimentConfig:
    """The config the parsed flags describe (a ``ValueError`` names a setting the config refuses)."""
    config = DEFAULT
    for name, path in FIELD_OF_FLAG.items():
        value = flag_values[name].value
        if name == "seeds":
            value = tuple(int(s) for s in value or ())
        config = configs.replace(config, path, value)
    terms = {
        term: spec.settings(
            **{f.name: flag_values[_term_flag(term, f)].value for f in dataclasses.fields(spec.settings)}
        )
        for term, spec in TERMS.items()
        if term not in _BUILT_IN_TERMS
    }
    return dataclasses.replace(config, terms=terms)


# Presets ---------------------------------------------------------------------------------------------------------


def preset_named_in(argv: Sequence[str]) -> str | None:
    """The ``--preset`` that ``argv`` names (flag files included), read before the flags are parsed."""
    probe = flags.FlagValues()
    flags.DEFINE_string("preset", None, "", flag_values=probe)
    try:
        probe(list(argv), known_only=True)
    except flags.Error:
        return None  # the real parse reports it
    return probe.preset if probe.preset in PRESETS else None


def preset_flags(name: str) -> dict[str, Any]:
    """The preset's values by the flags that set them."""
    return {FLAG_OF_FIELD[path]: value for path, value in PRESETS[name].settings.items()}


def preset_line(flag_values: flags.FlagValues = FLAGS) -> str:
    """What ``--preset`` set, and what the command line kept for itself."""
    names = list(preset_flags(flag_values.preset))
    own = [name for name in names if flag_values[name].present]
    kept = f"; the command line's own: {', '.join('--' + n for n in own)}" if own else ""
    values = " ".join(f"--{name}={flag_values[name].value}" for name in names)
    return f"Preset {flag_values.preset}: {values}{kept}"


def run_flags(seed: int, exp_name: str, max_epoch: int, flag_values: flags.FlagValues = FLAGS) -> str:
    """The command's flags as this one run had them: its own name, seed and schedule, no ``--seeds``.

    A command over several seeds, or a restart candidate stopped at the selection update,
    would otherwise record the command's ``--seed`` and ``--max_epoch``, not the run's.
    """
    own = {"exp_name": exp_name, "seed": seed, "max_epoch": max_epoch}
    lines = [
        line
        for line in flag_values.flags_into_string().splitlines()
        if line.split("=", 1)[0].lstrip("-") not in {*own, "seeds"}
    ]
    return "\n".join([*lines, *(f"--{name}={value}" for name, value in own.items())]) + "\n"


# The commands ----------------------------------------------------------------------------------------------------


def flag_of(path: str) -> str:
    """How the command line spells the config field at ``path``: its flag."""
    return f"--{FLAG_OF_FIELD[path]}" if path in FLAG_OF_FIELD else path


def error_line(e: Exception) -> str:
    """The one line a library error ends a command with, naming flags where it names config fields."""
    return f"error: {e.render(flag_of) if isinstance(e, ConfigError) else e}"


def _no_arguments(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; settings are given as --flag=value")


def _os_error(e: OSError) -> str:

    if e.errno == errno.ENOSPC:
        return f"the disk is full ({e.filename or e}); free space and {process.rerun_command()} to resume"
    return f"{e.strerror or e}{f': {e.filename}' if e.filename else ''}"


def _train_main(argv: list[str]) -> None:

    _no_arguments(argv)
    if FLAGS.preset:
        print(preset_line())
    command = None
    try:
        config = experiment_config()
        strategy = experiment.make_strategy(config)
        chooser = selection.Restarts(config) if config.restarts.count > 1 else None
        command = experiment.Experiment(config, strategy, record=run_flags, chooser=chooser)
        if not config.run.exp_name:  # the name is a new timestamp each time: the same command would start another run
            process.set_rerun_command(f"rerun the same command with --exp_name={command.base}")
        if not chooser:  # a candidate continued by its name alone: say whether its seed chose another
            for _, name in command.runs:
                if note := restarts.passed_over(config.run.root_log_dir, name):
                    print(f"note: {note}")
        command.train()
        process.finished("the training and its evaluation (every result is written)")
        process.exit_at_once(0)
    except NonFiniteLossError as e:
        newest = command.run.checkpoint.latest if command and command.run else None
        sys.exit(f"{error_line(e)} (the last good checkpoint, from before it, is {newest or 'none yet'})")
    except (
        experiment.SetupError,
        DataError,
        CheckpointError,
        ClassifierError,
        restarts.SelectionError,
        ValueError,
    ) as e:
        sys.exit(error_line(e))
    except OSError as e:
        sys.exit(f"error: {_os_error(e)}")
    except TrainingInterrupted as e:
        print(f"{e}; saved {command.run.checkpoint.latest}; {process.rerun_command()} to resume", file=sys.stderr)
        process.exit_quietly(128 + e.signum)


def _evaluate_main(argv: list[str]) -> None:

    _no_arguments(argv)
    if not FLAGS.checkpoint and not FLAGS.exp_name:
        raise app.UsageError("name the run with --exp_name (and --seeds), or a checkpoint with --checkpoint")
    try:
        experiment.evaluate_experiment(experiment_config(), FLAGS.checkpoint, seed_given=FLAGS["seed"].present)
        process.finished("the evaluation (its results are written)")
        process.exit_at_once(0)
    except (DataError, CheckpointError, ClassifierError, ValueError) as e:
        sys.exit(error_line(e))
    except OSError as e:
        sys.exit(f"error: {_os_error(e)}")


def _load_named_run():
    """The run ``--checkpoint`` or ``--exp_name`` names, loaded."""

    if not FLAGS.checkpoint and not FLAGS.exp_name:
        raise app.UsageError("name the run with --exp_name, or a checkpoint with --checkpoint")
    location = FLAGS.checkpoint or Path(FLAGS.root_checkpoint_dir) / FLAGS.exp_name
    return FLAGS.exp_name or Path(location).name, load(location, generator=FLAGS.generator_weights)


def _sample_main(argv: list[str]) -> None:

    _no_arguments(argv)
    try:
        name, loaded = _load_named_run()
        codes = sampling.resolve_codes(loaded, FLAGS.code)
        out = FLAGS.out or Path(FLAGS.root_log_dir) / name / "samples"
        low, high = (float(v) for v in FLAGS.range)
        written = sampling.write_code_samples(loaded, out, codes, (low, high), FLAGS.steps, seed=FLAGS.seed)
        print(f"Update {loaded.step} of {loaded.checkpoint_path}: wrote " + ", ".join(str(p) for p in written))
    except (CheckpointError, sampling.UnknownCodeError) as e:
        sys.exit(error_line(e))
    except OSError as e:
        sys.exit(f"error: {_os_error(e)}")


def _export_main(argv: list[str]) -> None:

    _no_arguments(argv)
    try:
        name, loaded = _load_named_run()
        out = Path(FLAGS.out or Path("exports") / name)
        with process.deferred_signals() as received:
            written = export.export(loaded, out)
        print(f"Update {loaded.step} of {loaded.checkpoint_path}: wrote " + ", ".join(str(p) for p in written.values()))
        if received:
            print(f"stopped by {signal.Signals(received[0]).name} once the export to {out} was whole", file=sys.stderr)
            process.exit_quietly(128 + received[0])
    except (CheckpointError, export.ExportError) as e:
        sys.exit(error_line(e))
    except OSError as e:
        sys.exit(f"error: {_os_error(e)}")


def launch(settings: Mapping[str, Any], main: Callable[[list[str]], None] = _train_main) -> None:
    """Run ``main`` (training by default): ``settings`` become flag defaults, the command line overrides them.

    A ``--preset`` on the command line overrides ``settings`` in turn, as defaults too, so
    the flags' validators see the values the run will use and a flag given still wins.
    """

    tf.get_logger().setLevel(logging.WARNING)  # tf.distribute logs every collective it plans at INFO
    define_term_flags()
    preset = preset_named_in(sys.argv)
    for name, value in {**settings, **(preset_flags(preset) if preset else {})}.items():
        FLAGS.set_default(name, value)
    shared = FLAGS.flags_by_module_dict()
    for flag in [*shared.get(flag_definitions.__name__, []), *shared.get(__name__, [])]:  # here: the terms' flags
        FLAGS.register_key_flag_for_module(sys.argv[0], flag)  # so --help lists them, not only --helpfull
    flags.register_validator(
        "resume",
        is_resume_source,
        message="--resume must be auto, latest, never, or an existing checkpoint directory/path",
    )

    def quiet_main(argv: list[str]) -> None:
        if not FLAGS["verbosity"].present:  # TF's own INFO lines (e.g. per checkpoint save) only when asked for
            absl_logging.set_verbosity(absl_logging.WARNING)
        main(argv)

    app.run(quiet_main)


def launch_evaluation(settings: Mapping[str, Any]) -> None:
    launch(settings, _evaluate_main)


def launch_sampling(settings: Mapping[str, Any]) -> None:
    launch(settings, _sample_main)


def launch_export(settings: Mapping[str, Any]) -> None:
    launch(settings, _export_main)
