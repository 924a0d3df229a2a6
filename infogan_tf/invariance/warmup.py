"""A warm-up of lambda: every lambda grows linearly from 0 over a number of updates.

Beyond the original, whose lambda is constant. It serves the invariance term: what that
term trains into Q from real images can form before G commits its categories to whatever
GAN training happens to separate first. The step takes it as a ``step.LambdaSchedule``.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from infogan_tf.errors import ConfigValueError


class LambdaWarmup:
    """lambda's share on update u: min(1, u / ``updates``); 0 updates: lambda from the start (the original)."""

    def __init__(self, updates: int):
        if updates < 0:
            raise ConfigValueError(f"{{train.info_reg_warmup}} is a number of updates, not {updates}")
        self.updates = updates
        self.varies = updates > 0

    def settings(self) -> dict[str, Any]:
        return {"info_reg_warmup": self.updates}

    def share(self, update: tf.Tensor) -> tf.Tensor:
        return tf.minimum(1.0, tf.cast(update, tf.float32) / self.updates)
