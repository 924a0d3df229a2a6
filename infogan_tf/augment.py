"""Small random changes of real images that keep what they show: the T(x) of the invariance term.

One ``ImageProjectiveTransformV3`` op warps the whole batch, each image by its own
rotation, scale, shear and shift (bilinear, the border filled with the value of a blank pixel),
so the transform costs one pass over the batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import tensorflow as tf


def affine_transforms(
    angles: tf.Tensor,
    shifts: tf.Tensor,
    height: int,
    width: int,
    scales: tf.Tensor | None = None,
    shears: tf.Tensor | None = None,
) -> tf.Tensor:
    """Rows ``[a0, a1, a2, b0, b1, b2, 0, 0]`` mapping each output pixel to where it is read in the input.

    ``angles`` (radians, counter-clockwise on the screen), ``shifts`` (``[dx, dy]`` in
    pixels, right and down), ``scales`` (above 1 enlarges; default 1) and ``shears`` (a
    slant: each row moved right by this fraction of its distance below the centre; default
    0) per image; rotation, scaling and shear are about the image's centre.
    """
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    cos, sin = tf.cos(angles), tf.sin(angles)
    if scales is not None:
        cos, sin = cos / scales, sin / scales
    a1, b1 = -sin, cos
    if shears is not None:
        a1, b1 = a1 - shears * cos, b1 - shears * sin
    x0, y0 = cx + shifts[:, 0], cy + shifts[:, 1]
    zeros = tf.zeros_like(angles)
    return tf.stack([cos, a1, cx - cos * x0 - a1 * y0, sin, b1, cy - sin * x0 - b1 * y0, zeros, zeros], axis=1)


def random_affine(
    images: tf.Tensor,
    image_shape: Sequence[int],
    rng: tf.random.Generator,
    max_degrees: float,
    max_shift: float,
    fill_value: float = 0.0,
    max_scale: float = 0.0,
    max_shear: float = 0.0,
) -> tf.Tensor:
    """Each image of ``images`` (flat, as the pipeline gives them) rotated, scaled, sheared and shifted at random.

    Angles are uniform in +-``max_degrees``, shifts uniform in +-``max_shift`` pixels along
    each axis, scales uniform in 1 +- ``max_scale``, shears uniform in +-``max_shear``, drawn
    from ``rng`` (the step's latent RNG, so a resumed run repeats them). A range of 0 draws
    nothing, so the draws are the ones made before scaling and shearing existed.
    """
    height, width, channels = image_shape
    n = tf.shape(images)[0]
    angles = rng.uniform([n], -max_degrees, max_degrees) * (math.pi / 180.0)
    shifts = rng.uniform([n, 2], -max_shift, max_shift)
    scales = rng.uniform([n], 1.0 - max_scale, 1.0 + max_scale) if max_scale else None
    shears = rng.uniform([n], -max_shear, max_shear) if max_shear else None
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.reshape(images, [n, height, width, channels]),
        transforms=affine_transforms(angles, shifts, height, width, scales, shears),
        output_shape=tf.constant([height, width]),
        fill_value=tf.constant(fill_value, images.dtype),
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return tf.reshape(warped, tf.shape(images))
