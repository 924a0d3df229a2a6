"""Small random changes of real images that keep what they show: the T(x) of the invariance term.

One ``ImageProjectiveTransformV3`` op warps the whole batch, each image by its own
rotation, scale, shear and shift (bilinear, the border filled with the value of a blank pixel),
so the transform costs one pass over the batch. An elastic distortion (Simard et al. 2003:
a random displacement per pixel, smoothed by a Gaussian) adds its displacement to the same
map, and the image is read once, through ``bilinear_read``, instead of by the op. Deslanting
adds each image's own slant (from its ink's second moments) to its shear, so it costs
no second pass either. Erasing (Cutout, DeVries & Taylor 2017) blanks a square of each
warped image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
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


def _blur_matrix(size: int, sigma: float) -> np.ndarray:
    """A Gaussian blur along one axis of ``size`` pixels as a matrix; taps past the border are dropped."""
    radius = int(4.0 * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    offsets = np.arange(size)[:, None] - np.arange(size)[None, :]
    return np.where(np.abs(offsets) <= radius, taps[np.clip(offsets + radius, 0, 2 * radius)], 0.0).astype(np.float32)


def smooth_field(noise: tf.Tensor, sigma: float) -> tf.Tensor:
    """``noise`` (float32, ``[n, height, width, k]``) blurred by a Gaussian of ``sigma`` pixels over each image.

    The kernel reaches 4 sigma and the border counts as 0, as scipy's
    ``gaussian_filter(mode="constant")`` does, so a field fades toward the image's edge.
    Two small matrix products, one per axis: on a CPU a depthwise convolution with a
    kernel this wide took over ten times as long.
    """
    rows = tf.constant(_blur_matrix(noise.shape[1], sigma))
    cols = tf.constant(_blur_matrix(noise.shape[2], sigma))
    return tf.einsum("ij,njkc,lk->nilc", rows, noise, cols)


def bilinear_read(images: tf.Tensor, xs: tf.Tensor, ys: tf.Tensor, fill_value: float) -> tf.Tensor:
    """``images`` (``[n, height, width, channels]``) read at ``xs``, ``ys`` (float32, ``[n, height, width]``, pixels).

    Each of a point's four neighbours outside the image reads as ``fill_value``, as the
    projective-transform op's constant fill does: the images get a border of it, and a
    neighbour further out reads the border.
    """
    _, height, width, channels = images.shape
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=tf.cast(fill_value, images.dtype))
    pixels = tf.reshape(padded, [-1, channels])
    x0, y0 = tf.floor(xs), tf.floor(ys)
    wx, wy = (tf.cast(d, images.dtype)[..., None] for d in (xs - x0, ys - y0))
    x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    first = tf.reshape(tf.range(tf.shape(images)[0]) * (height + 2) * (width + 2), [-1, 1, 1])

    def read(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        return tf.gather(
            pixels, first + (tf.clip_by_value(y, -1, height) + 1) * (width + 2) + tf.clip_by_value(x, -1, width) + 1
        )

    top = read(x0, y0) * (1.0 - wx) + read(x0 + 1, y0) * wx
    bottom = read(x0, y0 + 1) * (1.0 - wx) + read(x0 + 1, y0 + 1) * wx
    return top * (1.0 - wy) + bottom * wy


def _pixel_grid(height: int, width: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Each pixel's row and column (float32, ``[height, width]``)."""
    return tf.meshgrid(tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij")


def read_through(images: tf.Tensor, transforms: tf.Tensor, displacement: tf.Tensor, fill_value: float) -> tf.Tensor:
    """``images`` read where ``transforms`` maps each pixel, moved further by ``displacement`` (``[n, h, w, 2]``: x, y).

    The points are float32 whatever the images' dtype, so bfloat16 does not round where a pixel is read.
    """
    height, width = images.shape[1], images.shape[2]
    rows, cols = _pixel_grid(height, width)
    a0, a1, a2, b0, b1, b2 = (tf.reshape(transforms[:, k], [-1, 1, 1]) for k in range(6))
    xs = a0 * cols + a1 * rows + a2 + displacement[..., 0]
    ys = b0 * cols + b1 * rows + b2 + displacement[..., 1]
    return bilinear_read(images, xs, ys, fill_value)


def slants(images: tf.Tensor, blank: float) -> tf.Tensor:
    """How far each image (``[n, height, width, channels]``) leans: its ink's sideways move per row going up.

    The ink is what differs from ``blank``; the slant is -cov(x, y) / var(y) of its
    second moments (y counted down the rows), 0 for an image without ink, as the
    evaluation's ``metrics.slant`` measures it. A shear by an image's slant stands it upright.
    """
    ink = tf.reduce_sum(tf.cast(images, tf.float32) - blank, axis=-1)
    height, width = ink.shape[1], ink.shape[2]
    rows, cols = _pixel_grid(height, width)
    mass = tf.reduce_sum(ink, axis=[1, 2])
    has_ink = mass > 0
    safe_mass = tf.where(has_ink, mass, 1.0)
    cy = tf.reduce_sum(ink * rows, axis=[1, 2]) / safe_mass
    cx = tf.reduce_sum(ink * cols, axis=[1, 2]) / safe_mass
    dy, dx = rows - cy[:, None, None], cols - cx[:, None, None]
    var_y = tf.reduce_sum(ink * dy**2, axis=[1, 2])
    cov = tf.reduce_sum(ink * dx * dy, axis=[1, 2])
    upright = has_ink & (var_y > 0)
    return tf.where(upright, -cov / tf.where(upright, var_y, 1.0), 0.0)


class Warp(NamedTuple):
    """The ranges of ``random_warp``'s random changes; 0 (or False) leaves a change out."""

    max_degrees: float
    max_shift: float
    max_scale: float = 0.0
    max_shear: float = 0.0
    elastic: float = 0.0
    elastic_sigma: float = 4.0
    deslant: bool = False


def random_warp(
    images: tf.Tensor, image_shape: Sequence[int], rng: tf.random.Generator, warp: Warp, fill_value: float = 0.0
) -> tf.Tensor:
    """Each image of ``images`` (flat, as the pipeline gives them) warped by its own random draw.

    Angles are uniform in +-``max_degrees``, shifts uniform in +-``max_shift`` pixels along
    each axis, scales uniform in 1 +- ``max_scale``, shears uniform in +-``max_shear``, drawn
    from ``rng`` (the step's latent RNG, so a resumed run repeats them). ``elastic`` is
    Simard et al.'s alpha: each pixel's own displacement, uniform in +-1 along each axis,
    smoothed by a Gaussian of ``elastic_sigma`` pixels, is scaled by it. A range of 0 draws
    nothing, so the draws are the ones made before scaling, shearing and distortion existed.
    ``deslant`` adds to each image's shear its own ``slants``, so the copy stands upright
    before the random shear and the rotation tilt it: every slant of a digit maps to one
    copy, which a small random shear alone cannot do for the far ends of MNIST's slants.
    """
    max_degrees, max_shift, max_scale, max_shear, elastic, elastic_sigma, deslant = warp
    height, width, channels = image_shape
    n = tf.shape(images)[0]
    angles = rng.uniform([n], -max_degrees, max_degrees) * (math.pi / 180.0)
    shifts = rng.uniform([n, 2], -max_shift, max_shift)
    scales = rng.uniform([n], 1.0 - max_scale, 1.0 + max_scale) if max_scale else None
    shears = rng.uniform([n], -max_shear, max_shear) if max_shear else None
    batch = tf.reshape(images, [n, height, width, channels])
    if deslant:
        upright = slants(batch, fill_value)
        shears = upright if shears is None else shears + upright
    transforms = affine_transforms(angles, shifts, height, width, scales, shears)
    if elastic:
        field = smooth_field(rng.uniform([n, height, width, 2], -1.0, 1.0), elastic_sigma)
        warped = read_through(batch, transforms, elastic * field, fill_value)
    else:
        warped = tf.raw_ops.ImageProjectiveTransformV3(
            images=batch,
            transforms=transforms,
            output_shape=tf.constant([height, width]),
            fill_value=tf.constant(fill_value, images.dtype),
            interpolation="BILINEAR",
            fill_mode="CONSTANT",
        )
    return tf.reshape(warped, tf.shape(images))


def random_erase(
    images: tf.Tensor, image_shape: Sequence[int], rng: tf.random.Generator, size: int, fill_value: float = 0.0
) -> tf.Tensor:
    """Each image of ``images`` (flat) with a ``size`` by ``size`` square set to ``fill_value``.

    The square's centre is uniform over the image, as in Cutout, so a square near the
    border is cut by it and a digit's own pixels, in the middle, are the ones most often
    erased. A consistency term then cannot rest on any one small stroke, such as the bar
    across a crossed 7 that the geometric changes keep.
    """
    height, width, channels = image_shape
    n = tf.shape(images)[0]
    centres = rng.uniform([n, 2], 0.0, 1.0) * tf.constant([height, width], tf.float32)
    first = tf.floor(centres - size / 2.0)
    rows, cols = _pixel_grid(height, width)
    top, left = (tf.reshape(first[:, k], [-1, 1, 1]) for k in range(2))
    inside = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)
    batch = tf.reshape(images, [n, height, width, channels])
    erased = tf.where(inside[..., None], tf.cast(fill_value, images.dtype), batch)
    return tf.reshape(erased, tf.shape(images))
