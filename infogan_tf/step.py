"""One InfoGAN update: the model, the loss settings and two optimisers built elsewhere, a batch in, logs out.

Port of the update inside ``infogan/algos/infogan_trainer.py``. A D step (D and Q on a
real batch and a fake batch, loss minus lambda * L_I), then a G step on a fresh latent
sample (loss minus lambda * L_I), each with its own optimiser; the G step reuses the D
step's sample and images only when asked (``reuse_fake_batch``). The step owns no loop
and builds no optimiser, so the experiment can create both inside a ``tf.distribute``
scope; ``tf.function``/XLA wrap it from outside.
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf

from infogan_tf import losses
from infogan_tf.models import Discrimination, RegularizedGAN


def apply_gradients(optimizer: keras.optimizers.Optimizer, gradients: list, variables: list) -> None:
    """Apply the gradients that exist (a variable outside the loss's graph gets none)."""
    optimizer.apply_gradients([(g, v) for g, v in zip(gradients, variables) if g is not None])


class InfoGANStep:
    """Calling it runs one update on ``real_x`` and returns ``check_keys``' values as one float32 vector.

    ``train_q`` with ``info_reg_coeff=0`` is the paper's baseline (Fig. 1): a plain GAN
    whose Q head still learns to read the codes, on D's features with their gradient
    stopped, so L_I is measured but reaches neither G nor D's body.

    ``reuse_fake_batch``: the G step trains on the D step's latents and images (through
    the updated D) instead of generating a fresh batch, saving G's second forward pass.
    Off by default: the original drew a new batch, and G's BatchNorm moving averages
    then move once per update instead of twice.
    """

    def __init__(
        self,
        model: RegularizedGAN,
        batch_size: int,
        discriminator_optimizer: keras.optimizers.Optimizer,
        generator_optimizer: keras.optimizers.Optimizer,
        rng: tf.random.Generator,
        info_reg_coeff: float = 1.0,
        train_q: bool = False,
        reuse_fake_batch: bool = False,
        continuous_info_reg_coeff: float | None = None,
    ):
        self.model = model
        self.batch_size = batch_size
        self.discriminator_optimizer = discriminator_optimizer
        self.generator_optimizer = generator_optimizer
        self.rng = rng
        self.info_reg_coeff = info_reg_coeff
        self.train_q = train_q
        self.continuous_info_reg_coeff = continuous_info_reg_coeff
        self.reuse_fake_batch = reuse_fake_batch
        discriminator_optimizer.build(model.discriminator_variables)
        generator_optimizer.build(model.generator_variables)
        self.learning_rates = tuple(
            float(keras.ops.convert_to_numpy(o.learning_rate)) for o in (discriminator_optimizer, generator_optimizer)
        )
        self.log_keys = self._log_keys()
        self.check_keys = [*self.log_keys, "generator_loss (G step)"]

    @property
    def trackables(self) -> dict[str, object]:
        """What a checkpoint must hold for this step to continue exactly: weights, optimisers, latent RNG."""
        return {
            "rng": self.rng,
            "discriminator_optimizer": self.discriminator_optimizer,
            "generator_optimizer": self.generator_optimizer,
            **self.model.keras_models,
        }

    def reset_learning_rates(self) -> None:
        """Put back the rates the optimisers were built with (a restored checkpoint brings its own)."""
        for optimizer, rate in zip((self.discriminator_optimizer, self.generator_optimizer), self.learning_rates):
            optimizer.learning_rate.assign(rate)

    def _log_keys(self) -> list[str]:
        """The original's log_vars, in its order."""
        keys = ["discriminator_loss", "generator_loss"]
        for suffix in self.model.code_group_names:
            keys += [f"MI_{suffix}", f"CrossEnt_{suffix}"]
        for idx, dist in enumerate(self.model.reg_latent_dist.dists):
            if "stddev" in dist.dist_info_keys:
                keys += [f"max_std_{idx}", f"min_std_{idx}"]
        return keys + ["MI", "CrossEnt", "max_real_d", "min_real_d", "max_fake_d", "min_fake_d"]

    def _loss(self, z: tf.Tensor, fake: Discrimination, real: Discrimination | None = None) -> losses.InfoGANLoss:
        return losses.infogan_loss(
            self.model, z, fake, real, self.info_reg_coeff, self.train_q, self.continuous_info_reg_coeff
        )

    def discriminator_step(self, real_x: tf.Tensor, z: tf.Tensor, fake_x: tf.Tensor) -> dict[str, tf.Tensor]:
        model = self.model
        variables = model.discriminator_variables
        q_only = self.train_q and not (self.info_reg_coeff or self.continuous_info_reg_coeff)
        with tf.GradientTape() as tape:
            real, fake = model.discriminate_real_and_fake(real_x, fake_x, training=True, detach_q=q_only)
            loss = self._loss(z, fake, real)
        apply_gradients(self.discriminator_optimizer, tape.gradient(loss.discriminator_objective, variables), variables)
        return self._logs(loss, real, fake)

    def _logs(self, loss: losses.InfoGANLoss, real: Discrimination, fake: Discrimination) -> dict[str, tf.Tensor]:
        terms = loss.mutual_info
        logs = {"discriminator_loss": loss.discriminator_loss, "generator_loss": loss.generator_loss}
        for suffix, term in terms.groups.items():
            logs[f"MI_{suffix}"], logs[f"CrossEnt_{suffix}"] = term.mi, term.cross_ent
        logs["MI"], logs["CrossEnt"] = terms.total.mi, terms.total.cross_ent
        for idx, dist_info in enumerate(self.model.reg_latent_dist.split_dist_info(fake.reg_dist_info)):
            if "stddev" in dist_info:
                logs[f"max_std_{idx}"] = tf.reduce_max(dist_info["stddev"])
                logs[f"min_std_{idx}"] = tf.reduce_min(dist_info["stddev"])
        for name, d in (("real_d", real.d), ("fake_d", fake.d)):
            logs[f"max_{name}"] = tf.reduce_max(d)
            logs[f"min_{name}"] = tf.reduce_min(d)
        return logs

    def generator_loss(self, z: tf.Tensor, fake_x: tf.Tensor) -> tf.Tensor:
        """G's loss on images ``fake_x`` of latents ``z``, through D and Q in training mode."""
        return self._loss(z, self.model.discriminate(fake_x, training=True)).generator_loss

    def generator_step(self) -> tf.Tensor:
        z = self.model.latent_dist.sample_prior(self.batch_size, self.rng)
        variables = self.model.generator_variables
        with tf.GradientTape() as tape:
            fake_x, _ = self.model.generate(z, training=True)
            g_loss = self.generator_loss(z, fake_x)
        apply_gradients(self.generator_optimizer, tape.gradient(g_loss, variables), variables)
        return g_loss

    def generator_step_on(self, z: tf.Tensor, fake_x: tf.Tensor, generator_tape: tf.GradientTape) -> tf.Tensor:
        """The G step on the D step's batch: D's gradient at ``fake_x``, pulled back through G's recorded pass."""
        with tf.GradientTape() as tape:
            tape.watch(fake_x)
            g_loss = self.generator_loss(z, fake_x)
        variables = self.model.generator_variables
        image_gradient = tape.gradient(g_loss, fake_x)
        apply_gradients(self.generator_optimizer, generator_tape.gradient(fake_x, variables, image_gradient), variables)
        return g_loss

    def __call__(self, real_x: tf.Tensor) -> tf.Tensor:
        z = self.model.latent_dist.sample_prior(self.batch_size, self.rng)
        with tf.GradientTape() if self.reuse_fake_batch else contextlib.nullcontext() as generator_tape:
            fake_x, _ = self.model.generate(z, training=True)
        logs = self.discriminator_step(real_x, z, fake_x)
        g_loss = self.generator_step_on(z, fake_x, generator_tape) if self.reuse_fake_batch else self.generator_step()
        return tf.stack([*(tf.cast(logs[k], tf.float32) for k in self.log_keys), g_loss])
