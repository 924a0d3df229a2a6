import math

import numpy as np
import tensorflow as tf
from scipy import special

from infogan_tf import losses
from infogan_tf.distributions import Categorical, Product, Uniform

RNG = np.random.default_rng(1)


def test_gan_losses_equal_the_originals_log_forms():
    real, fake = RNG.normal(size=(2, 64)).astype(np.float32) * 2
    d_real, d_fake = special.expit(real), special.expit(fake)
    original_d = -np.mean(np.log(d_real + 1e-8) + np.log(1 - d_fake + 1e-8))
    original_g = -np.mean(np.log(d_fake + 1e-8))
    np.testing.assert_allclose(losses.discriminator_loss(real, fake), original_d, rtol=1e-4)
    np.testing.assert_allclose(losses.generator_loss(fake), original_g, rtol=1e-4)


def test_gan_losses_keep_a_gradient_when_d_saturates():
    fake = tf.Variable([-40.0])
    with tf.GradientTape() as tape:
        loss = losses.generator_loss(fake)
    assert float(tape.gradient(loss, fake)[0]) < -0.99


def test_mutual_info_bounds_for_a_categorical_code():
    dist, n = Categorical(10), 256
    codes = dist.sample_prior(n, tf.random.Generator.from_seed(0))
    perfect = losses.mutual_info(dist, codes, dict(prob=codes))
    np.testing.assert_allclose(perfect.mi, math.log(10), atol=1e-6)
    np.testing.assert_allclose(perfect.cross_ent, 0.0, atol=1e-6)
    ignorant = losses.mutual_info(dist, codes, dict(prob=tf.fill([n, 10], 0.1)))
    np.testing.assert_allclose(ignorant.mi, 0.0, atol=1e-6)


def test_mutual_info_of_a_uniform_code_uses_its_true_entropy():
    dist = Product([Uniform(1, fix_std=True)])
    codes = dist.sample_prior(512, tf.random.Generator.from_seed(1))
    info = dist.activate_dist(tf.concat([codes, tf.zeros_like(codes)], axis=1))
    term = losses.mutual_info(dist, codes, info)
    best_cross_ent = 0.5 * math.log(2 * math.pi)
    np.testing.assert_allclose(term.cross_ent, best_cross_ent, atol=1e-5)
    np.testing.assert_allclose(term.mi, math.log(2) - best_cross_ent, atol=1e-5)
