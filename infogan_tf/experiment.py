"""Flags to a finished run: dataset, model, trainer. Shared by every launcher.

Failures a user can fix (bad data, an incompatible checkpoint, a non-finite loss, an
unwritable directory) end the process with one ``error:`` line and exit code 1; SIGINT
and SIGTERM end it after a checkpoint, with exit code 128 + the signal number.
"""

from __future__ import annotations

import datetime
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf
from absl import app

from infogan_tf import flags as _flags
from infogan_tf.checkpoints import CheckpointError
from infogan_tf.datasets import DATASETS, DataError
from infogan_tf.distributions import MeanBernoulli
from infogan_tf.latent_spec import parse_latent_spec
from infogan_tf.models import RegularizedGAN
from infogan_tf.trainer import InfoGANTrainer, NonFiniteLossError, TrainingInterrupted

FLAGS = _flags.FLAGS


class SetupError(RuntimeError):
    """A setting that passed flag parsing but cannot be used on this machine."""


def ensure_writable_dir(path: str, flag: str) -> None:
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise SetupError(f"--{flag}={path} is not a writable directory ({e.strerror or e}); choose another") from e


def build(flag_values=FLAGS) -> InfoGANTrainer:
    """The trainer (with its model and dataset) that the flags describe."""
    f = flag_values
    exp_name = f.exp_name or f"{f.dataset}_{datetime.datetime.now():%Y_%m_%d_%H_%M_%S}"
    for flag in ("root_log_dir", "root_checkpoint_dir"):
        ensure_writable_dir(f[flag].value, flag)
    dataset = DATASETS[f.dataset](data_dir=f.data_dir)
    if f.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(f.seed)
    model = RegularizedGAN(
        output_dist=MeanBernoulli(dataset.image_dim),
        latent_spec=parse_latent_spec(f.latent_spec),
        batch_size=f.batch_size,
        image_shape=dataset.image_shape,
        network_type=f.network_type,
        leak=f.leak,
    )
    return InfoGANTrainer(
        model=model,
        dataset=dataset,
        batch_size=f.batch_size,
        exp_name=exp_name,
        log_dir=str(Path(f.root_log_dir) / exp_name),
        checkpoint_dir=str(Path(f.root_checkpoint_dir) / exp_name),
        max_epoch=f.max_epoch,
        updates_per_epoch=f.updates_per_epoch,
        snapshot_interval=f.snapshot_interval,
        info_reg_coeff=f.info_reg_coeff,
        discriminator_learning_rate=f.discriminator_learning_rate,
        generator_learning_rate=f.generator_learning_rate,
        seed=f.seed,
        jit_compile=f.jit_compile,
        max_to_keep=f.max_to_keep,
        train_q=f.train_q,
        resume=f.resume,
    )


def _main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; settings are given as --flag=value")
    try:
        trainer = build()
        trainer.log_dir.mkdir(parents=True, exist_ok=True)
        (trainer.log_dir / "flags.txt").write_text(FLAGS.flags_into_string())
        print(f"Logs: {trainer.log_dir}  Checkpoints: {trainer.checkpoint_dir}")
        trainer.train()
    except (SetupError, DataError, CheckpointError, NonFiniteLossError) as e:
        sys.exit(f"error: {e}")
    except TrainingInterrupted as e:
        print(f"{e}; rerun the same command to resume", file=sys.stderr)
        sys.exit(128 + e.signum)


def launch(settings: Mapping[str, Any]) -> None:
    """Run an experiment: ``settings`` become the flag defaults, the command line overrides them."""
    for name, value in settings.items():
        FLAGS.set_default(name, value)
    app.run(_main)
