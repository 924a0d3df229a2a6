"""InfoGANTrainer: the update loop, summaries and checkpoints.

Port of ``infogan/algos/infogan_trainer.py``. Each update is the original's: a D step (D
and Q on a real batch and a fake batch, loss minus lambda * L_I), then a G step on a fresh
latent sample (loss minus lambda * L_I), each with its own Adam(beta1 = 0.5); the G step
reuses the D step's sample and images only when asked (``reuse_fake_batch``). Both steps
run in one ``tf.function`` (XLA with ``jit_compile``). The logged scalars are summed on
the device and read once per epoch.

A run never loses work: it resumes from its newest readable checkpoint (weights, both
optimisers, step, latent RNG, the epoch's running log sums; the data stream is a function
of the step), checkpoints on SIGINT/SIGTERM before exiting, and stops at the first update
whose loss is not finite, without saving it. A non-finite gradient with finite losses
makes the weights non-finite, and then the next update's losses; in between, a
checkpoint is refused if any weight is not finite. (Checking the gradients themselves
would take a pass over all 13M of them every update.)

Differences from the original, written down in the README: TensorBoard gets the epoch
averages that the console prints (the original summarised one extra batch at epoch end);
checkpoints are written every ``snapshot_interval`` updates and at the end (the
original's 10000 never fired within its 5000 updates, openai/InfoGAN#6).
"""

from __future__ import annotations

import contextlib
import json
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import keras
import tensorflow as tf

from infogan_tf import checkpoints, losses
from infogan_tf.models import RegularizedGAN
from infogan_tf.optimizers import FusedAdam
from infogan_tf.visualize import FactorVisualizer, save_png


class NonFiniteLossError(FloatingPointError):
    """A loss, a logged quantity or a weight became NaN or Inf."""


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM arrived; a checkpoint of the current update was written first."""

    def __init__(self, signum: int, step: int, path: str):
        self.signum, self.step, self.path = signum, step, path
        super().__init__(f"stopped by {signal.Signals(signum).name} at update {step}; saved {path}")


class StopTraining(Exception):
    """Raised by a ``train(after_update=...)`` hook to end the run early, with a final checkpoint."""


class _StopOnSignal:
    """Turns SIGINT/SIGTERM into a flag that the loop checks between updates."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signum: int | None = None
        self._previous = {}

    def __enter__(self) -> _StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for s in self.SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.signum = signum

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)


class InfoGANTrainer:
    def __init__(
        self,
        model: RegularizedGAN,
        batch_size: int,
        dataset=None,
        exp_name: str = "experiment",
        log_dir: str = "logs",
        checkpoint_dir: str = "ckt",
        max_epoch: int = 100,
        updates_per_epoch: int = 100,
        snapshot_interval: int = 1000,
        info_reg_coeff: float = 1.0,
        discriminator_learning_rate: float = 2e-4,
        generator_learning_rate: float = 2e-4,
        seed: int = 0,
        jit_compile: bool = False,
        max_to_keep: int = 5,
        train_q: bool = False,
        resume: str = "auto",
        reuse_fake_batch: bool = False,
    ):
        """``train_q`` with ``info_reg_coeff=0`` is the paper's baseline (Fig. 1): a plain GAN
        whose Q head still learns to read the codes, on D's features with their gradient
        stopped, so L_I is measured but reaches neither G nor D's body.

        ``resume``: "auto" continues from ``checkpoint_dir`` if it holds checkpoints,
        "latest" requires that it does, "never" refuses a directory that does, and any
        other value is a checkpoint (directory or path) to start from.

        ``reuse_fake_batch``: the G step trains on the D step's latents and images (through
        the updated D) instead of generating a fresh batch, saving G's second forward pass.
        Off by default: the original drew a new batch, and G's BatchNorm moving averages
        then move once per update instead of twice.
        """
        self.model = model
        self.dataset = dataset
        self.batch_size = batch_size
        self.exp_name = exp_name
        self.log_dir = Path(log_dir)
        self.checkpoint_dir = Path(checkpoint_dir)
        self.max_epoch = max_epoch
        self.updates_per_epoch = updates_per_epoch
        self.snapshot_interval = snapshot_interval
        self.info_reg_coeff = info_reg_coeff
        self.q_only = train_q and not info_reg_coeff
        self.seed = seed
        self.resume = resume
        self.reuse_fake_batch = reuse_fake_batch
        self.learning_rates = (discriminator_learning_rate, generator_learning_rate)

        self.rng = tf.random.Generator.from_seed(seed)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.discriminator_optimizer = FusedAdam(discriminator_learning_rate, beta_1=0.5, epsilon=1e-8)
        self.generator_optimizer = FusedAdam(generator_learning_rate, beta_1=0.5, epsilon=1e-8)
        self.discriminator_optimizer.build(model.discriminator_variables)
        self.generator_optimizer.build(model.generator_variables)

        self.log_keys = self._log_keys()
        self.check_keys = [*self.log_keys, "generator_loss (G step)"]
        self._log_sums = tf.Variable(tf.zeros(len(self.log_keys)), trainable=False, name="log_sums")
        self._first_nonfinite = tf.Variable(-1, dtype=tf.int32, trainable=False, name="first_nonfinite")
        self._last_checks = tf.Variable(tf.zeros(len(self.check_keys)), trainable=False, name="last_checks")
        self.checkpoint = tf.train.Checkpoint(
            step=self.step,
            rng=self.rng,
            log_sums=self._log_sums,
            discriminator_optimizer=self.discriminator_optimizer,
            generator_optimizer=self.generator_optimizer,
            **model.keras_models,
        )
        self.checkpoint_manager = tf.train.CheckpointManager(
            self.checkpoint, str(self.checkpoint_dir), max_to_keep=max_to_keep, checkpoint_name=exp_name
        )
        self.update = tf.function(self._update, jit_compile=jit_compile)

    @property
    def run_settings(self) -> dict[str, int]:
        """What fixes the data stream and the epoch boundaries; a resume must keep them."""
        return {"batch_size": self.batch_size, "updates_per_epoch": self.updates_per_epoch, "seed": self.seed}

    def _log_keys(self) -> list[str]:
        """The original's log_vars, in its order."""
        keys = ["discriminator_loss", "generator_loss"]
        for suffix in self.model.code_group_names:
            keys += [f"MI_{suffix}", f"CrossEnt_{suffix}"]
        for idx, dist in enumerate(self.model.reg_latent_dist.dists):
            if "stddev" in dist.dist_info_keys:
                keys += [f"max_std_{idx}", f"min_std_{idx}"]
        return keys + ["MI", "CrossEnt", "max_real_d", "min_real_d", "max_fake_d", "min_fake_d"]

    def info_terms(self, z_var: tf.Tensor, reg_dist_info: dict) -> dict[str, tf.Tensor]:
        """L_I and its cross-entropy, per code group (discrete, continuous) and in total."""
        terms = {"MI": tf.constant(0.0), "CrossEnt": tf.constant(0.0)}
        for suffix, dist, codes, info in self.model.code_groups(z_var, reg_dist_info):
            term = losses.mutual_info(dist, codes, info)
            terms[f"MI_{suffix}"] = term.mi
            terms[f"CrossEnt_{suffix}"] = term.cross_ent
            terms["MI"] += term.mi
            terms["CrossEnt"] += term.cross_ent
        return terms

    @staticmethod
    def _apply(optimizer: keras.optimizers.Optimizer, gradients: list, variables: list) -> None:
        optimizer.apply_gradients([(g, v) for g, v in zip(gradients, variables) if g is not None])

    def _discriminator_step(self, real_x: tf.Tensor, z: tf.Tensor, fake_x: tf.Tensor) -> dict[str, tf.Tensor]:
        model = self.model
        variables = model.discriminator_variables
        with tf.GradientTape() as tape:
            real, fake = model.discriminate_real_and_fake(real_x, fake_x, training=True, detach_q=self.q_only)
            info = self.info_terms(z, fake.reg_dist_info)
            d_loss = losses.discriminator_loss(real.d_logit, fake.d_logit)
            if self.info_reg_coeff:
                d_loss -= self.info_reg_coeff * info["MI"]
            trained_loss = d_loss - info["MI"] if self.q_only else d_loss
        self._apply(self.discriminator_optimizer, tape.gradient(trained_loss, variables), variables)
        logs = dict(info)
        logs["discriminator_loss"] = d_loss
        logs["generator_loss"] = losses.generator_loss(fake.d_logit) - self.info_reg_coeff * info["MI"]
        for idx, dist_info in enumerate(model.reg_latent_dist.split_dist_info(fake.reg_dist_info)):
            if "stddev" in dist_info:
                logs[f"max_std_{idx}"] = tf.reduce_max(dist_info["stddev"])
                logs[f"min_std_{idx}"] = tf.reduce_min(dist_info["stddev"])
        for name, d in (("real_d", real.d), ("fake_d", fake.d)):
            logs[f"max_{name}"] = tf.reduce_max(d)
            logs[f"min_{name}"] = tf.reduce_min(d)
        return logs

    def _generator_loss(self, z: tf.Tensor, fake_x: tf.Tensor) -> tf.Tensor:
        fake = self.model.discriminate(fake_x, training=True)
        g_loss = losses.generator_loss(fake.d_logit)
        if self.info_reg_coeff:
            g_loss -= self.info_reg_coeff * self.info_terms(z, fake.reg_dist_info)["MI"]
        return g_loss

    def _generator_step(self) -> tf.Tensor:
        z = self.model.latent_dist.sample_prior(self.batch_size, self.rng)
        variables = self.model.generator_variables
        with tf.GradientTape() as tape:
            fake_x, _ = self.model.generate(z, training=True)
            g_loss = self._generator_loss(z, fake_x)
        self._apply(self.generator_optimizer, tape.gradient(g_loss, variables), variables)
        return g_loss

    def _generator_step_on(self, z: tf.Tensor, fake_x: tf.Tensor, generator_tape: tf.GradientTape) -> tf.Tensor:
        """The G step on the D step's batch: D's gradient at ``fake_x``, pulled back through G's recorded pass."""
        with tf.GradientTape() as tape:
            tape.watch(fake_x)
            g_loss = self._generator_loss(z, fake_x)
        variables = self.model.generator_variables
        image_gradient = tape.gradient(g_loss, fake_x)
        self._apply(self.generator_optimizer, generator_tape.gradient(fake_x, variables, image_gradient), variables)
        return g_loss

    def _update(self, real_x: tf.Tensor) -> None:
        z = self.model.latent_dist.sample_prior(self.batch_size, self.rng)
        with tf.GradientTape() if self.reuse_fake_batch else contextlib.nullcontext() as generator_tape:
            fake_x, _ = self.model.generate(z, training=True)
        logs = self._discriminator_step(real_x, z, fake_x)
        g_loss = self._generator_step_on(z, fake_x, generator_tape) if self.reuse_fake_batch else self._generator_step()
        logged = [tf.cast(logs[k], tf.float32) for k in self.log_keys]
        checks = tf.stack([*logged, g_loss])
        self._log_sums.assign_add(checks[: len(self.log_keys)])
        bad = tf.logical_not(tf.math.is_finite(checks))
        self._first_nonfinite.assign(
            tf.where(tf.reduce_any(bad), tf.argmax(tf.cast(bad, tf.int32), output_type=tf.int32), -1)
        )
        self._last_checks.assign(checks)
        self.step.assign_add(1)

    def _start(self) -> int:
        """Restore per ``self.resume`` (or start fresh) and record this run's setup; returns the step."""
        config = checkpoints.ModelConfig.of(self.model)
        existing = self.checkpoint_manager.checkpoints
        if self.resume == "never" and existing:
            raise checkpoints.CheckpointError(
                f"{self.checkpoint_dir} already holds checkpoints; "
                "choose a new --exp_name, or --resume=auto to continue"
            )
        if self.resume in checkpoints.RESUME_MODES:
            if not existing and self.resume == "latest":
                raise checkpoints.CheckpointError(f"--resume=latest, but {self.checkpoint_dir} holds no checkpoint")
            source_dir, paths = self.checkpoint_dir, list(reversed(existing))
        else:
            source_dir, paths = checkpoints.checkpoint_paths(self.resume)
        if paths:
            checkpoints.check_compatible(source_dir, config, self.run_settings)
            path = checkpoints.restore_newest_readable(self.checkpoint, paths)
            for optimizer, rate in zip((self.discriminator_optimizer, self.generator_optimizer), self.learning_rates):
                optimizer.learning_rate.assign(rate)
            print(f"Resumed from {path} at update {int(self.step.numpy())}")
        checkpoints.write_run_files(self.checkpoint_dir, config, self.run_settings)
        return int(self.step.numpy())

    def _open_metrics(self, step: int):
        """The per-epoch log, cut back to ``step`` so a resumed run continues it without duplicates."""
        path = self.log_dir / "metrics.jsonl"
        if path.is_file():
            kept = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line)["step"] <= step]
            path.write_text("".join(line + "\n" for line in kept))
        return open(path, "a")

    def train(self, after_update: Callable[[int], None] | None = None) -> dict[str, float]:
        """Run until ``max_epoch`` epochs are done; returns the last epoch's averaged logs.

        ``after_update(step)`` runs after every update (benchmarks use it to evaluate on
        the side); it may raise ``StopTraining`` to end the run early.
        """
        self.log_dir.mkdir(parents=True, exist_ok=True)
        (self.log_dir / "images").mkdir(exist_ok=True)
        start_step = self._start()
        self._saved_at = start_step
        self.last_logs: dict[str, float] = {}
        writer = tf.summary.create_file_writer(str(self.log_dir))
        visualizer = FactorVisualizer(self.model, seed=self.seed)
        batches = iter(self.dataset.train.batches(self.batch_size, seed=self.seed, start=start_step))
        with (
            _StopOnSignal() as stop,
            writer.as_default(),
            self._open_metrics(start_step) as metrics_file,
            contextlib.suppress(StopTraining),
        ):
            self._run_epochs(start_step, batches, visualizer, metrics_file, stop, after_update)
        if int(self.step.numpy()) != self._saved_at:
            self._save(int(self.step.numpy()))
        writer.flush()
        return self.last_logs

    def _run_epochs(
        self, start_step: int, batches, visualizer, metrics_file, stop: _StopOnSignal, after_update
    ) -> None:
        first_epoch, first_update = divmod(start_step, self.updates_per_epoch)
        for epoch in range(first_epoch, self.max_epoch):
            first = first_update if epoch == first_epoch else 0
            if first == 0:
                self._log_sums.assign(tf.zeros_like(self._log_sums))
            progress = keras.utils.Progbar(self.updates_per_epoch, unit_name="update")
            start = time.perf_counter()
            for i in range(first, self.updates_per_epoch):
                self.update(next(batches))
                counter, bad = epoch * self.updates_per_epoch + i + 1, int(self._first_nonfinite.numpy())
                if bad >= 0:
                    value = float(self._last_checks.numpy()[bad])
                    raise self._nonfinite_error(counter, f"{self.check_keys[bad]} is {value}")
                if counter % self.snapshot_interval == 0:
                    self._save(counter)
                if stop.signum is not None:
                    saved = self.checkpoint_manager.latest_checkpoint if self._saved_at == counter else None
                    raise TrainingInterrupted(stop.signum, counter, saved or self._save(counter))
                progress.update(i + 1)
                if after_update is not None:
                    after_update(counter)
            update_seconds = time.perf_counter() - start
            self.last_logs = dict(zip(self.log_keys, (self._log_sums.numpy() / self.updates_per_epoch).tolist()))
            self._write_grids(epoch, counter, visualizer)
            timing = {
                "ms_per_update": 1000.0 * update_seconds / (self.updates_per_epoch - first),
                "update_seconds": update_seconds,
                "epoch_seconds": time.perf_counter() - start,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
            self._log_epoch(epoch, counter, self.last_logs, timing, metrics_file)

    def _nonfinite_error(self, counter: int, what: str) -> NonFiniteLossError:
        kept = self.checkpoint_manager.latest_checkpoint or "none yet"
        return NonFiniteLossError(
            f"update {counter}: {what}; stopped without saving it "
            f"(last good checkpoint: {kept}); try lower learning rates or --info_reg_coeff"
        )

    def _save(self, counter: int) -> str:
        """Write a checkpoint of update ``counter``, unless a weight is not finite."""
        for model in self.model.keras_models.values():
            for variable in model.weights:
                if not bool(tf.reduce_all(tf.math.is_finite(variable))):
                    raise self._nonfinite_error(counter, f"weight {variable.path} is not finite")
        path = self.checkpoint_manager.save(checkpoint_number=counter)
        self._saved_at = counter
        print(f"Model saved in file: {path}")
        return path

    def _log_epoch(self, epoch: int, counter: int, log_dict: dict, timing: dict, metrics_file) -> None:
        """Console line, TensorBoard scalars and one metrics.jsonl record (with the epoch's timing)."""
        line = "; ".join(f"{k}: {v:.6g}" for k, v in log_dict.items())
        print(f"Epoch {epoch} | {line} | {timing['ms_per_update']:.1f} ms/update")
        sys.stdout.flush()
        for k, v in log_dict.items():
            tf.summary.scalar(k, v, step=counter)
        tf.summary.scalar("ms_per_update", timing["ms_per_update"], step=counter)
        metrics_file.write(json.dumps({"epoch": epoch, "step": counter, **timing, **log_dict}) + "\n")
        metrics_file.flush()

    def _write_grids(self, epoch: int, counter: int, visualizer: FactorVisualizer) -> None:
        for name, grid in visualizer.grids(self.dataset.inverse_transform).items():
            tf.summary.image(name, grid[None], step=counter)
            save_png(self.log_dir / "images" / f"{name}_epoch_{epoch:03d}.png", grid)
