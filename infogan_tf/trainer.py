"""InfoGANTrainer: the update loop, summaries and checkpoints.

Port of ``infogan/algos/infogan_trainer.py``. Each update is the original's: a D step (D
and Q on a real batch and a fake batch, loss minus lambda * L_I), then a G step on a fresh
latent sample (loss minus lambda * L_I), each with its own Adam(beta1 = 0.5). Both steps
run in one ``tf.function`` (XLA with ``jit_compile``). The logged scalars are summed on
the device and read once per epoch, so an update makes no host round trip.

Differences from the original, written down in the README: TensorBoard gets the epoch
averages that the console prints (the original summarised one extra batch at epoch end);
checkpoints are written every ``snapshot_interval`` updates and at the end (the
original's 10000 never fired within its 5000 updates, openai/InfoGAN#6).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from infogan_tf import losses
from infogan_tf.models import RegularizedGAN
from infogan_tf.visualize import FactorVisualizer, save_png


class NonFiniteLossError(FloatingPointError):
    """A logged quantity became NaN or Inf."""


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
    ):
        """``train_q`` with ``info_reg_coeff=0`` is the paper's baseline (Fig. 1): a plain GAN
        whose Q head still learns to read the codes, on D's features with their gradient
        stopped, so L_I is measured but reaches neither G nor D's body."""
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

        self.rng = tf.random.Generator.from_seed(seed)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.discriminator_optimizer = keras.optimizers.Adam(discriminator_learning_rate, beta_1=0.5, epsilon=1e-8)
        self.generator_optimizer = keras.optimizers.Adam(generator_learning_rate, beta_1=0.5, epsilon=1e-8)
        self.discriminator_optimizer.build(model.discriminator_variables)
        self.generator_optimizer.build(model.generator_variables)

        self.log_keys = self._log_keys()
        self._log_sums = tf.Variable(tf.zeros(len(self.log_keys)), trainable=False, name="log_sums")
        self.checkpoint = tf.train.Checkpoint(
            step=self.step,
            rng=self.rng,
            discriminator_optimizer=self.discriminator_optimizer,
            generator_optimizer=self.generator_optimizer,
            **model.keras_models,
        )
        self.checkpoint_manager = tf.train.CheckpointManager(
            self.checkpoint, str(self.checkpoint_dir), max_to_keep=max_to_keep, checkpoint_name=exp_name
        )
        self.update = tf.function(self._update, jit_compile=jit_compile)

    def _log_keys(self) -> list[str]:
        """The original's log_vars, in its order."""
        keys = ["discriminator_loss", "generator_loss"]
        for suffix, dist in (("disc", self.model.reg_disc_latent_dist), ("cont", self.model.reg_cont_latent_dist)):
            if dist.dists:
                keys += [f"MI_{suffix}", f"CrossEnt_{suffix}"]
        for idx, dist in enumerate(self.model.reg_latent_dist.dists):
            if "stddev" in dist.dist_info_keys:
                keys += [f"max_std_{idx}", f"min_std_{idx}"]
        return keys + ["MI", "CrossEnt", "max_real_d", "min_real_d", "max_fake_d", "min_fake_d"]

    def info_terms(self, z_var: tf.Tensor, reg_dist_info: dict) -> dict[str, tf.Tensor]:
        """L_I and its cross-entropy, per code group (discrete, continuous) and in total."""
        model = self.model
        reg_z = model.reg_z(z_var)
        groups = (
            ("disc", model.reg_disc_latent_dist, model.disc_reg_z(reg_z), model.disc_reg_dist_info(reg_dist_info)),
            ("cont", model.reg_cont_latent_dist, model.cont_reg_z(reg_z), model.cont_reg_dist_info(reg_dist_info)),
        )
        terms = {"MI": tf.constant(0.0), "CrossEnt": tf.constant(0.0)}
        for suffix, dist, codes, info in groups:
            if dist.dists:
                term = losses.mutual_info(dist, codes, info)
                terms[f"MI_{suffix}"] = term.mi
                terms[f"CrossEnt_{suffix}"] = term.cross_ent
                terms["MI"] += term.mi
                terms["CrossEnt"] += term.cross_ent
        return terms

    @staticmethod
    def _apply(optimizer: keras.optimizers.Optimizer, loss: tf.Tensor, tape: tf.GradientTape, variables: list) -> None:
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients([(g, v) for g, v in zip(grads, variables) if g is not None])

    def _discriminator_step(self, real_x: tf.Tensor) -> dict[str, tf.Tensor]:
        model = self.model
        z = model.latent_dist.sample_prior(self.batch_size, self.rng)
        fake_x, _ = model.generate(z, training=True)
        variables = model.discriminator_variables
        with tf.GradientTape() as tape:
            real = model.discriminate(real_x, training=True)
            fake = model.discriminate(fake_x, training=True, detach_q=self.q_only)
            info = self.info_terms(z, fake.reg_dist_info)
            d_loss = losses.discriminator_loss(real.d_logit, fake.d_logit)
            if self.info_reg_coeff:
                d_loss -= self.info_reg_coeff * info["MI"]
            trained_loss = d_loss - info["MI"] if self.q_only else d_loss
        self._apply(self.discriminator_optimizer, trained_loss, tape, variables)
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

    def _generator_step(self) -> None:
        model = self.model
        z = model.latent_dist.sample_prior(self.batch_size, self.rng)
        variables = model.generator_variables
        with tf.GradientTape() as tape:
            fake_x, _ = model.generate(z, training=True)
            fake = model.discriminate(fake_x, training=True)
            g_loss = losses.generator_loss(fake.d_logit)
            if self.info_reg_coeff:
                g_loss -= self.info_reg_coeff * self.info_terms(z, fake.reg_dist_info)["MI"]
        self._apply(self.generator_optimizer, g_loss, tape, variables)

    def _update(self, real_x: tf.Tensor) -> None:
        logs = self._discriminator_step(real_x)
        self._generator_step()
        self._log_sums.assign_add(tf.stack([tf.cast(logs[k], tf.float32) for k in self.log_keys]))
        self.step.assign_add(1)

    def train(self) -> dict[str, float]:
        """Run ``max_epoch`` epochs; returns the last epoch's averaged logs."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        (self.log_dir / "images").mkdir(exist_ok=True)
        writer = tf.summary.create_file_writer(str(self.log_dir))
        visualizer = FactorVisualizer(self.model, seed=self.seed)
        batches = iter(self.dataset.train.batches(self.batch_size, seed=self.seed))
        log_dict: dict[str, float] = {}
        counter = int(self.step.numpy())
        with writer.as_default(), open(self.log_dir / "metrics.jsonl", "a") as metrics_file:
            for epoch in range(self.max_epoch):
                self._log_sums.assign(tf.zeros_like(self._log_sums))
                progress = keras.utils.Progbar(self.updates_per_epoch, unit_name="update")
                start = time.perf_counter()
                for i in range(self.updates_per_epoch):
                    self.update(next(batches))
                    counter = int(self.step.numpy())
                    if counter % self.snapshot_interval == 0:
                        self._save(counter)
                    progress.update(i + 1)
                seconds = time.perf_counter() - start
                log_dict = dict(zip(self.log_keys, (self._log_sums.numpy() / self.updates_per_epoch).tolist()))
                self._log_epoch(epoch, counter, log_dict, seconds, metrics_file)
                bad = [k for k, v in log_dict.items() if not np.isfinite(v)]
                if bad:
                    raise NonFiniteLossError(f"epoch {epoch} (update {counter}): non-finite {', '.join(bad)}")
                self._write_grids(epoch, counter, visualizer)
        if counter % self.snapshot_interval:
            self._save(counter)
        writer.flush()
        return log_dict

    def _save(self, counter: int) -> None:
        path = self.checkpoint_manager.save(checkpoint_number=counter)
        print(f"Model saved in file: {path}")

    def _log_epoch(self, epoch: int, counter: int, log_dict: dict[str, float], seconds: float, metrics_file) -> None:
        ms_per_update = 1000.0 * seconds / self.updates_per_epoch
        line = "; ".join(f"{k}: {v:.6g}" for k, v in log_dict.items())
        print(f"Epoch {epoch} | {line} | {ms_per_update:.1f} ms/update")
        sys.stdout.flush()
        for k, v in log_dict.items():
            tf.summary.scalar(k, v, step=counter)
        tf.summary.scalar("ms_per_update", ms_per_update, step=counter)
        record = {"epoch": epoch, "step": counter, "ms_per_update": ms_per_update, **log_dict}
        metrics_file.write(json.dumps(record) + "\n")
        metrics_file.flush()

    def _write_grids(self, epoch: int, counter: int, visualizer: FactorVisualizer) -> None:
        for name, grid in visualizer.grids(self.dataset.inverse_transform).items():
            tf.summary.image(name, grid[None], step=counter)
            save_png(self.log_dir / "images" / f"{name}_epoch_{epoch:03d}.png", grid)
