"""What the benchmarks share: building a trainer off-disk, FLOP counts, the matmul ceiling, timing."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from infogan_tf import strategies
from infogan_tf.config import TrainConfig
from infogan_tf.data import ImageDataset
from infogan_tf.experiment import build_trainer
from infogan_tf.latent_spec import MNIST_LATENT_SPEC
from infogan_tf.models import ModelConfig, RegularizedGAN
from infogan_tf.terms import build_terms
from infogan_tf.trainer import InfoGANTrainer


def at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``low``; anything else is argparse's one error line, not a traceback."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"at least {low}, not {value}")
        return value

    return parse


def fractions(text: str) -> list[float]:
    """An argparse type: comma-separated numbers in (0, 1], e.g. accuracy targets."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if not all(0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"each must lie in (0, 1], not {text}")
    return values


def existing_directory(text: str) -> str:
    """An argparse type: a directory that exists."""
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a directory")
    return text


def make_trainer(
    batch_size: int,
    precision: str = "float32",
    jit_compile: bool = False,
    dataset: ImageDataset | None = None,
    seed: int = 0,
    **kwargs,
) -> InfoGANTrainer:
    """The default MNIST trainer (original settings) with no callbacks: it writes nothing.

    ``kwargs``: ``TrainConfig`` fields, ``strategy`` and ``invariance`` (its settings); ``layer_kit`` and
    ``sync_batch_norm`` go to the model.
    """
    model_options = {k: kwargs.pop(k) for k in ("layer_kit", "sync_batch_norm") if k in kwargs}
    config = ModelConfig(MNIST_LATENT_SPEC, (28, 28, 1), precision=precision, **model_options)

    def batches(start: int):
        if dataset is None:
            raise ValueError("this benchmark trainer has no dataset; feed trainer.update batches yourself")
        return dataset.train.batches(batch_size, seed=seed, start=start)

    strategy, invariance = kwargs.pop("strategy", None), kwargs.pop("invariance", None)
    train = TrainConfig(batch_size=batch_size, jit_compile=jit_compile, **kwargs)
    terms = build_terms({"invariance": invariance} if invariance else {})
    return build_trainer(config, train, batches, seed=seed, strategy=strategy, terms=terms)


def _macs_per_sample(model: keras.Model) -> int:
    """Multiply-accumulates of a stack's dense, conv and transposed-conv layers for one example."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            _, h, w, c_in = layer.input.shape
            k_h, k_w = layer.kernel_size
            total += h * w * k_h * k_w * c_in * layer.filters
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, _ = layer.output.shape
            k_h, k_w = layer.kernel_size
            total += h * w * k_h * k_w * layer.input.shape[-1] * layer.filters
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return total


def step_flops(
    model: RegularizedGAN, batch_size: int, reuse_fake_batch: bool = False, invariance_copies: int = 0
) -> float:
    """FLOPs of one update (1 MAC = 2 FLOPs, backward = 2x forward; the shared bench's "3x" count).

    D step: G forward, D on real (fwd + bwd), D and Q on fake (fwd + bwd);
    G step: G, D and Q forward and backward (G's forward is the D step's with ``reuse_fake_batch``).
    The invariance term adds D's body on each of ``invariance_copies`` transformed copies
    and Q on them and on the real batch, each forward and backward.
    """
    nets = model.networks
    g = 2 * _macs_per_sample(nets.generator)
    d = 2 * (_macs_per_sample(nets.d_body) + _macs_per_sample(nets.d_head))
    q = 2 * _macs_per_sample(nets.q_head)
    g_step = (2 if reuse_fake_batch else 3) * g + 3 * (d + q)
    copies = invariance_copies
    extra = copies * 3 * 2 * _macs_per_sample(nets.d_body) + (copies + 1) * 3 * q if copies else 0
    return batch_size * (g + 3 * d + 3 * (d + q) + g_step + extra)


def matmul_peak_gflops(dtype: tf.DType = tf.float32, n: int = 2048, reps: int = 7) -> float:
    """Median GFLOP/s of an n x n TF matmul: the practical ceiling of this machine."""
    a = tf.random.normal([n, n], dtype=tf.float32)
    a = tf.cast(a, dtype)
    matmul = tf.function(lambda x: tf.linalg.matmul(x, x))
    matmul(a).numpy()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        matmul(a).numpy()
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times) / 1e9


def time_updates(update: Callable[[], None], sync: Callable[[], None], steps: int, reps: int, warmup: int):
    """ms per update of each repetition, after ``warmup`` untimed updates."""
    for _ in range(warmup):
        update()
    sync()
    ms = []
    for _ in range(reps):
        start = time.perf_counter()
        for _ in range(steps):
            update()
        sync()
        ms.append(1000 * (time.perf_counter() - start) / steps)
    return ms


def summary(ms: list[float]) -> dict[str, float]:
    return {"median": statistics.median(ms), "min": min(ms), "max": max(ms)}


def random_batch(batch_size: int, strategy: tf.distribute.Strategy | None = None):
    """A fixed batch; under a strategy of several replicas, each replica's rows of it (as per-replica values)."""
    batch = tf.constant(np.random.default_rng(0).random((batch_size, 784), dtype=np.float32))
    if strategy is None or not strategies.is_distributed(strategy):
        return batch
    local = strategies.replica_batch_size(strategy, batch_size)
    return strategy.experimental_distribute_values_from_function(
        lambda context: batch[context.replica_id_in_sync_group * local : (context.replica_id_in_sync_group + 1) * local]
    )
