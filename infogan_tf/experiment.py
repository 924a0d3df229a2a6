"""Flags to finished, evaluated runs: dataset, model, trainer, evaluation. Shared by every launcher.

Failures a user can fix (bad data, an incompatible checkpoint, a non-finite loss, an
unwritable directory) end the process with one ``error:`` line and exit code 1; SIGINT
and SIGTERM end it after a checkpoint, with exit code 128 + the signal number.
"""

from __future__ import annotations

import datetime
import json
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf
from absl import app

from infogan_tf import flags as _flags
from infogan_tf.checkpoints import CheckpointError, checkpoint_paths
from infogan_tf.datasets import DATASETS, DataError
from infogan_tf.distributions import MeanBernoulli
from infogan_tf.evaluation import classifier, report, summary
from infogan_tf.latent_spec import parse_latent_spec
from infogan_tf.models import RegularizedGAN
from infogan_tf.optimizers import scaled_learning_rate
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


def run_names(flag_values=FLAGS) -> tuple[str, list[tuple[int, str]]]:
    """The base name and (seed, exp_name) of each run the flags ask for: one, or one per --seeds entry."""
    f = flag_values
    base = f.exp_name or f"{f.dataset}_{datetime.datetime.now():%Y_%m_%d_%H_%M_%S}"
    if not f.seeds:
        return base, [(f.seed, base)]
    return base, [(int(s), f"{base}_seed{int(s)}") for s in f.seeds]


def build(seed: int, exp_name: str, dataset, flag_values=FLAGS) -> InfoGANTrainer:
    """The trainer (with its model) that the flags describe, for one seed."""
    f = flag_values
    if f.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)
    model = RegularizedGAN(
        output_dist=MeanBernoulli(dataset.image_dim),
        latent_spec=parse_latent_spec(f.latent_spec),
        batch_size=f.batch_size,
        image_shape=dataset.image_shape,
        network_type=f.network_type,
        leak=f.leak,
        precision=f.precision,
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
        discriminator_learning_rate=scaled_learning_rate(
            f.discriminator_learning_rate, f.batch_size, f.lr_batch_scaling
        ),
        generator_learning_rate=scaled_learning_rate(f.generator_learning_rate, f.batch_size, f.lr_batch_scaling),
        seed=seed,
        jit_compile=f.jit_compile,
        max_to_keep=f.max_to_keep,
        train_q=f.train_q,
        resume=f.resume,
        reuse_fake_batch=f.reuse_fake_batch,
    )


def evaluate_run(exp_name: str, seed: int, dataset, classifier, checkpoint: str | None = None) -> dict:
    """Evaluate a run (or ``checkpoint``) into its log directory."""
    f = FLAGS
    log_dir = Path(f.root_log_dir) / exp_name
    baseline = f.baseline
    results = report.evaluate(
        checkpoint or Path(f.root_checkpoint_dir) / exp_name,
        dataset,
        classifier,
        out_dir=log_dir if not checkpoint else checkpoint_paths(checkpoint)[0] / "evaluation",
        log_dir=log_dir,
        baseline_checkpoint=Path(f.root_checkpoint_dir) / baseline if baseline else None,
        baseline_log_dir=Path(f.root_log_dir) / baseline if baseline else None,
        num_samples=f.eval_samples,
        seed=seed,
    )
    print(report.results_markdown(results) if not checkpoint else json.dumps(results, indent=2))
    return results


def _summarize(base: str, results: dict[int, dict]) -> None:
    if len(results) > 1:
        out = Path(FLAGS.root_log_dir) / f"{base}_summary"
        summary.write_summary(out, results)
        print((out / "summary.md").read_text())


def _train_main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; settings are given as --flag=value")
    try:
        for flag in ("root_log_dir", "root_checkpoint_dir"):
            ensure_writable_dir(FLAGS[flag].value, flag)
        dataset = DATASETS[FLAGS.dataset](data_dir=FLAGS.data_dir)
        (base, runs), results, classifier_model = run_names(), {}, None
        for seed, exp_name in runs:
            trainer = build(seed, exp_name, dataset)
            trainer.log_dir.mkdir(parents=True, exist_ok=True)
            (trainer.log_dir / "flags.txt").write_text(FLAGS.flags_into_string())
            print(f"Logs: {trainer.log_dir}  Checkpoints: {trainer.checkpoint_dir}")
            d_rate, g_rate = trainer.learning_rates
            reuse = "; the G step reuses the D step's batch" if trainer.reuse_fake_batch else ""
            print(f"Learning rates: D {d_rate:.4g}, G {g_rate:.4g}{reuse}")
            trainer.train()
            if FLAGS.evaluate:
                classifier_model = classifier_model or classifier.load_or_train(dataset, FLAGS.classifier_path)
                results[seed] = evaluate_run(exp_name, seed, dataset, classifier_model)
        _summarize(base, results)
    except (SetupError, DataError, CheckpointError, NonFiniteLossError) as e:
        sys.exit(f"error: {e}")
    except TrainingInterrupted as e:
        print(f"{e}; rerun the same command to resume", file=sys.stderr)
        sys.exit(128 + e.signum)


def _evaluate_main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; settings are given as --flag=value")
    if not FLAGS.checkpoint and not FLAGS.exp_name:
        raise app.UsageError("name the run with --exp_name (and --seeds), or a checkpoint with --checkpoint")
    try:
        dataset = DATASETS[FLAGS.dataset](data_dir=FLAGS.data_dir)
        classifier_model = classifier.load_or_train(dataset, FLAGS.classifier_path)
        if FLAGS.checkpoint:
            evaluate_run(FLAGS.exp_name or "", FLAGS.seed, dataset, classifier_model, checkpoint=FLAGS.checkpoint)
            return
        base, runs = run_names()
        results = {seed: evaluate_run(name, seed, dataset, classifier_model) for seed, name in runs}
        _summarize(base, results)
    except (DataError, CheckpointError) as e:
        sys.exit(f"error: {e}")


def launch(settings: Mapping[str, Any], main: Callable[[list[str]], None] = _train_main) -> None:
    """Run ``main`` (training by default): ``settings`` become flag defaults, the command line overrides them."""
    for name, value in settings.items():
        FLAGS.set_default(name, value)
    app.run(main)


def launch_evaluation(settings: Mapping[str, Any]) -> None:
    launch(settings, _evaluate_main)
