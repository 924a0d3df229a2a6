"""Dense kernels cast to bfloat16 once per phase of an update, instead of at every read.

Under ``mixed_bfloat16`` Keras keeps float32 weights and casts a weight to bfloat16 each
time a layer reads it; the gradient of that cast casts the weight's gradient back to
float32. For a large dense kernel each of those casts is a pass over all its weights, as
long as the matmul that reads them (docs/speed.md). Here the step casts the dense
kernels itself: G's once per update (its pass in the D step and its pass in the G step
read the same cast), D's once per step (the G step needs the D step's result). The fast
kit's ``Dense`` reads the cast inside ``WeightCopies.reading``; the tape differentiates
with respect to the cast, so the optimiser receives the bfloat16 gradient and folds its
cast to float32 into the update (``optimizers.FusedAdam``). Under several replicas the
gradient is cast first, so that their sum is float32's.

The casts and gradients are the ones Keras makes, made fewer times, so an update computes
the same values (``tests/test_weight_copies.py``). Only bfloat16 takes copies: a float16
gradient is loss-scaled, and unscaling it needs float32.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence

import keras
import tensorflow as tf

COPIED_DTYPE = "bfloat16"
"""The compute dtype whose layers read copies."""

_active = threading.local()
"""The copies being read on this thread (``tf.distribute`` runs each replica on its own)."""


class ReadsCopies:
    """A layer mixin: ``copied_kernel()`` is the kernel's copy while one is being read, else Keras's kernel."""

    def copied_kernel(self, kernel: keras.Variable) -> tf.Tensor | keras.Variable:
        for copies in getattr(_active, "stack", ()):
            copy = copies.get(kernel)
            if copy is not None:
                return copy
        return kernel


def copyable(models: Iterable[keras.Model]) -> list[keras.Variable]:
    """The kernels in ``models`` whose layers read copies and compute in bfloat16 on float32 weights."""
    found = []
    for model in models:
        for layer in model._flatten_layers(include_self=False):
            reads = isinstance(layer, ReadsCopies) and layer.compute_dtype == COPIED_DTYPE
            if reads and layer.variable_dtype != COPIED_DTYPE:
                found.append(layer._kernel)
    return found


class WeightCopies:
    """Copies of some variables in the compute dtype, as tensors of the current update."""

    def __init__(self, variables: Sequence[keras.Variable]):
        self._copies = {id(v): tf.cast(v.value, COPIED_DTYPE) for v in variables}

    def get(self, variable: keras.Variable) -> tf.Tensor | None:
        return self._copies.get(id(variable))

    def watch(self, tape: tf.GradientTape) -> None:
        """Let ``tape`` differentiate with respect to the copies."""
        for copy in self._copies.values():
            tape.watch(copy)

    def gradients(
        self, tape: tf.GradientTape, target: tf.Tensor, variables: Sequence[keras.Variable], summed: bool
    ) -> list:
        """``target``'s gradients for ``variables``, through their copies where layers read copies.

        A layer that reads a copy never reads its variable, so the variable's own gradient
        would be None. ``summed``: summed over replicas, in one all-reduce of float32 values,
        so the copies' gradients are cast to the variables' float32 first.
        """
        sources = [self._copies.get(id(v), v) for v in variables]
        gradients = tape.gradient(target, sources)
        if not summed:
            return gradients
        return [g if g is None else tf.cast(g, v.dtype) for g, v in zip(gradients, variables)]

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Layers called inside read these copies."""
        stack = getattr(_active, "stack", ())
        _active.stack = (*stack, self)
        try:
            yield
        finally:
            _active.stack = stack
