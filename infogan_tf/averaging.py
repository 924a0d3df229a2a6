"""An exponential moving average of G's weights, kept beside them for sampling.

Beyond the original and the paper. A GAN's generator oscillates around the game's
equilibrium from update to update; averaging its weights over the last updates
(Yazıcı et al., 2019, "The Unusual Effectiveness of Averaging in GAN Training") samples
from the centre of that oscillation. The average is only read, never trained, so a run
that keeps one takes exactly the updates of a run that does not: its training curves,
Q and clustering error are the same, and only what G draws changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import tensorflow as tf

if TYPE_CHECKING:
    from infogan_tf.models import RegularizedGAN

CHECKPOINT_KEY = "generator_average"
"""The average's name in a checkpoint; checkpoints written without one still resume and load."""
GENERATOR_WEIGHTS = ("average", "trained")
"""What a loaded G may hold: the run's moving average of its weights where it kept one, or the trained weights."""


def check_decay(decay: float) -> None:
    if not 0.0 < decay < 1.0:
        raise ValueError(f"the decay of G's weight average must lie strictly between 0 and 1 (e.g. 0.999), not {decay}")


class WeightAverage(tf.Module):
    """``average = decay * average + (1 - decay) * weight`` after every update, for each of some variables.

    Its first update copies the weights instead, so an average started from a checkpoint
    that had none (``updates`` 0) begins at that checkpoint's weights, not at zeros.
    ``decay`` None: an average restored only to be read, as when a checkpoint is loaded.

    ``start``: how many updates at the beginning are left out; the first one after them is
    copied. With decay 0.999, an average from update 1 still gives every G older than the
    last 1,000 updates 37% of its weight at the end, and early G's draw poor digits.
    """

    optional_in_checkpoints = True
    """A checkpoint written without it still restores the rest (``checkpoints.restore_newest_readable``)."""

    def __init__(self, like: Sequence[tf.Variable], decay: float | None, start: int = 0):
        super().__init__(name=CHECKPOINT_KEY)
        if decay is not None:
            check_decay(decay)
        if start < 0:
            raise ValueError(f"the average starts after a number of updates, not after {start}")
        self.decay = decay
        self.start = start
        self.averages = [
            tf.Variable(
                tf.zeros(v.shape, v.dtype),
                trainable=False,
                name=f"average_{i}",
                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
            )
            for i, v in enumerate(like)
        ]
        self.updates = tf.Variable(0, dtype=tf.int64, trainable=False, name="updates")
        """How many updates the average has taken in: 0 means it holds nothing yet."""

    def update(self, weights: Sequence[tf.Variable], before: tf.Tensor | int | None = None) -> None:
        """Take in ``weights`` (the same variables, in the same order, as ``like``) after an update.

        ``before``: how many updates came before that one; it is left out while fewer than
        ``start`` did. Needed only where ``start`` is set.
        """
        if self.decay is None:
            raise ValueError("this weight average was restored only to be read; it has no decay to update with")
        if self.start and before is None:
            raise ValueError("an average that starts later needs the update number: pass before=")
        kept = tf.where(self.updates > 0, self.decay, 0.0)
        taken = None
        if self.start:  # before the start, the average keeps all of itself and counts nothing
            taken = tf.cast(before, tf.int64) >= self.start
            kept = tf.where(taken, kept, 1.0)
        for average, weight in zip(self.averages, weights, strict=True):
            share = tf.cast(kept, average.dtype)
            average.assign(share * average + (1 - share) * tf.cast(weight, average.dtype))
        self.updates.assign_add(1 if taken is None else tf.cast(taken, tf.int64))

    def copy_to(self, weights: Sequence[tf.Variable]) -> None:
        """Overwrite ``weights`` with the average (for a model loaded to sample, never one still training)."""
        if int(self.updates.numpy()) == 0:
            raise ValueError("the weight average has taken in no update yet")
        for average, weight in zip(self.averages, weights, strict=True):
            weight.assign(tf.cast(average, weight.dtype))


class GeneratorAverage:
    """G's average as the step's follower (``step.Follower``): it takes in G after each update, changing none.

    ``decay`` 0 keeps none, but still records that in ``run.json``, so a run continued
    with an average it was not started with (or without the one it was) is refused.
    """

    def __init__(self, model: RegularizedGAN, decay: float, start: int = 0):
        self.decay, self.start = decay, start
        self.average = WeightAverage(model.generator_state, decay, start) if decay else None

    def settings(self) -> dict[str, Any]:
        return {"generator_average": float(self.decay), "generator_average_from": int(self.start) if self.decay else 0}

    def trackables(self) -> dict[str, tf.Module]:
        return {CHECKPOINT_KEY: self.average} if self.average else {}

    def follow(self, model: RegularizedGAN, update: tf.Tensor | None) -> None:
        if self.average:
            self.average.update(model.generator_state, update)
