"""Drop-in Keras layers shaped to suit TensorFlow's CPU kernels: same weights, same outputs.

``FusedBatchNormalization``: Keras 3 computes batch statistics and the normalisation as
separate element-wise ops (and their gradients as a dozen more); ``FusedBatchNormV3`` does
each direction in one op. Same weights, names and checkpoint layout as
``keras.layers.BatchNormalization``; the moving variance is fed the biased batch variance,
as in Keras and in the original (prettytensor's ``tf.nn.moments``), not the kernel's
Bessel-corrected one. Synchronised over replicas (``synchronized=True``), it trains through
Keras's own path, whose statistics are all-reduced.

``LeakyReLU``: its gradient reads the layer's output instead of its input (exact for a
slope >= 0, where both have the same sign). With the input's, TF 2.21's Grappler remapper
tries to fuse Conv2D + BiasAdd + LeakyRelu, finds the gradient still reading the BiasAdd,
and gives up ("remapper failed: ... fanout ... LeakyReluGrad exist for missing node ..."),
leaving the three as separate ops.

``Conv2DTranspose`` and ``Conv2D``: a strided transposed convolution with few output
channels (G's last layer; the input gradient of D's first convolution, whose input has
one channel) is slow in oneDNN's backward-data kernel. Written as one stride-1 convolution
over all output phases and a pixel shuffle (``transposed_conv_by_phases``) it is faster
for stride >= 2 and at most 8 output channels, and slower elsewhere, so phases are used
only there (``benchmarks/phase_conv.py``; figures in docs/speed.md). Only
that computation changes; the other gradients are the kernels TensorFlow's own gradients
use.

``Dense``: reads its kernel's bfloat16 copy while the step provides one
(``weight_copies``), so a large kernel is cast once per phase of an update, not at every
read.
"""

from __future__ import annotations

import math

import tensorflow as tf
from keras import layers

from infogan_tf.weight_copies import ReadsCopies

PHASE_MAX_CHANNELS = 8
"""Strided transposed convolutions with at most this many output channels go through phases."""


class FusedBatchNormalization(layers.BatchNormalization):
    """Normalises over every axis but the last, in one ``FusedBatchNormV3`` op per direction.

    Inputs of rank 2 (dense layers) are viewed as ``[batch, 1, 1, features]`` images.
    """

    def build(self, input_shape) -> None:
        if self.axis not in (-1, len(input_shape) - 1) or len(input_shape) not in (2, 4):
            raise ValueError(
                "FusedBatchNormalization normalises the last axis of a rank-2 or rank-4 input; "
                f"got axis={self.axis} for input shape {tuple(input_shape)}: use keras.layers.BatchNormalization"
            )
        if not (self.center and self.scale) or self.renorm:
            raise ValueError("FusedBatchNormalization needs center=True, scale=True and renorm=False")
        super().build(input_shape)

    def call(self, inputs, training=None, mask=None):
        if mask is not None:
            raise ValueError("FusedBatchNormalization does not take a mask")
        if self.synchronized and training:
            return super().call(inputs, training=training)  # Keras's statistics, all-reduced over replicas
        features = inputs.shape[-1]
        images = tf.reshape(inputs, [-1, 1, 1, features]) if inputs.shape.rank == 2 else inputs
        train = bool(training) and self.trainable
        empty = tf.constant([], tf.float32)
        outputs, batch_mean, batch_variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=images,
            scale=tf.cast(self.gamma, tf.float32),
            offset=tf.cast(self.beta, tf.float32),
            mean=empty if train else tf.cast(self.moving_mean, tf.float32),
            variance=empty if train else tf.cast(self.moving_variance, tf.float32),
            epsilon=self.epsilon,
            data_format="NHWC",
            is_training=train,
        )
        if train:
            count = tf.cast(tf.size(images) // features, tf.float32)
            biased_variance = batch_variance * (count - 1.0) / count
            self.moving_mean.assign(self.moving_mean * self.momentum + batch_mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + biased_variance * (1.0 - self.momentum))
        return tf.reshape(outputs, tf.shape(inputs)) if inputs.shape.rank == 2 else outputs


class LeakyReLU(layers.LeakyReLU):
    """``keras.layers.LeakyReLU`` whose gradient is computed from its output."""

    def __init__(self, negative_slope: float = 0.3, **kwargs):
        if negative_slope < 0:
            raise ValueError(f"LeakyReLU needs negative_slope >= 0, got {negative_slope}")
        super().__init__(negative_slope=negative_slope, **kwargs)

    def call(self, inputs):
        slope = self.negative_slope

        @tf.custom_gradient
        def leaky_relu(x):
            y = tf.nn.leaky_relu(x, alpha=slope)

            def grad(dy):
                return tf.raw_ops.LeakyReluGrad(gradients=dy, features=y, alpha=slope)

            return y, grad

        return leaky_relu(inputs)


def _same_padding_before(small: int, large: int, kernel: int, stride: int) -> int:
    """Rows TF's SAME padding adds before a stride-``stride`` convolution from ``large`` to ``small``."""
    return max((small - 1) * stride + kernel - large, 0) // 2


def transposed_conv_by_phases(x: tf.Tensor, kernel: tf.Tensor, stride: int, output_hw: tuple[int, int]) -> tf.Tensor:
    """``tf.nn.conv2d_transpose(x, kernel, ..., padding="SAME")`` as a stride-1 convolution and a pixel shuffle.

    Output pixel ``s*j + r`` (before cropping the padding) sums ``x[j - q] * kernel[s*q + r]``
    over q: for each phase r, a plain convolution of x with every s-th tap. One
    convolution with ``s*s*channels`` outputs computes all phases; ``depth_to_space``
    interleaves them. ``kernel`` is ``[kh, kw, out_channels, in_channels]``, as for
    ``conv2d_transpose``; ``output_hw`` is the output's height and width.
    """
    kh, kw, out_channels, in_channels = kernel.shape
    qh, qw = math.ceil(kh / stride), math.ceil(kw / stride)
    taps = tf.pad(kernel, [[0, qh * stride - kh], [0, qw * stride - kw], [0, 0], [0, 0]])
    taps = tf.reverse(tf.reshape(taps, [qh, stride, qw, stride, out_channels, in_channels]), axis=[0, 2])
    taps = tf.reshape(tf.transpose(taps, [0, 2, 5, 1, 3, 4]), [qh, qw, in_channels, stride * stride * out_channels])
    padded = tf.pad(x, [[0, 0], [qh - 1, qh - 1], [qw - 1, qw - 1], [0, 0]])
    phases = tf.nn.conv2d(padded, taps, strides=1, padding="VALID")
    full = tf.nn.depth_to_space(phases, stride) if stride > 1 else phases
    height, width = output_hw
    top = _same_padding_before(x.shape[1], height, kh, stride)
    left = _same_padding_before(x.shape[2], width, kw, stride)
    return full[:, top : top + height, left : left + width, :]


def _strides(stride: int) -> list[int]:
    return [1, stride, stride, 1]


def _conv_filter_gradient(x: tf.Tensor, kernel: tf.Tensor, dy: tf.Tensor, stride: int) -> tf.Tensor:
    return tf.raw_ops.Conv2DBackpropFilter(
        input=x, filter_sizes=tf.shape(kernel), out_backprop=dy, strides=_strides(stride), padding="SAME"
    )


def conv2d_transpose_same(x: tf.Tensor, kernel: tf.Tensor, stride: int, output_hw: tuple[int, int]) -> tf.Tensor:
    """SAME ``conv2d_transpose`` computed by phases, with the gradients TF's own op has."""

    @tf.custom_gradient
    def transpose_conv(x, kernel):
        def grad(dy):
            dx = tf.nn.conv2d(dy, kernel, strides=stride, padding="SAME")
            return dx, _conv_filter_gradient(dy, kernel, x, stride)

        return transposed_conv_by_phases(x, kernel, stride, output_hw), grad

    return transpose_conv(x, tf.convert_to_tensor(kernel))


def conv2d_same(x: tf.Tensor, kernel: tf.Tensor, stride: int) -> tf.Tensor:
    """SAME ``conv2d`` whose input gradient (a transposed convolution) is computed by phases."""

    @tf.custom_gradient
    def conv(x, kernel):
        def grad(dy):
            dx = transposed_conv_by_phases(dy, kernel, stride, x.shape[1:3])
            return dx, _conv_filter_gradient(x, kernel, dy, stride)

        return tf.nn.conv2d(x, kernel, strides=stride, padding="SAME"), grad

    return conv(x, tf.convert_to_tensor(kernel))


def _phases_apply(layer: layers.Layer, inputs: tf.Tensor, channels: int) -> bool:
    """Whether ``layer``'s transposed convolution (with ``channels`` outputs) is one that phases speed up."""
    return (
        channels <= PHASE_MAX_CHANNELS
        and None not in inputs.shape[1:3]
        and layer.padding == "same"
        and layer.data_format == "channels_last"
        and tuple(layer.dilation_rate) == (1, 1)
        and layer.strides[0] == layer.strides[1] > 1
        and getattr(layer, "output_padding", None) is None
    )


class Conv2DTranspose(layers.Conv2DTranspose):
    """``keras.layers.Conv2DTranspose``, computed by phases when it has few output channels."""

    def call(self, inputs):
        if not _phases_apply(self, inputs, self.filters):
            return super().call(inputs)
        output_hw = (inputs.shape[1] * self.strides[0], inputs.shape[2] * self.strides[1])
        outputs = conv2d_transpose_same(inputs, self.kernel, self.strides[0], output_hw)
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, self.bias)
        return self.activation(outputs)


class Conv2D(layers.Conv2D):
    """``keras.layers.Conv2D`` whose input gradient goes by phases when its input has few channels."""

    def convolution_op(self, inputs, kernel):
        if not _phases_apply(self, inputs, inputs.shape[-1]) or self.groups != 1:
            return super().convolution_op(inputs, kernel)
        return conv2d_same(inputs, kernel, self.strides[0])


class Dense(ReadsCopies, layers.Dense):
    """``keras.layers.Dense`` that reads its kernel's copy inside ``WeightCopies.reading``."""

    @property
    def kernel(self):
        return self.copied_kernel(super().kernel)
