"""The command layer: the one flag set every launcher shares, the config it makes, and the commands' mains.

A launcher only changes flag defaults (its settings); every flag's default is its
``ExperimentConfig`` field's, the original MNIST launcher's value. Validators reject bad
values before anything is built, with a message that names the flag and the fix; the
library's typed errors become one ``error:`` line and exit code 1; SIGINT and SIGTERM end
a command after a checkpoint, with exit code 128 + the signal number. No library module
reads a flag: ``experiment_config`` is where flags become the config.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import tensorflow as tf
from absl import app, flags
from absl import logging as absl_logging

from infogan_tf import config as configs
from infogan_tf import experiment, export, process, sampling
from infogan_tf.averaging import GENERATOR_WEIGHTS, check_decay
from infogan_tf.checkpoints import CheckpointError, is_resume_source, load
from infogan_tf.config import ExperimentConfig
from infogan_tf.data import DATA_DIR_ENV, DATASETS, DataError
from infogan_tf.errors import ConfigError
from infogan_tf.evaluation.classifier import ClassifierError
from infogan_tf.invariance import restarts, selection
from infogan_tf.invariance.presets import PRESETS
from infogan_tf.invariance.restarts import CRITERIA, INVARIANCE_MI, SEED_STRIDE, shared_candidates
from infogan_tf.latent_spec import LatentSpecError, parse_latent_spec
from infogan_tf.losses import NonFiniteLossError
from infogan_tf.networks import LAYER_KITS, NETWORK_TYPES, PRECISIONS
from infogan_tf.optimizers import BATCH_SCALING_RULES
from infogan_tf.strategies import STRATEGIES
from infogan_tf.terms import TERMS
from infogan_tf.trainer import TrainingInterrupted

FLAGS = flags.FLAGS
DEFAULT = ExperimentConfig()

flags.DEFINE_string("dataset", DEFAULT.dataset, "Training data: a registered dataset (infogan_tf.data.DATASETS).")
flags.DEFINE_string(
    "data_dir",
    None,
    f"Directory of the dataset's files (MNIST: four IDX .gz files). Unset: ${DATA_DIR_ENV}, then tensorflow-datasets.",
)
flags.DEFINE_string(
    "network_type", DEFAULT.model.network_type, "Layer stacks of G, D and Q: a registered network type."
)
flags.DEFINE_string(
    "latent_spec",
    DEFAULT.model.latent_spec,
    "Noise and codes, e.g. 'uniform:62,categorical:10:reg' (see infogan_tf/latent_spec.py).",
)
flags.DEFINE_integer("batch_size", DEFAULT.train.batch_size, "Images per D step and latents per G step.", lower_bound=1)
flags.DEFINE_integer(
    "updates_per_epoch",
    DEFAULT.train.updates_per_epoch,
    "Updates (a D step and a G step each) per epoch.",
    lower_bound=1,
)
flags.DEFINE_integer("max_epoch", DEFAULT.train.max_epoch, "Epochs to train.", lower_bound=1)
flags.DEFINE_float(
    "info_reg_coeff",
    DEFAULT.train.info_reg_coeff,
    "lambda: weight of the mutual-information term in both losses.",
    lower_bound=0.0,
)
flags.DEFINE_float(
    "continuous_info_reg_coeff",
    DEFAULT.train.continuous_info_reg_coeff,
    "lambda of the continuous codes alone; unset: --info_reg_coeff, as in the original (the paper uses a smaller one).",
    lower_bound=0.0,
)
flags.DEFINE_integer(
    "info_reg_warmup",
    DEFAULT.train.info_reg_warmup,
    "Beyond the original: every lambda grows linearly from 0 over this many updates (0: full from the start).",
    lower_bound=0,
)
flags.DEFINE_float(
    "invariance_coeff",
    DEFAULT.invariance.coeff,
    "Beyond the paper: weight of I(c; c') of Q's categorical codes of real images and of randomly rotated and "
    "shifted copies (IIC), in D's objective; 0: off, as in the original.",
    lower_bound=0.0,
)
flags.DEFINE_float(
    "invariance_degrees",
    DEFAULT.invariance.max_degrees,
    "Largest rotation of the invariance term's copies.",
    lower_bound=0.0,
    upper_bound=180.0,
)
flags.DEFINE_float(
    "invariance_shift",
    DEFAULT.invariance.max_shift,
    "Largest shift (pixels) of the invariance term's copies.",
    lower_bound=0.0,
)
flags.DEFINE_float(
    "invariance_scale",
    DEFAULT.invariance.max_scale,
    "Largest scaling of the invariance term's copies, either way (0.1: by 0.9 to 1.1); 0: none.",
    lower_bound=0.0,
    upper_bound=0.5,
)
flags.DEFINE_float(
    "invariance_shear",
    DEFAULT.invariance.max_shear,
    "Largest shear (slant) of the invariance term's copies: each row moved sideways by up to this fraction of its "
    "distance from the centre (0.3: a slant of about 17 degrees either way); 0: none.",
    lower_bound=0.0,
    upper_bound=1.0,
)
flags.DEFINE_float(
    "invariance_elastic",
    DEFAULT.invariance.elastic,
    "Elastic distortion of the invariance term's copies, Simard et al. (2003)'s alpha: a random displacement per "
    "pixel, uniform in +-1 along each axis, smoothed by --invariance_elastic_sigma, times this (34 with sigma 4, "
    "their MNIST values, moves a central pixel by about 2 pixels); 0: none.",
    lower_bound=0.0,
)
flags.DEFINE_float(
    "invariance_elastic_sigma",
    DEFAULT.invariance.elastic_sigma,
    "Smoothing (pixels, a Gaussian's sigma) of the elastic distortion's displacements: smaller is more wrinkled.",
    lower_bound=0.5,
)
flags.DEFINE_integer(
    "invariance_erase",
    DEFAULT.invariance.erase,
    "Side (pixels) of a square blanked in each of the invariance term's copies after the warp, centred anywhere "
    "in the image (Cutout); 0: none.",
    lower_bound=0,
)
flags.DEFINE_integer(
    "invariance_erased_copies",
    DEFAULT.invariance.erased_copies,
    "With --invariance_erase: how many of the --invariance_copies lose a square (the last ones; the others are "
    "warped only); 0: all of them.",
    lower_bound=0,
)
flags.DEFINE_boolean(
    "invariance_deslant",
    DEFAULT.invariance.deslant,
    "Stand each of the invariance term's copies upright first (sheared by its ink's own slant) before the random "
    "changes, so that every slant of a digit is paired with one upright copy.",
)
flags.DEFINE_boolean(
    "invariance_fakes",
    DEFAULT.invariance.fakes,
    "Also read the categorical code through the same transforms of G's images, in both losses.",
)
flags.DEFINE_boolean(
    "invariance_leads",
    DEFAULT.invariance.leads,
    "Q's categorical code learns from the invariance term on real images alone: its L_I trains G and no longer "
    "D and Q.",
)
flags.DEFINE_integer(
    "invariance_leads_from",
    DEFAULT.invariance.leads_from,
    "With --invariance_leads: the update from which the invariance term leads; before it, G's images train Q's "
    "categorical code as without the option.",
    lower_bound=0,
)
flags.DEFINE_integer(
    "invariance_overclusters",
    DEFAULT.invariance.overclusters,
    "Clusters of an auxiliary head on D's body trained by the invariance term (IIC's over-clustering); 0: none.",
    lower_bound=0,
)
flags.DEFINE_integer(
    "invariance_copies",
    DEFAULT.invariance.copies,
    "Transformed copies paired with each real image in the invariance term (IIC's sample repeats).",
    lower_bound=1,
    upper_bound=8,
)
flags.DEFINE_enum(
    "preset",
    None,
    sorted(PRESETS),
    "Named settings beyond the original's (infogan_tf/invariance/presets.py); each flag it sets can still be given.",
)
flags.DEFINE_float("generator_learning_rate", DEFAULT.train.generator_learning_rate, "Adam learning rate of G.")
flags.DEFINE_float(
    "discriminator_learning_rate", DEFAULT.train.discriminator_learning_rate, "Adam learning rate of D and Q."
)
flags.DEFINE_float(
    "leak",
    DEFAULT.model.leak,
    "Leaky ReLU slope in D and Q: 0.01 in the original code, 0.1 in the paper.",
    lower_bound=0.0,
    upper_bound=1.0,
)
flags.DEFINE_enum(
    "layer_kit",
    DEFAULT.model.layer_kit,
    LAYER_KITS,
    "Kernels of the layers: fast (tuned for CPUs), keras (TensorFlow's own, for GPUs), auto (by device). "
    "Same weights either way.",
)
flags.DEFINE_string(
    "root_log_dir", DEFAULT.run.root_log_dir, "Parent of each run's TensorBoard, metrics and image directory."
)
flags.DEFINE_string(
    "root_checkpoint_dir", DEFAULT.run.root_checkpoint_dir, "Parent of each run's checkpoint directory."
)
flags.DEFINE_string("exp_name", DEFAULT.run.exp_name, "Run name; unset: <dataset>_<timestamp>.")
MAX_SEED = 2**32 - 1
flags.DEFINE_integer(
    "seed",
    DEFAULT.run.seed,
    "Seed of weights, latent samples and data order (0 to 2**32 - 1).",
    lower_bound=0,
    upper_bound=MAX_SEED,
)
flags.DEFINE_list("seeds", None, "Several seeds, one run each (named <exp_name>_seed<N>), then a summary over them.")
flags.DEFINE_integer(
    "restarts",
    DEFAULT.restarts.count,
    "Beyond the paper: candidate runs per seed, each trained to --restart_select_at updates; the one with the "
    "highest --restart_criterion trains on (no labels). Candidate r of seed N is the run of seed "
    f"N + {SEED_STRIDE}r. 1: the seed's own run only.",
    lower_bound=1,
    upper_bound=100,
)
flags.DEFINE_integer(
    "restart_select_at",
    DEFAULT.restarts.select_at,
    "The update at which --restarts compares its candidates.",
    lower_bound=1,
)
flags.DEFINE_enum(
    "restart_criterion",
    DEFAULT.restarts.criterion,
    list(CRITERIA),
    "What --restarts chooses by: invariance_mi, the invariance term's I(c; c') as logged (needs "
    "--invariance_coeff > 0); category_entropy, the entropy of how the training images share the first "
    "categorical code's categories (highest when they share them evenly, as the classes of MNIST do).",
)
flags.DEFINE_boolean(
    "evaluate",
    DEFAULT.evaluation.evaluate,
    "Evaluate each run at its end (results.json, results.md, figures in its log dir).",
)
flags.DEFINE_string(
    "baseline",
    DEFAULT.evaluation.baseline,
    "Experiment name of a baseline GAN run (--info_reg_coeff=0 --train_q) to compare with.",
)
flags.DEFINE_string(
    "checkpoint", None, "evaluate.py: a checkpoint directory or path to evaluate instead of --exp_name's."
)
flags.DEFINE_string(
    "classifier_path",
    DEFAULT.evaluation.classifier_path,
    "Cached classifier of the dataset, for sample quality; unset: one per dataset in the cache.",
)
flags.DEFINE_integer(
    "eval_samples",
    DEFAULT.evaluation.eval_samples,
    "Generated samples scored by the classifier (at least 200: the Frechet distance needs more samples than the "
    "classifier's 128 features, and is biased upwards below 10,000).",
    lower_bound=200,
)
flags.DEFINE_float(
    "generator_average",
    DEFAULT.train.generator_average,
    "Beyond the original: decay of a moving average of G's weights kept beside them (e.g. 0.999); sampling, "
    "evaluation and export then use it. It changes no update. 0: none, as in the original.",
)
flags.DEFINE_integer(
    "generator_average_from",
    DEFAULT.train.generator_average_from,
    "With --generator_average: the updates left out of the average at the start; it takes in G after each later "
    "update, the first copied (4000 on the 5,000-update schedule: about the last 1,000). 0: from the first update. "
    "A run that ends before it keeps no average, and is evaluated by its trained weights.",
    lower_bound=0,
)
flags.DEFINE_enum(
    "generator_weights",
    DEFAULT.evaluation.generator_weights,
    GENERATOR_WEIGHTS,
    "Which G evaluation, sampling and export use: the run's moving average of G's weights (--generator_average) "
    "where it kept one, else the trained weights; or always the trained weights.",
)
flags.DEFINE_integer(
    "snapshot_interval",
    DEFAULT.run.snapshot_interval,
    "Updates between checkpoints (one is also written at the end).",
    lower_bound=1,
)
flags.DEFINE_integer("max_to_keep", DEFAULT.run.max_to_keep, "Checkpoints kept; older ones are deleted.", lower_bound=1)
flags.DEFINE_boolean(
    "train_q",
    DEFAULT.train.train_q,
    "With --info_reg_coeff=0: still train Q (on detached D features) to measure L_I of a plain GAN.",
)
flags.DEFINE_string(
    "resume",
    DEFAULT.run.resume,
    "auto: continue this --exp_name's newest checkpoint if any; latest: require one; never: refuse to reuse "
    "a directory with checkpoints; or a checkpoint directory/path to start from.",
)
flags.DEFINE_boolean(
    "deterministic",
    DEFAULT.train.deterministic,
    "Turn on TF op determinism, so a rerun or a resumed run repeats exactly.",
)
flags.DEFINE_enum(
    "precision",
    DEFAULT.model.precision,
    PRECISIONS,
    "Layer compute dtype; variables, BN statistics and losses stay float32. mixed_float16 adds Keras's dynamic "
    "loss scaling.",
)
flags.DEFINE_boolean("jit_compile", DEFAULT.train.jit_compile, "Compile the train step with XLA.")
flags.DEFINE_enum(
    "strategy",
    DEFAULT.devices.strategy,
    STRATEGIES,
    "tf.distribute strategy: auto (all local GPUs mirrored when there are several, else one device), one_device, "
    "mirrored (local GPUs, or the logical CPUs of --cpu_devices), multi_worker (TF_CONFIG), tpu.",
)
flags.DEFINE_integer(
    "cpu_devices",
    DEFAULT.devices.cpu_devices,
    "Split the host CPU into this many logical devices (to try --strategy=mirrored without GPUs).",
    1,
)
flags.DEFINE_enum(
    "input_pipeline",
    DEFAULT.train.input_pipeline,
    ["auto", "tf_data", "device"],
    "How batches reach the step: tf_data (host pipeline), device (the training set copied to the device once, "
    "batches gathered there), auto (device on one GPU, else tf_data). Same batches either way.",
)
flags.DEFINE_integer(
    "check_interval",
    DEFAULT.train.check_interval,
    "Updates between the host's checks for a non-finite loss (also at every epoch end and save; the first bad "
    "update is named either way); unset: 1, or 100 where a GPU is visible.",
    lower_bound=1,
)
flags.DEFINE_boolean(
    "sync_batch_norm",
    DEFAULT.model.sync_batch_norm,
    "BatchNorm statistics over the global batch (all-reduced), not each replica's rows; one device: no change.",
)
flags.DEFINE_boolean(
    "reuse_fake_batch",
    DEFAULT.train.reuse_fake_batch,
    "G step trains on the D step's latents and images (through the updated D): one G forward pass per update, "
    "not two. The original generated a fresh batch.",
)
flags.DEFINE_enum(
    "lr_batch_scaling",
    DEFAULT.train.lr_batch_scaling,
    sorted(BATCH_SCALING_RULES),
    "Scale both learning rates by (batch_size / 128) ** {none: 0, sqrt: 1/2, linear: 1}, for larger batches.",
)

flags.DEFINE_list(
    "code", ["all"], "sample.py: the regularised codes to sweep, by number or unique family (e.g. 0,categorical)."
)
flags.DEFINE_list("range", ["-2", "2"], "sample.py: low,high of the sweep of a continuous code (training: -1,1).")
flags.DEFINE_integer("steps", 10, "sample.py: values per continuous sweep (columns of a grid, frames of a GIF).", 2)
flags.DEFINE_string(
    "out", None, "sample.py / export.py: output directory; unset: <run's log dir>/samples, exports/<exp_name>."
)

for _name in ("generator_learning_rate", "discriminator_learning_rate"):
    flags.register_validator(_name, lambda v: 0.0 < v <= 1.0, message=f"--{_name} must lie in (0, 1]")


def _valid_generator_average(decay: float) -> bool:
    if decay:
        try:
            check_decay(decay)
        except ValueError as e:
            raise flags.ValidationError(f"--generator_average: {e}; 0 keeps none") from e
    return True


flags.register_validator("generator_average", _valid_generator_average)
flags.register_multi_flags_validator(
    ["generator_average", "generator_average_from"],
    lambda v: not v["generator_average_from"] or bool(v["generator_average"]),
    message="--generator_average_from delays an average that --generator_average keeps: set both (e.g. "
    "--generator_average=0.999 --generator_average_from=4000), or drop --generator_average_from",
)


def _valid_latent_spec(text: str) -> bool:
    try:
        parse_latent_spec(text)
    except LatentSpecError as e:
        raise flags.ValidationError(str(e)) from e
    return True


def _registered(flag: str, registry: dict) -> None:
    """Accept names of ``registry`` as it stands when the flags are parsed (a program may register more)."""

    def check(value: str) -> bool:
        if value not in registry:
            raise flags.ValidationError(f"--{flag}={value} is unknown; known: {', '.join(sorted(registry))}")
        return True

    flags.register_validator(flag, check)


def _valid_range(values: list[str]) -> bool:
    try:
        low, high = (float(v) for v in values)
    except ValueError as e:
        raise flags.ValidationError(f"--range must be two numbers low,high, e.g. -2,2; not {','.join(values)}") from e
    if not low < high:
        raise flags.ValidationError(f"--range must go from low to high; {low} is not below {high}")
    return True


flags.register_validator("range", _valid_range)
flags.register_validator("latent_spec", _valid_latent_spec)
_registered("dataset", DATASETS)
_registered("network_type", NETWORK_TYPES)
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=-]{0,199}")
"""A run's name becomes a directory name: no path separators, no leading dot, no '..'."""


def _valid_run_name(flag: str):
    def check(value: str | None) -> bool:
        if value is not None and (not RUN_NAME.fullmatch(value) or ".." in value):
            raise flags.ValidationError(
                f"--{flag}={value!r} cannot name a run directory: use letters, digits and . _ + = - "
                "(at most 200, not starting with a dot, no '/' or '..')"
            )
        return True

    return check


def _valid_seeds(values: list[str] | None) -> bool:
    if values is None:
        return True
    texts = [v.strip() for v in values]
    bad = [t for t in texts if not (t.isascii() and t.isdigit()) or int(t) > MAX_SEED]
    if bad:
        raise flags.ValidationError(f"--seeds must be integers from 0 to {MAX_SEED}, e.g. 0,1,2; not {bad[0]!r}")
    seeds = [int(t) for t in texts]
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise flags.ValidationError(
            f"--seeds lists {', '.join(map(str, repeated))} more than once; each seed is one run"
        )
    return True


flags.register_validator("seeds", _valid_seeds)
flags.register_validator("exp_name", _valid_run_name("exp_name"))
flags.register_validator("baseline", _valid_run_name("baseline"))


_OPTIONS_OF_THE_TERM = (
    "invariance_overclusters",
    "invariance_fakes",
    "invariance_leads",
    "invariance_leads_from",
    "invariance_erase",
    "invariance_erased_copies",
)
"""Flags that mean nothing without --invariance_coeff > 0, so setting one alone is an error."""


def _invariance_options_need_the_term(values: dict) -> bool:
    if values["invariance_coeff"]:
        if values["invariance_overclusters"] == 1:
            raise flags.ValidationError("--invariance_overclusters needs at least 2 clusters (or 0 for none)")
        if values["invariance_fakes"] and values["reuse_fake_batch"]:
            raise flags.ValidationError(
                "--invariance_fakes reads the code from the G step's own batch: drop --reuse_fake_batch"
            )
        if values["invariance_leads_from"] and not values["invariance_leads"]:
            raise flags.ValidationError(
                "--invariance_leads_from says when the invariance term starts leading: add --invariance_leads, "
                "or drop --invariance_leads_from"
            )
        if values["invariance_fakes"] and values["invariance_leads"]:
            raise flags.ValidationError(
                "--invariance_leads keeps G's images from training Q's categorical code, which --invariance_fakes "
                "does: drop one of them"
            )
        return True
    for name in _OPTIONS_OF_THE_TERM:
        if values[name]:
            raise flags.ValidationError(
                f"--{name} only works through the invariance term: set --invariance_coeff > 0 too, or drop --{name}"
            )
    return True


flags.register_multi_flags_validator(
    ["invariance_coeff", *_OPTIONS_OF_THE_TERM, "reuse_fake_batch"], _invariance_options_need_the_term
)


def _lead_starts_within_the_schedule(values: dict) -> bool:
    updates = values["max_epoch"] * values["updates_per_epoch"]
    if values["invariance_leads_from"] >= updates:
        raise flags.ValidationError(
            f"--invariance_leads_from={values['invariance_leads_from']} is past the run's last update ({updates}), "
            "so the invariance term would never lead: lower it, or drop it to lead from the start"
        )
    return True


flags.register_multi_flags_validator(
    ["invariance_leads_from", "max_epoch", "updates_per_epoch"], _lead_starts_within_the_schedule
)


def _restarts_can_choose(values: dict) -> bool:
    if values["restarts"] == 1:
        return True
    if values["restart_criterion"] == INVARIANCE_MI and not values["invariance_coeff"]:
        raise flags.ValidationError(
            "--restarts chooses by the invariance term's I(c; c'): set --invariance_coeff > 0 "
            "(e.g. --preset=invariant), choose by --restart_criterion=category_entropy, or drop --restarts"
        )
    at, per_epoch, updates = values["restart_select_at"], values["updates_per_epoch"], values["max_epoch"]
    updates *= per_epoch
    if at % per_epoch or at >= updates:
        raise flags.ValidationError(
            f"--restart_select_at={at} must end an epoch (a multiple of --updates_per_epoch={per_epoch}) before the "
            f"run's last update ({updates})"
        )
    if values["resume"] not in ("auto", "latest", "never"):
        raise flags.ValidationError(
            "--resume=<checkpoint> starts one run from it; with --restarts each candidate starts from its own "
            "directory: use --resume=auto"
        )
    seeds = [values["seed"]] if not values["seeds"] else [int(s) for s in values["seeds"] if s.strip().isdigit()]
    too_big = [s for s in seeds if s + (values["restarts"] - 1) * SEED_STRIDE > MAX_SEED]
    if too_big:
        raise flags.ValidationError(f"seed {too_big[0]}'s candidates would pass the largest seed, {MAX_SEED}")
    shared = shared_candidates(seeds, values["restarts"])
    if shared:
        raise flags.ValidationError(
            f"with --restarts={values['restarts']}, seed {shared[0]} would be a candidate of two of --seeds "
            f"(candidates are {SEED_STRIDE} apart): keep --seeds less than {SEED_STRIDE} apart"
        )
    return True


flags.register_multi_flags_validator(
    [
        "restarts",
        "restart_select_at",
        "restart_criterion",
        "invariance_coeff",
        "updates_per_epoch",
        "max_epoch",
        "resume",
        "seed",
        "seeds",
    ],
    _restarts_can_choose,
)


# Flags to the config --------------------------------------------------------------------------------------------

_GROUPS = ("model", "train", "run", "evaluation", "devices")
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
        command.train()
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
        sys.exit(128 + e.signum)


def _evaluate_main(argv: list[str]) -> None:

    _no_arguments(argv)
    if not FLAGS.checkpoint and not FLAGS.exp_name:
        raise app.UsageError("name the run with --exp_name (and --seeds), or a checkpoint with --checkpoint")
    try:
        experiment.evaluate_experiment(experiment_config(), FLAGS.checkpoint, seed_given=FLAGS["seed"].present)
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
        written = export.export(loaded, FLAGS.out or Path("exports") / name)
        print(f"Update {loaded.step} of {loaded.checkpoint_path}: wrote " + ", ".join(str(p) for p in written.values()))
    except CheckpointError as e:
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
    for flag in FLAGS.flags_by_module_dict().get(__name__, []):
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
