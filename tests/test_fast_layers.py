import keras
import numpy as np
import pytest
import tensorflow as tf

from infogan_tf.fast_layers import FusedBatchNormalization, LeakyReLU


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
