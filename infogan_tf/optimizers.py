"""The original's optimiser: Adam (beta1 = 0.5) as one fused kernel per variable, as TF 0.9 ran it.

Keras 3's Adam spells the update out in about ten element-wise ops per variable, each a
pass over memory on a CPU; ``ResourceApplyAdam`` computes the same update, with the same
bias correction and epsilon placement, in one multithreaded op (docs/speed.md's
section has the measurements). Everything else (variables, iteration counter,
learning-rate schedules, checkpoint layout, ``tf.distribute`` handling) is Keras's, so a
checkpoint written with one optimiser restores into the other. A bfloat16 gradient of a
float32 weight (``weight_copies``) takes the same update, compiled with its cast.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose per-variable update is ``tf.raw_ops.ResourceApplyAdam``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.amsgrad:
            raise ValueError("FusedAdam has no AMSGrad variant; use keras.optimizers.Adam(amsgrad=True)")

    def update_step(self, gradient, variable, learning_rate) -> None:
        index = self._get_variable_index(variable)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        arguments = dict(
            var=variable.handle,
            m=self._momentums[index].value.handle,
            v=self._velocities[index].value.handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=gradient,
        )
        if gradient.dtype == dtype:
            tf.raw_ops.ResourceApplyAdam(**arguments)
        else:
            _adam_from_low_precision(arguments)


@tf.function(jit_compile=True)
def _adam_from_low_precision(arguments: dict[str, tf.Tensor]) -> None:
    """``ResourceApplyAdam(**arguments)``, term for term, on a gradient of a lower precision (``weight_copies``).

    Compiled, the gradient's cast to float32 fuses into the one pass over the weights and
    their moments, where a separate ``Cast`` would be a pass of its own.
    """
    a = arguments
    dtype = a["beta1"].dtype
    grad = tf.cast(a["grad"], dtype)
    alpha = a["lr"] * tf.sqrt(1 - a["beta2_power"]) / (1 - a["beta1_power"])
    m, v, var = (tf.raw_ops.ReadVariableOp(resource=a[key], dtype=dtype) for key in ("m", "v", "var"))
    m += (grad - m) * (1 - a["beta1"])
    v += (grad * grad - v) * (1 - a["beta2"])
    var -= (m * alpha) / (tf.sqrt(v) + a["epsilon"])
    for key, value in (("m", m), ("v", v), ("var", var)):
        tf.raw_ops.AssignVariableOp(resource=a[key], value=value)


def original_adam(learning_rate: float) -> FusedAdam:
    """Adam with the original's beta1 = 0.5 and epsilon = 1e-8 (TF 0.9's default)."""
    return FusedAdam(learning_rate, beta_1=0.5, epsilon=1e-8)


REFERENCE_BATCH_SIZE = 128
"""The batch size the original's learning rates were tuned for."""

BATCH_SCALING_RULES = {"none": 0.0, "sqrt": 0.5, "linear": 1.0}
"""Learning rate ∝ (batch size / 128) ** exponent; "sqrt" is the usual rule for Adam."""


def scaled_learning_rate(rate: float, batch_size: int, rule: str) -> float:
    """``rate`` (tuned at batch 128) moved to ``batch_size`` by ``rule``, so larger batches can take larger steps."""
    if rule not in BATCH_SCALING_RULES:
        raise ValueError(f"unknown learning-rate scaling {rule!r}; choose one of {sorted(BATCH_SCALING_RULES)}")
    return rate * (batch_size / REFERENCE_BATCH_SIZE) ** BATCH_SCALING_RULES[rule]


def for_precision(optimizer: keras.optimizers.Optimizer, precision: str) -> keras.optimizers.Optimizer:
    """``optimizer``, wrapped in Keras's dynamic loss scaling where the precision needs it (float16's range)."""
    if precision == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
