"""Layer stacks per network type: G, the shared D body, and the D and Q heads.

A network type is a function registered in ``NETWORK_TYPES``; adding SVHN or CelebA is
adding one. The builders know nothing of latent codes or losses: they are told the
input width, Q's output width and the image shape.

The "mnist" stacks reproduce the original's prettytensor templates (custom_ops.py): conv
kernels truncated-normal(0.02), dense and deconv kernels normal(0.02), zero biases,
BatchNorm gamma normal(1, 0.02) and beta 0, moving-average decay 0.9, epsilon 1e-5,
leaky ReLU slope 0.01 (the paper says 0.1: pass ``leak=0.1``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import keras
import tensorflow as tf
from keras import layers

from infogan_tf.fast_layers import Conv2D, Conv2DTranspose, FusedBatchNormalization, LeakyReLU

ORIGINAL_LEAK = 0.01
PAPER_LEAK = 0.1


@dataclasses.dataclass(frozen=True)
class Networks:
    """The four stacks of a RegularizedGAN. D and Q share ``d_body``."""

    generator: keras.Model
    d_body: keras.Model
    d_head: keras.Model
    q_head: keras.Model

    @property
    def discriminator_models(self) -> tuple[keras.Model, ...]:
        """Everything the D optimiser updates (the original's ``d_`` variables)."""
        return (self.d_body, self.d_head, self.q_head)


def _dense(units: int) -> layers.Dense:
    return layers.Dense(units, kernel_initializer=keras.initializers.RandomNormal(stddev=0.02))


def _conv(filters: int) -> Conv2D:
    return Conv2D(
        filters, 4, strides=2, padding="same", kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02)
    )


def _deconv(filters: int) -> Conv2DTranspose:
    return Conv2DTranspose(
        filters, 4, strides=2, padding="same", kernel_initializer=keras.initializers.RandomNormal(stddev=0.02)
    )


def _batch_norm() -> FusedBatchNormalization:
    return FusedBatchNormalization(
        momentum=0.9, epsilon=1e-5, gamma_initializer=keras.initializers.RandomNormal(mean=1.0, stddev=0.02)
    )


def mnist_networks(
    image_shape: Sequence[int], latent_dim: int, q_flat_dim: int, output_flat_dim: int, leak: float = ORIGINAL_LEAK
) -> Networks:
    """The original's "mnist" network; images enter and leave flat, as in the original."""
    height, width, channels = image_shape
    if height % 4 or width % 4:
        raise ValueError(
            f"the mnist network halves the image twice; image_shape {tuple(image_shape)} is not divisible by 4"
        )
    if output_flat_dim != height * width * channels:
        raise ValueError(
            f"the mnist network emits one value per pixel ({height * width * channels}), "
            f"but the output distribution needs {output_flat_dim}"
        )

    def lrelu() -> LeakyReLU:
        return LeakyReLU(negative_slope=leak)

    d_body = keras.Sequential(
        [
            keras.Input((height * width * channels,)),
            layers.Reshape((height, width, channels)),
            _conv(64),
            lrelu(),
            _conv(128),
            _batch_norm(),
            lrelu(),
            layers.Flatten(),
            _dense(1024),
            _batch_norm(),
            lrelu(),
        ],
        name="d_body",
    )
    d_head = keras.Sequential([keras.Input((1024,)), _dense(1)], name="d_head")
    q_head = keras.Sequential(
        [keras.Input((1024,)), _dense(128), _batch_norm(), lrelu(), _dense(q_flat_dim)],
        name="q_head",
    )
    generator = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            _dense(1024),
            _batch_norm(),
            layers.ReLU(),
            _dense(height // 4 * width // 4 * 128),
            _batch_norm(),
            layers.ReLU(),
            layers.Reshape((height // 4, width // 4, 128)),
            _deconv(64),
            _batch_norm(),
            layers.ReLU(),
            _deconv(channels),
            layers.Flatten(),
        ],
        name="g_net",
    )
    return Networks(generator=generator, d_body=d_body, d_head=d_head, q_head=q_head)


NETWORK_TYPES: dict[str, Callable[..., Networks]] = {"mnist": mnist_networks}


def apply_per_batch(stack: keras.Sequential, batches: Sequence[tf.Tensor], training: bool) -> list[tf.Tensor]:
    """``stack`` on each of ``batches``, computed as one pass over them all.

    The same as calling ``stack`` on each batch in turn, BatchNorm included: each
    BatchNorm layer normalises every batch with that batch's own statistics and updates
    its moving averages batch by batch, in order. Every other layer runs once on the
    concatenation, so a convolution or matmul is one large op instead of several small
    ones and its weight gradient is summed inside that op.
    """
    if not isinstance(stack, keras.Sequential):
        raise TypeError(
            f"apply_per_batch walks a keras.Sequential layer by layer; {stack.name} is a {type(stack).__name__}"
        )
    static = [b.shape[0] for b in batches]
    sizes = static if None not in static else tf.stack([tf.shape(b)[0] for b in batches])
    h = tf.concat(list(batches), axis=0)
    for layer in stack.layers:
        if isinstance(layer, layers.BatchNormalization):
            h = tf.concat([layer(part, training=training) for part in tf.split(h, sizes, num=len(batches))], axis=0)
        else:
            h = layer(h, training=training)
    return tf.split(h, sizes, num=len(batches))


PRECISIONS = ("float32", "mixed_bfloat16")


def build_networks(network_type: str, precision: str = "float32", **kwargs) -> Networks:
    """Build a registered network type with every layer under the Keras dtype policy ``precision``.

    With "mixed_bfloat16" the layers compute in bfloat16 on float32 variables; Keras keeps
    BatchNorm's statistics in float32, and RegularizedGAN casts every output to float32
    before the distributions and losses see it.
    """
    if network_type not in NETWORK_TYPES:
        raise ValueError(f"unknown network_type '{network_type}'; known: {', '.join(sorted(NETWORK_TYPES))}")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision '{precision}'; known: {', '.join(PRECISIONS)}")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        return NETWORK_TYPES[network_type](**kwargs)
    finally:
        keras.config.set_dtype_policy(previous)
