"""The G step on the D step's latents and images, which saves G's second forward pass of each update.

The original draws a fresh latent sample for the G step; this variant trains G on the
sample the D step just judged, through the updated D: D's gradient at those images,
pulled back through G's pass recorded before the D step. G's BatchNorm moving averages
then move once per update instead of twice, so it is an option (``TrainConfig.reuse_fake_batch``)
and off by default. A term that adds batches or scalars to the G step needs G's own
batch, so it is refused here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tensorflow as tf

from infogan_tf.errors import ConfigValueError
from infogan_tf.step import InfoGANStep, apply_gradients

if TYPE_CHECKING:
    from infogan_tf.config import TrainConfig

SETTING = "reuse_fake_batch"
"""Its key among the update's settings in ``run.json`` (false for a run on the original's step)."""


class ReusedBatchStep(InfoGANStep):
    """``InfoGANStep`` whose G step reuses the D step's batch."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for term in self.terms:
            if term.adds_to_the_generator_step():
                raise ConfigValueError(
                    f"the {term.name} term adds to the G step, which needs G's own batch: drop {{train.{SETTING}}}"
                )

    @property
    def settings(self) -> dict[str, object]:
        return {**super().settings, SETTING: True}

    def generator_latents(self) -> None:
        return None

    def replica_update(self, real_x: tf.Tensor, z: tf.Tensor, generator_z: None) -> tf.Tensor:
        z = self.own_rows(z)
        with tf.GradientTape() as generator_tape:
            fake_x, _ = self.model.generate(z, training=True)
        logs = self.discriminator_step(real_x, z, fake_x)
        return self.checks(logs, self.generator_step_on(z, fake_x, generator_tape))

    def generator_step_on(self, z: tf.Tensor, fake_x: tf.Tensor, generator_tape: tf.GradientTape) -> tf.Tensor:
        """The G step on the D step's batch: D's gradient at ``fake_x``, pulled back through G's recorded pass."""
        with tf.GradientTape() as tape:
            tape.watch(fake_x)
            g_loss = self.generator_loss(z, fake_x)
            objective = self._objective(g_loss, self.generator_optimizer)
        variables = self.model.generator_variables
        image_gradient = tape.gradient(objective, fake_x)
        apply_gradients(self.generator_optimizer, generator_tape.gradient(fake_x, variables, image_gradient), variables)
        return g_loss


def step_class(train: TrainConfig) -> type[InfoGANStep]:
    """The step that ``train`` asks for."""
    return ReusedBatchStep if train.reuse_fake_batch else InfoGANStep
