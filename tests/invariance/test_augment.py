"""augment: rotations, scalings, shears, shifts, elastic distortions and erasing, checked against numpy and scipy."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage

from infogan_tf.evaluation import metrics
from infogan_tf.invariance import augment


def warp(images: np.ndarray, angles_deg, shifts, fill=0.0, scales=None, shears=None) -> np.ndarray:
    n, h, w = images.shape
    transforms = augment.affine_transforms(
        tf.constant(np.radians(angles_deg), tf.float32),
        tf.constant(shifts, tf.float32),
        h,
        w,
        scales=None if scales is None else tf.constant(scales, tf.float32),
        shears=None if shears is None else tf.constant(shears, tf.float32),
    )
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.constant(images[..., None]),
        transforms=transforms,
        output_shape=tf.constant([h, w]),
        fill_value=tf.constant(fill, tf.float32),
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return out.numpy()[..., 0]


def test_a_shift_moves_the_image_right_and_down_and_fills_the_border():
    image = np.random.default_rng(0).random((1, 6, 7), dtype=np.float32)
    right = warp(image, [0.0], [[2.0, 0.0]], fill=-1.0)[0]
    np.testing.assert_allclose(right[:, 2:], image[0][:, :-2], atol=1e-6)
    assert np.all(right[:, :2] == -1.0)
    down = warp(image, [0.0], [[0.0, 1.0]])[0]
    np.testing.assert_allclose(down[1:], image[0][:-1], atol=1e-6)


def test_a_quarter_turn_is_numpys_rot90_and_each_image_gets_its_own():
    images = np.random.default_rng(1).random((2, 5, 5), dtype=np.float32)
    out = warp(images, [90.0, 0.0], [[0.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(out[0], np.rot90(images[0]), atol=1e-5)
    np.testing.assert_allclose(out[1], images[1], atol=1e-6)


def test_random_warp_keeps_flat_shape_and_with_no_range_changes_nothing():
    flat = tf.constant(np.random.default_rng(2).random((3, 784), dtype=np.float32))
    same = augment.random_warp(flat, (28, 28, 1), tf.random.Generator.from_seed(0), augment.Warp(0.0, 0.0))
    np.testing.assert_allclose(same, flat, atol=1e-6)
    moved = augment.random_warp(flat, (28, 28, 1), tf.random.Generator.from_seed(0), augment.Warp(15.0, 2.0))
    assert moved.shape == flat.shape and not np.allclose(moved, flat)


def test_a_scale_reads_each_pixel_from_its_point_pulled_toward_the_centre():
    """Bilinear reading is exact on a ramp: scaled by s about the centre c, x shows the input at c + (x - c) / s."""
    h, w, scale = 9, 11, 1.25
    ramp = np.tile(np.arange(w, dtype=np.float32), (h, 1))[None]
    out = warp(ramp, [0.0], [[0.0, 0.0]], fill=-1.0, scales=[scale])[0]
    centre = (w - 1) / 2
    expected = centre + (np.arange(w) - centre) / scale
    np.testing.assert_allclose(out, np.tile(expected, (h, 1)), atol=1e-5)


def test_random_warp_draws_no_scale_unless_asked_so_earlier_draws_repeat():
    flat = tf.constant(np.random.default_rng(3).random((4, 784), dtype=np.float32))
    plain = augment.random_warp(flat, (28, 28, 1), tf.random.Generator.from_seed(5), augment.Warp(15.0, 2.0))
    unscaled = augment.random_warp(
        flat, (28, 28, 1), tf.random.Generator.from_seed(5), augment.Warp(15.0, 2.0, max_scale=0.0)
    )
    scaled = augment.random_warp(
        flat, (28, 28, 1), tf.random.Generator.from_seed(5), augment.Warp(15.0, 2.0, max_scale=0.2)
    )
    np.testing.assert_array_equal(plain, unscaled)
    assert not np.allclose(plain, scaled)


def test_a_shear_moves_each_row_sideways_by_its_distance_below_the_centre():
    """On a horizontal ramp (pixel value = column) a shear k shows, in row y, the input at x - k (y - cy)."""
    h, w, shear = 9, 11, 0.3
    ramp = np.tile(np.arange(w, dtype=np.float32), (h, 1))[None]
    out = warp(ramp, [0.0], [[0.0, 0.0]], fill=-1.0, shears=[shear])[0]
    rows, cols = np.mgrid[0:h, 0:w]
    read_at = cols - shear * (rows - (h - 1) / 2)
    inside = (read_at >= 0) & (read_at <= w - 1)
    np.testing.assert_allclose(out[inside], read_at[inside], atol=1e-5)
    assert np.all(out[(read_at < -1) | (read_at > w)] == -1.0)  # read from outside the image: the fill


def test_rotation_and_shear_together_slant_the_turned_image():
    """One matrix for both: the image is turned (numpy's rot90 for a quarter turn), then slanted."""
    image = np.random.default_rng(4).random((1, 7, 7), dtype=np.float32)
    turned = np.ascontiguousarray(np.rot90(image[0]))[None]
    both = warp(image, [90.0], [[0.0, 0.0]], shears=[0.5])
    np.testing.assert_allclose(both, warp(turned, [0.0], [[0.0, 0.0]], shears=[0.5]), atol=1e-5)


def test_random_warp_draws_no_shear_unless_asked_so_earlier_draws_repeat():
    flat = tf.constant(np.random.default_rng(6).random((4, 784), dtype=np.float32))
    scaled = augment.random_warp(
        flat, (28, 28, 1), tf.random.Generator.from_seed(5), augment.Warp(15.0, 2.0, max_scale=0.1)
    )
    unsheared = augment.random_warp(
        flat, (28, 28, 1), tf.random.Generator.from_seed(5), augment.Warp(15.0, 2.0, max_scale=0.1, max_shear=0.0)
    )
    sheared = augment.random_warp(
        flat, (28, 28, 1), tf.random.Generator.from_seed(5), augment.Warp(15.0, 2.0, max_scale=0.1, max_shear=0.3)
    )
    np.testing.assert_array_equal(scaled, unsheared)
    assert not np.allclose(scaled, sheared)


def test_smooth_field_is_scipys_gaussian_filter_with_a_zero_border():
    noise = np.random.default_rng(7).uniform(-1, 1, (2, 20, 23, 2)).astype(np.float32)
    smoothed = augment.smooth_field(tf.constant(noise), 3.0).numpy()
    expected = ndimage.gaussian_filter(noise, sigma=(0, 3.0, 3.0, 0), mode="constant", truncate=4.0)
    np.testing.assert_allclose(smoothed, expected, atol=1e-6)


def test_bilinear_read_is_scipys_linear_interpolation_with_a_constant_outside():
    """Points inside, between pixels, within a pixel of the border and far outside."""
    rng = np.random.default_rng(8)
    images = rng.random((2, 6, 7, 1), dtype=np.float32)
    xs = rng.uniform(-2.0, 8.0, (2, 6, 7)).astype(np.float32)
    ys = rng.uniform(-2.0, 7.0, (2, 6, 7)).astype(np.float32)
    read = augment.bilinear_read(tf.constant(images), tf.constant(xs), tf.constant(ys), -1.0).numpy()[..., 0]
    for k in range(2):
        expected = ndimage.map_coordinates(images[k, ..., 0], [ys[k], xs[k]], order=1, mode="grid-constant", cval=-1.0)
        np.testing.assert_allclose(read[k], expected, atol=1e-5)


@pytest.mark.parametrize("fill", [0.0, -1.0])
def test_with_a_zero_displacement_the_read_is_the_ops_warp(fill):
    """The elastic path reads through the same map as the op: only the displacement differs."""
    rng = np.random.default_rng(9)
    images = rng.random((3, 28, 28), dtype=np.float32)
    angles, shifts = rng.uniform(-30, 30, 3), rng.uniform(-3, 3, (3, 2))
    scales, shears = rng.uniform(0.8, 1.2, 3), rng.uniform(-0.4, 0.4, 3)
    transforms = augment.affine_transforms(
        tf.constant(np.radians(angles), tf.float32),
        tf.constant(shifts, tf.float32),
        28,
        28,
        tf.constant(scales, tf.float32),
        tf.constant(shears, tf.float32),
    )
    read = augment.read_through(tf.constant(images[..., None]), transforms, tf.zeros([3, 28, 28, 2]), fill)
    np.testing.assert_allclose(read.numpy()[..., 0], warp(images, angles, shifts, fill, scales, shears), atol=1e-5)


def test_an_elastic_warp_reads_each_pixel_displaced_by_the_smoothed_draw():
    """No rotation or shift: pixel (y, x) shows the input at (y, x) + alpha * blurred uniform noise, the noise
    drawn after the angles and shifts, so a same-seeded generator gives it."""
    alpha, sigma = 30.0, 4.0
    images = np.random.default_rng(10).random((2, 28, 28), dtype=np.float32)
    warped = augment.random_warp(
        tf.constant(images.reshape(2, 784)),
        (28, 28, 1),
        tf.random.Generator.from_seed(11),
        augment.Warp(0.0, 0.0, elastic=alpha, elastic_sigma=sigma),
        -1.0,
    ).numpy()
    twin = tf.random.Generator.from_seed(11)
    twin.uniform([2]), twin.uniform([2, 2])
    noise = twin.uniform([2, 28, 28, 2], -1.0, 1.0).numpy()
    field = alpha * ndimage.gaussian_filter(noise, sigma=(0, sigma, sigma, 0), mode="constant", truncate=4.0)
    rows, cols = np.mgrid[0:28, 0:28]
    for k in range(2):
        at = [rows + field[k, ..., 1], cols + field[k, ..., 0]]
        expected = ndimage.map_coordinates(images[k], at, order=1, mode="grid-constant", cval=-1.0)
        np.testing.assert_allclose(warped[k].reshape(28, 28), expected, atol=1e-4)
    moved = np.hypot(field[..., 0], field[..., 1])[:, 8:20, 8:20]
    assert 0.5 < np.sqrt((moved**2).mean()) < 4.0  # pixels: a distortion, not a scramble


def test_random_warp_draws_no_distortion_unless_asked_so_earlier_draws_repeat():
    flat = tf.constant(np.random.default_rng(12).random((4, 784), dtype=np.float32))
    kwargs = dict(max_scale=0.1, max_shear=0.3)
    plain = augment.random_warp(flat, (28, 28, 1), tf.random.Generator.from_seed(5), augment.Warp(15.0, 2.0, **kwargs))
    undistorted = augment.random_warp(
        flat, (28, 28, 1), tf.random.Generator.from_seed(5), augment.Warp(15.0, 2.0, elastic=0.0, **kwargs)
    )
    distorted = augment.random_warp(
        flat, (28, 28, 1), tf.random.Generator.from_seed(5), augment.Warp(15.0, 2.0, elastic=34.0, **kwargs)
    )
    np.testing.assert_array_equal(plain, undistorted)
    assert not np.allclose(plain, distorted)


def test_slants_are_the_evaluations_measure_of_the_ink():
    ink = np.random.default_rng(13).random((5, 28, 28)).astype(np.float32) ** 4
    ink[0] = 0.0
    images = tf.constant(2.0 * ink[..., None] - 1.0)
    np.testing.assert_allclose(augment.slants(images, -1.0), metrics.slant(ink), atol=1e-5)
    assert augment.slants(images, -1.0)[0] == 0.0


def leaning_bars(leans) -> np.ndarray:
    """Thick bars through the centre, 16 rows tall, whose ink moves ``lean`` pixels right per row going up."""
    rows, cols = np.mgrid[0:28, 0:28]
    centre_col = 13.5 - np.asarray(leans, np.float32)[:, None, None] * (rows - 13.5)
    return ((np.abs(cols - centre_col) <= 1.5) & (np.abs(rows - 13.5) <= 8)).astype(np.float32)


def test_deslant_stands_each_copy_upright_and_draws_nothing():
    ink = leaning_bars([0.4, -0.3, 0.0])
    assert np.all(np.abs(metrics.slant(ink) - [0.4, -0.3, 0.0]) < 0.03)
    flat = tf.constant(2.0 * ink.reshape(3, 784) - 1.0)
    plain_rng, deslant_rng = tf.random.Generator.from_seed(14), tf.random.Generator.from_seed(14)
    upright = augment.random_warp(flat, (28, 28, 1), deslant_rng, augment.Warp(0.0, 0.0, deslant=True), -1.0)
    augment.random_warp(flat, (28, 28, 1), plain_rng, augment.Warp(0.0, 0.0), -1.0)
    np.testing.assert_array_equal(plain_rng.state, deslant_rng.state)
    upright_ink = (upright.numpy().reshape(3, 28, 28) + 1.0) / 2.0
    assert np.all(np.abs(metrics.slant(upright_ink)) < 0.03)
    assert np.all(np.abs(upright_ink.sum(axis=(1, 2)) - ink.sum(axis=(1, 2))) < 0.05 * ink.sum(axis=(1, 2)))
    np.testing.assert_allclose(upright_ink[2], ink[2], atol=1e-5)


def test_random_erase_blanks_the_square_around_each_drawn_centre():
    """Each image loses exactly the pixels within size/2 of its centre (the corner floored), cut by the border;
    the centres come from a same-seeded generator, uniform over the image."""
    size, n = 6, 64
    images = np.random.default_rng(14).random((n, 28, 28, 1), dtype=np.float32) + 1.0
    erased = augment.random_erase(
        tf.constant(images.reshape(n, 784)), (28, 28, 1), tf.random.Generator.from_seed(15), size, -1.0
    ).numpy()
    centres = tf.random.Generator.from_seed(15).uniform([n, 2]).numpy() * 28.0
    rows, cols = np.mgrid[0:28, 0:28]
    for k in range(n):
        top, left = np.floor(centres[k] - size / 2.0)
        inside = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)
        out = erased[k].reshape(28, 28)
        assert np.all(out[inside] == -1.0)
        np.testing.assert_array_equal(out[~inside], images[k, ..., 0][~inside])
    areas = (erased == -1.0).sum(axis=1)
    assert areas.max() == size * size and areas.min() < size * size  # whole squares, and squares cut by the border


def test_erased_squares_reach_every_pixel_and_keep_channels_together():
    images = np.ones((400, 8, 8, 3), np.float32)
    erased = augment.random_erase(
        tf.constant(images.reshape(400, -1)), (8, 8, 3), tf.random.Generator.from_seed(16), 3, 0.0
    ).numpy()
    blank = erased.reshape(400, 8, 8, 3) == 0.0
    assert np.all(blank.any(axis=0))
    np.testing.assert_array_equal(blank[..., 0], blank[..., 2])
