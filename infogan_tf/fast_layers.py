"""Drop-in Keras layers shaped to suit TensorFlow's CPU kernels: same weights, same outputs.

``FusedBatchNormalization``: Keras 3 computes batch statistics and the normalisation as
separate element-wise ops (and their gradients as a dozen more); ``FusedBatchNormV3`` does
each direction in one op (in one CPU profile of an InfoGAN update, BatchNorm's op time
fell from 55 to 22 ms). Same weights, names and checkpoint layout as
``keras.layers.BatchNormalization``; the moving variance is fed the biased batch variance,
as in Keras and in the original (prettytensor's ``tf.nn.moments``), not the kernel's
Bessel-corrected one.

``LeakyReLU``: its gradient reads the layer's output instead of its input (exact for a
slope >= 0, where both have the same sign). With the input's, TF 2.21's Grappler remapper
tries to fuse Conv2D + BiasAdd + LeakyRelu, finds the gradient still reading the BiasAdd,
and gives up ("remapper failed: ... fanout ... LeakyReluGrad exist for missing node ..."),
leaving the three as separate ops.
"""

from __future__ import annotations

import tensorflow as tf
from keras import layers


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
