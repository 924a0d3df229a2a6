"""Flags to a finished run: dataset, model, trainer. Shared by every launcher."""

from __future__ import annotations

import datetime
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
from absl import app

from infogan_tf import flags as _flags  # noqa: F401  (defines the flags)
from infogan_tf.datasets import DATASETS, DataError
from infogan_tf.distributions import MeanBernoulli
from infogan_tf.latent_spec import parse_latent_spec
from infogan_tf.models import RegularizedGAN
from infogan_tf.trainer import InfoGANTrainer

FLAGS = _flags.FLAGS


def build(flag_values=FLAGS) -> InfoGANTrainer:
    """The trainer (with its model and dataset) that the flags describe."""
    f = flag_values
    exp_name = f.exp_name or f"{f.dataset}_{datetime.datetime.now():%Y_%m_%d_%H_%M_%S}"
    dataset = DATASETS[f.dataset](data_dir=f.data_dir)
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
    )


def _main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; settings are given as --flag=value")
    try:
        trainer = build()
    except DataError as e:
        sys.exit(f"error: {e}")
    trainer.log_dir.mkdir(parents=True, exist_ok=True)
    (trainer.log_dir / "flags.txt").write_text(FLAGS.flags_into_string())
    print(f"Logs: {trainer.log_dir}  Checkpoints: {trainer.checkpoint_dir}")
    trainer.train()


def launch(settings: Mapping[str, Any]) -> None:
    """Run an experiment: ``settings`` become the flag defaults, the command line overrides them."""
    for name, value in settings.items():
        FLAGS.set_default(name, value)
    app.run(_main)
