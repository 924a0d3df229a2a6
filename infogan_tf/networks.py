"""Layer stacks per network type: G, the shared D body, and the D and Q heads.

A network type is a function registered in ``NETWORK_TYPES`` that takes a ``LayerKit``
and the widths it must fit; adding SVHN or CelebA is adding one. The builders know
nothing of latent codes or losses: they are told the input width, Q's output width and
the image shape, and any Keras model (Sequential or functional) will do.

The kit decides which kernels the layers run on: ``fast`` (``fast_layers``: fused
BatchNorm, Adam-friendly LeakyReLU and phase convolutions, measured faster on CPUs) or
``keras`` (TensorFlow's own layers, what a GPU wants); both make the same variables, so a
checkpoint written with one restores into the other. ``auto`` picks by device.

The "mnist" stacks reproduce the original's prettytensor templates (custom_ops.py): conv
kernels truncated-normal(0.02), dense and deconv kernels normal(0.02), zero biases,
BatchNorm gamma normal(1, 0.02) and beta 0, moving-average decay 0.9, epsilon 1e-5,
leaky ReLU slope 0.01 (the paper says 0.1: pass ``leak=0.1``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence

import keras
import tensorflow as tf
from keras import layers

from infogan_tf import fast_layers

ORIGINAL_LEAK = 0.01
PAPER_LEAK = 0.1
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
LAYER_KITS = ("auto", "fast", "keras")


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


class _PerBatchStatistics:
    """A BatchNorm that, inside ``apply_per_batch``, normalises each batch of a concatenation on its own.

    Under a strategy with several replicas, each replica updates the moving averages from
    its own batch; they are created to be averaged over the replicas (not left to drift
    apart per device). With ``synchronized=True`` the batch statistics themselves are the
    global batch's (Keras's all-reduce), and every replica's update is the same.
    """

    _batches = None
    """(sizes, count) while inside ``apply_per_batch``."""

    def add_weight(self, *args, **kwargs):
        if kwargs.get("name") in ("moving_mean", "moving_variance"):
            kwargs["aggregation"] = "mean"
        return super().add_weight(*args, **kwargs)

    def call(self, inputs, training=None, mask=None):
        if self._batches is None:
            return super().call(inputs, training=training, mask=mask)
        sizes, count = self._batches
        normalize = super().call
        return tf.concat(
            [normalize(part, training=training, mask=mask) for part in tf.split(inputs, sizes, num=count)], 0
        )


class FastBatchNormalization(_PerBatchStatistics, fast_layers.FusedBatchNormalization):
    """The fast kit's BatchNorm."""


class KerasBatchNormalization(_PerBatchStatistics, layers.BatchNormalization):
    """The keras kit's BatchNorm."""


_KIT_LAYERS = {
    "fast": (
        fast_layers.Conv2D,
        fast_layers.Conv2DTranspose,
        FastBatchNormalization,
        fast_layers.LeakyReLU,
        fast_layers.Dense,
    ),
    "keras": (layers.Conv2D, layers.Conv2DTranspose, KerasBatchNormalization, layers.LeakyReLU, layers.Dense),
}


def resolve_layer_kit(kit: str) -> str:
    """``auto`` means TensorFlow's own kernels where a GPU is visible and the fast CPU layers elsewhere."""
    if kit not in LAYER_KITS:
        raise ValueError(f"unknown layer kit '{kit}'; known: {', '.join(LAYER_KITS)}")
    if kit != "auto":
        return kit
    return "keras" if tf.config.list_physical_devices("GPU") else "fast"


@dataclasses.dataclass(frozen=True)
class LayerKit:
    """Makes layers with the original's initialisers, from one family of kernels, under one dtype policy.

    Each layer gets the policy itself, so building a network never touches Keras's
    global policy. With "mixed_bfloat16" the layers compute in bfloat16 on float32
    variables, and Keras keeps BatchNorm's statistics in float32.
    """

    name: str = "fast"
    precision: str = "float32"
    sync_batch_norm: bool = False

    def __post_init__(self) -> None:
        if self.name not in _KIT_LAYERS:
            raise ValueError(f"unknown layer kit '{self.name}'; known: {', '.join(_KIT_LAYERS)} (or auto)")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision '{self.precision}'; known: {', '.join(PRECISIONS)}")

    def dense(self, units: int) -> layers.Dense:
        return _KIT_LAYERS[self.name][4](
            units, kernel_initializer=keras.initializers.RandomNormal(stddev=0.02), dtype=self.precision
        )

    def conv(self, filters: int) -> layers.Conv2D:
        return self._strided(0, filters, keras.initializers.TruncatedNormal(stddev=0.02))

    def deconv(self, filters: int) -> layers.Conv2DTranspose:
        return self._strided(1, filters, keras.initializers.RandomNormal(stddev=0.02))

    def _strided(self, kind: int, filters: int, initializer: keras.initializers.Initializer) -> layers.Layer:
        """The original's 4x4, stride-2, SAME (transposed) convolution."""
        return _KIT_LAYERS[self.name][kind](
            filters, 4, strides=2, padding="same", kernel_initializer=initializer, dtype=self.precision
        )

    def batch_norm(self) -> layers.BatchNormalization:
        return _KIT_LAYERS[self.name][2](
            momentum=0.9,
            epsilon=1e-5,
            gamma_initializer=keras.initializers.RandomNormal(mean=1.0, stddev=0.02),
            synchronized=self.sync_batch_norm,
            dtype=self.precision,
        )

    def leaky_relu(self, slope: float) -> layers.LeakyReLU:
        return _KIT_LAYERS[self.name][3](negative_slope=slope, dtype=self.precision)

    def relu(self) -> layers.ReLU:
        return layers.ReLU(dtype=self.precision)

    def reshape(self, shape: Sequence[int]) -> layers.Reshape:
        return layers.Reshape(tuple(shape), dtype=self.precision)

    def flatten(self) -> layers.Flatten:
        return layers.Flatten(dtype=self.precision)


def _check_image(name: str, image_shape: Sequence[int], scale: int, output_flat_dim: int) -> None:
    """Refuse images a network type cannot model: sides not divisible by its ``scale``, or another output width."""
    height, width, channels = image_shape
    if height % scale or width % scale:
        raise ValueError(
            f"the {name} network needs image sides divisible by {scale}; image_shape {tuple(image_shape)} is not"
        )
    if output_flat_dim != height * width * channels:
        raise ValueError(
            f"the {name} network emits one value per pixel ({height * width * channels}), "
            f"but the output distribution needs {output_flat_dim}"
        )


def strided_networks(
    kit: LayerKit,
    image_shape: Sequence[int],
    latent_dim: int,
    q_flat_dim: int,
    output_flat_dim: int,
    leak: float = ORIGINAL_LEAK,
    widths: Sequence[int] = (64, 128),
    name: str = "mnist",
) -> Networks:
    """The original's "mnist" stacks, with one stride-2 stage per entry of ``widths``; images enter and leave flat.

    D: a 4x4 stride-2 convolution per width (BatchNorm on all but the first), then FC
    1024; D's head one logit, Q's head FC 128 and Q's outputs. G mirrors D: FC 1024, FC to
    the smallest feature map, a transposed convolution per width back up, the last one to
    the image's channels. ``widths=(64, 128)`` is the original's MNIST network.
    """
    height, width, channels = image_shape
    scale = 2 ** len(widths)
    _check_image(name, image_shape, scale, output_flat_dim)
    body = [keras.Input((height * width * channels,)), kit.reshape((height, width, channels))]
    for i, filters in enumerate(widths):
        body += [kit.conv(filters)] + ([kit.batch_norm()] if i else []) + [kit.leaky_relu(leak)]
    body += [kit.flatten(), kit.dense(1024), kit.batch_norm(), kit.leaky_relu(leak)]
    d_body = keras.Sequential(body, name="d_body")
    d_head = keras.Sequential([keras.Input((1024,)), kit.dense(1)], name="d_head")
    q_head = keras.Sequential(
        [keras.Input((1024,)), kit.dense(128), kit.batch_norm(), kit.leaky_relu(leak), kit.dense(q_flat_dim)],
        name="q_head",
    )
    smallest = (height // scale, width // scale, widths[-1])
    g = [keras.Input((latent_dim,)), kit.dense(1024), kit.batch_norm(), kit.relu()]
    g += [kit.dense(math.prod(smallest)), kit.batch_norm(), kit.relu(), kit.reshape(smallest)]
    for filters in reversed(widths[:-1]):
        g += [kit.deconv(filters), kit.batch_norm(), kit.relu()]
    g += [kit.deconv(channels), kit.flatten()]
    generator = keras.Sequential(g, name="g_net")
    return Networks(generator=generator, d_body=d_body, d_head=d_head, q_head=q_head)


def mnist_networks(kit: LayerKit, **kwargs) -> Networks:
    """The original's "mnist" network (openai/InfoGAN's regularized_gan.py): two stride-2 stages, 64 and 128."""
    return strided_networks(kit, widths=(64, 128), name="mnist", **kwargs)


def conv64_networks(kit: LayerKit, **kwargs) -> Networks:
    """For 64x64 images (dSprites, 3D chairs, 3D faces): the mnist network with a third stage of 256, G from 8x8x256.

    The paper gives its 64x64 architectures (3D chairs and faces) only as images; this is
    the closest extension of the original's code, chosen here and said so in docs/experiments.md.
    """
    return strided_networks(kit, widths=(64, 128, 256), name="conv64", **kwargs)


def svhn_networks(
    kit: LayerKit,
    image_shape: Sequence[int],
    latent_dim: int,
    q_flat_dim: int,
    output_flat_dim: int,
    leak: float = ORIGINAL_LEAK,
) -> Networks:
    """The paper's SVHN and CelebA network (Appendix C), for 32x32 colour images.

    D: 4x4 stride-2 convolutions of 64, 128 and 256 (BatchNorm after the first), D's head
    one logit and Q's head FC 128 on the flattened 4x4x256 features. G: FC 2x2x448, then
    4x4 stride-2 transposed convolutions of 256, 128, 64 and the image's channels; BatchNorm
    after the FC and the first transposed convolution, as the paper's table shows. The
    tanh of the last layer is the output distribution's (``mean_tanh_gaussian``).
    """
    height, width, channels = image_shape
    _check_image("svhn", image_shape, 16, output_flat_dim)
    features = height // 8 * width // 8 * 256
    d_body = keras.Sequential(
        [keras.Input((height * width * channels,)), kit.reshape((height, width, channels))]
        + [kit.conv(64), kit.leaky_relu(leak)]
        + [kit.conv(128), kit.batch_norm(), kit.leaky_relu(leak)]
        + [kit.conv(256), kit.batch_norm(), kit.leaky_relu(leak), kit.flatten()],
        name="d_body",
    )
    d_head = keras.Sequential([keras.Input((features,)), kit.dense(1)], name="d_head")
    q_head = keras.Sequential(
        [keras.Input((features,)), kit.dense(128), kit.batch_norm(), kit.leaky_relu(leak), kit.dense(q_flat_dim)],
        name="q_head",
    )
    start = (height // 16, width // 16, 448)
    generator = keras.Sequential(
        [keras.Input((latent_dim,)), kit.dense(math.prod(start)), kit.batch_norm(), kit.relu(), kit.reshape(start)]
        + [kit.deconv(256), kit.batch_norm(), kit.relu()]
        + [kit.deconv(128), kit.relu(), kit.deconv(64), kit.relu(), kit.deconv(channels), kit.flatten()],
        name="g_net",
    )
    return Networks(generator=generator, d_body=d_body, d_head=d_head, q_head=q_head)


NETWORK_TYPES: dict[str, Callable[..., Networks]] = {
    "mnist": mnist_networks,
    "conv64": conv64_networks,
    "svhn": svhn_networks,
}


AUTO = "auto"
"""The network type that follows the image size (``network_for``)."""

NETWORK_FOR_SIZE = {28: "mnist", 32: "svhn", 64: "conv64"}
"""The network built for each image size: MNIST's 28x28, SVHN's and CelebA's 32x32, the 64x64 datasets'."""


def network_for(image_shape: tuple[int, int, int]) -> str:
    """The network type built for square images of ``image_shape``'s size."""
    height, width, _ = image_shape
    if height != width or height not in NETWORK_FOR_SIZE:
        sizes = ", ".join(f"{size}x{size}" for size in NETWORK_FOR_SIZE)
        raise ValueError(f"no network type is built for {height}x{width} images (only {sizes}); choose network_type")
    return NETWORK_FOR_SIZE[height]


def build_networks(network_type: str, kit: LayerKit, **kwargs) -> Networks:
    if network_type not in NETWORK_TYPES:
        raise ValueError(f"unknown network_type '{network_type}'; known: {', '.join(sorted(NETWORK_TYPES))}")
    return NETWORK_TYPES[network_type](kit, **kwargs)


def _batch_norms(model: keras.Model) -> Iterator[layers.BatchNormalization]:
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            yield layer
        elif isinstance(layer, keras.Model):
            yield from _batch_norms(layer)


def apply_per_batch(stack: keras.Model, batches: Sequence[tf.Tensor], training: bool) -> list[tf.Tensor]:
    """``stack`` on each of ``batches``, computed as one pass over them all.

    The same as calling ``stack`` on each batch in turn, BatchNorm included: each
    BatchNorm layer normalises every batch with that batch's own statistics and updates
    its moving averages batch by batch, in order. Every other layer runs once on the
    concatenation, so a convolution or matmul is one large op instead of several small
    ones and its weight gradient is summed inside that op.
    """
    norms = list(_batch_norms(stack))
    stock = [layer.name for layer in norms if not isinstance(layer, _PerBatchStatistics)]
    if stock:
        raise TypeError(
            f"apply_per_batch needs a LayerKit's BatchNorm layers; {stack.name} has stock ones: {', '.join(stock)}"
        )
    static = [b.shape[0] for b in batches]
    sizes = static if None not in static else tf.stack([tf.shape(b)[0] for b in batches])
    for layer in norms:
        object.__setattr__(layer, "_batches", (sizes, len(batches)))
    try:
        out = stack(tf.concat(list(batches), axis=0), training=training)
    finally:
        for layer in norms:
            object.__setattr__(layer, "_batches", None)
    return tf.split(out, sizes, num=len(batches))
