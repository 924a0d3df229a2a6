import keras
import numpy as np
import pytest
import tensorflow as tf

from infogan_tf import fast_layers
from infogan_tf.fast_layers import (
    Conv2D,
    Conv2DTranspose,
    FusedBatchNormalization,
    LeakyReLU,
    transposed_conv_by_phases,
)


def pair(shape, momentum=0.9, epsilon=1e-5):
    """A Keras BatchNormalization and a fused one with the same (non-trivial) weights."""
    reference = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
    fused = FusedBatchNormalization(momentum=momentum, epsilon=epsilon)
    reference.build(shape)
    fused.build(shape)
    rng = np.random.default_rng(0)
    weights = [rng.normal(1.0, 0.1, shape[-1]), rng.normal(0, 0.1, shape[-1]), rng.normal(0, 1, shape[-1])]
    weights.append(rng.uniform(0.5, 2.0, shape[-1]))
    reference.set_weights([w.astype(np.float32) for w in weights])
    fused.set_weights(reference.get_weights())
    return reference, fused


@pytest.mark.parametrize("shape", [(32, 24), (8, 5, 5, 6)])
def test_fused_batch_norm_matches_keras(shape):
    reference, fused = pair(shape)
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(3.0, 2.0, shape).astype(np.float32))
    upstream = tf.constant(rng.normal(size=shape).astype(np.float32))
    results = []
    for layer in (reference, fused):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * upstream)
        grads = tape.gradient(loss, [x, *layer.trainable_variables])
        results.append((y, grads, [w.numpy() for w in layer.weights], layer(x, training=False)))
    (y_ref, g_ref, w_ref, inf_ref), (y, g, w, inf) = results
    np.testing.assert_allclose(y, y_ref, atol=2e-5)
    for a, b in zip(g, g_ref):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)
    for a, b in zip(w, w_ref):  # moving mean and (biased) moving variance included
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(inf, inf_ref, atol=2e-5)


def test_fused_batch_norm_statistics_against_numpy():
    x = np.random.default_rng(2).normal(1.0, 3.0, (16, 4, 4, 3)).astype(np.float32)
    layer = FusedBatchNormalization(momentum=0.9, epsilon=1e-5)
    y = layer(x, training=True).numpy()
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5), atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.9 + 0.1 * var, rtol=1e-5)


def test_fused_batch_norm_runs_in_bfloat16():
    layer = FusedBatchNormalization(dtype="mixed_bfloat16")
    x = tf.random.normal([8, 12], seed=0)
    y = layer(x, training=True)
    assert y.dtype == tf.bfloat16 and layer.moving_mean.dtype == tf.float32
    np.testing.assert_allclose(tf.reduce_mean(tf.cast(y, tf.float32), axis=0), 0.0, atol=0.05)


def test_fused_batch_norm_refuses_what_it_cannot_fuse():
    with pytest.raises(ValueError, match="last axis of a rank-2 or rank-4"):
        FusedBatchNormalization()(tf.zeros([2, 3, 4]))
    with pytest.raises(ValueError, match="center=True"):
        FusedBatchNormalization(center=False)(tf.zeros([2, 3]))


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.1])
def test_leaky_relu_gradient_from_its_output_is_exact(slope):
    x = tf.constant(np.random.default_rng(3).normal(size=(64, 9)).astype(np.float32))
    upstream = tf.constant(np.random.default_rng(4).normal(size=(64, 9)).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = LeakyReLU(negative_slope=slope)(x)
        loss = tf.reduce_sum(y * upstream)
    np.testing.assert_array_equal(y, np.where(x > 0, x, slope * x))
    np.testing.assert_array_equal(tape.gradient(loss, x), upstream * np.where(x.numpy() > 0, 1.0, slope))


def test_leaky_relu_refuses_a_negative_slope():
    with pytest.raises(ValueError, match="negative_slope >= 0"):
        LeakyReLU(negative_slope=-0.1)


def numpy_transposed_conv(x, kernel, stride, output_hw):
    """Scatter-add: input pixel (i, j) adds kernel tap (a, b) to output pixel (s*i + a - pad, s*j + b - pad)."""
    batch, height, width, _ = x.shape
    kh, kw, out_channels, _ = kernel.shape
    top = max((height - 1) * stride + kh - output_hw[0], 0) // 2
    left = max((width - 1) * stride + kw - output_hw[1], 0) // 2
    out = np.zeros((batch, *output_hw, out_channels))
    for i in range(height):
        for j in range(width):
            for a in range(kh):
                for b in range(kw):
                    r, c = stride * i + a - top, stride * j + b - left
                    if 0 <= r < output_hw[0] and 0 <= c < output_hw[1]:
                        out[:, r, c, :] += x[:, i, j, :] @ kernel[a, b].T
    return out


# (input height/width, kernel, stride, output channels, input channels, output height/width)
PHASE_CASES = [
    (14, 4, 2, 1, 16, 28),
    (14, 4, 2, 1, 16, 27),
    (7, 5, 2, 3, 8, 14),
    (6, 3, 1, 2, 5, 6),
    (5, 3, 3, 1, 4, 15),
]


@pytest.mark.parametrize(("size", "k", "stride", "c_out", "c_in", "out"), PHASE_CASES)
def test_transposed_conv_by_phases_matches_tensorflow_and_numpy(size, k, stride, c_out, c_in, out):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, size, size, c_in)).astype(np.float32)
    kernel = rng.normal(size=(k, k, c_out, c_in)).astype(np.float32)
    y = transposed_conv_by_phases(tf.constant(x), tf.constant(kernel), stride, (out, out)).numpy()
    expected = tf.nn.conv2d_transpose(x, kernel, [2, out, out, c_out], stride, padding="SAME").numpy()
    assert y.shape == expected.shape == (2, out, out, c_out)
    np.testing.assert_allclose(y, expected, atol=1e-4)
    np.testing.assert_allclose(y, numpy_transposed_conv(x, kernel, stride, (out, out)), atol=1e-4)


def same_weights(layer, reference, shape):
    layer.build(shape)
    reference.build(shape)
    rng = np.random.default_rng(2)
    reference.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in reference.weights])
    layer.set_weights(reference.get_weights())


def outputs_and_gradients(layer, x):
    upstream = tf.constant(np.random.default_rng(3).normal(size=layer.compute_output_shape(x.shape)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(layer(x) * upstream)
    return [layer(x), *tape.gradient(loss, [x, *layer.trainable_variables])]


@pytest.mark.parametrize(
    ("layer_class", "keras_class", "filters", "shape"),
    [
        (Conv2DTranspose, keras.layers.Conv2DTranspose, 1, (4, 14, 14, 16)),
        (Conv2DTranspose, keras.layers.Conv2DTranspose, 3, (4, 7, 7, 8)),
        (Conv2D, keras.layers.Conv2D, 16, (4, 28, 28, 1)),
        (Conv2D, keras.layers.Conv2D, 16, (4, 27, 27, 1)),
    ],
)
def test_conv_layers_match_keras_with_their_gradients(layer_class, keras_class, filters, shape, monkeypatch):
    calls = []
    phases = transposed_conv_by_phases
    monkeypatch.setattr(fast_layers, "transposed_conv_by_phases", lambda *a: calls.append(1) or phases(*a))
    layer, reference = (cls(filters, 4, strides=2, padding="same") for cls in (layer_class, keras_class))
    same_weights(layer, reference, shape)
    x = tf.constant(np.random.default_rng(4).normal(size=shape), tf.float32)
    for got, want in zip(outputs_and_gradients(layer, x), outputs_and_gradients(reference, x)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4, rtol=1e-4)
    assert calls, "the phase computation was not used"


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        (Conv2DTranspose(64, 4, strides=2, padding="same"), (2, 7, 7, 8)),
        (Conv2DTranspose(1, 3, strides=1, padding="same"), (2, 7, 7, 8)),
        (Conv2D(8, 4, strides=2), (2, 8, 8, 1)),
        (Conv2D(8, 4, strides=2, padding="same"), (2, 8, 8, 16)),
    ],
)
def test_phases_are_left_out_where_they_do_not_pay_or_apply(layer, shape, monkeypatch):
    monkeypatch.setattr(fast_layers, "transposed_conv_by_phases", lambda *a: pytest.fail("phases used"))
    x = tf.constant(np.random.default_rng(4).normal(size=shape), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
    assert tape.gradient(y, x).shape == x.shape


def test_phase_layers_run_in_bfloat16():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        deconv, conv = Conv2DTranspose(1, 4, strides=2, padding="same"), Conv2D(8, 4, strides=2, padding="same")
    finally:
        keras.config.set_dtype_policy(previous)
    x = tf.constant(np.random.default_rng(5).normal(size=(2, 7, 7, 4)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = conv(deconv(x))
        loss = tf.reduce_sum(tf.cast(y, tf.float32))
    grads = tape.gradient(loss, [x, *deconv.trainable_variables, *conv.trainable_variables])
    assert y.dtype == tf.bfloat16 and y.shape == (2, 7, 7, 8)
    assert all(np.all(np.isfinite(g.numpy())) and np.any(g.numpy() != 0) for g in grads)
