import math

import numpy as np
import tensorflow as tf
from conftest import make_run
from scipy import special

from infogan_tf import losses
from infogan_tf.distributions import Categorical, Product, Uniform
from infogan_tf.invariance.term import paired_cluster_mutual_info
from infogan_tf.models import Discrimination, ModelConfig

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


def loss_of(model, z, fake, real=None, info_scale=None, generator_only_share=None, **regularization):
    """``losses.infogan_loss`` with its settings as keywords (``InfoRegularization``'s fields)."""
    scales = losses.LossScales(info_scale, generator_only_share)
    return losses.infogan_loss(model, z, fake, real, losses.InfoRegularization(**regularization), scales)


def test_the_whole_objective_matches_an_independent_computation(tmp_path):
    """L_I per group from numpy, and the D and G losses the original formed from them."""
    model = make_run(tmp_path).trainer.model
    z = model.latent_dist.sample_prior(8, tf.random.Generator.from_seed(0))
    x, _ = model.generate(z, training=False)
    fake, real = model.discriminate(x, training=False), model.discriminate(x[::-1], training=False, with_q=False)
    loss = loss_of(model, z, fake, real, info_reg_coeff=0.7)
    info = fake.reg_dist_info
    codes = z.numpy()[:, 62:72]
    cross_ent = -np.mean(np.sum(np.log(info["id_0_prob"].numpy() + 1e-8) * codes, axis=1))
    disc = loss.mutual_info.groups["disc"]
    np.testing.assert_allclose(disc.cross_ent, cross_ent, rtol=1e-5)
    np.testing.assert_allclose(disc.mi, np.log(10) - cross_ent, atol=1e-5)
    cont = z.numpy()[:, 72:]
    means = np.concatenate([info["id_1_mean"].numpy(), info["id_2_mean"].numpy()], axis=1)
    cont_ce = np.mean(np.sum(0.5 * np.log(2 * np.pi) + 0.5 * (cont - means) ** 2, axis=1))
    np.testing.assert_allclose(loss.mutual_info.groups["cont"].mi, 2 * np.log(2) - cont_ce, atol=1e-5)
    total_mi = np.log(10) - cross_ent + 2 * np.log(2) - cont_ce
    np.testing.assert_allclose(loss.mutual_info.total.mi, total_mi, atol=1e-5)
    d_real, d_fake = special.expit(real.d_logit.numpy()), special.expit(fake.d_logit.numpy())
    gan_d = -np.mean(np.log(d_real) + np.log(1 - d_fake))
    gan_g = -np.mean(np.log(d_fake))
    np.testing.assert_allclose(loss.discriminator_loss, gan_d - 0.7 * total_mi, rtol=1e-5)
    np.testing.assert_allclose(loss.discriminator_objective, loss.discriminator_loss)
    np.testing.assert_allclose(loss.generator_loss, gan_g - 0.7 * total_mi, rtol=1e-5)
    g_only = loss_of(model, z, fake, info_reg_coeff=0.7)
    assert g_only.discriminator_loss is None and float(g_only.generator_loss) == float(loss.generator_loss)


def test_the_papers_smaller_continuous_lambda_weights_only_the_continuous_codes(tmp_path):
    """lambda_disc * L_I(disc) + lambda_cont * L_I(cont), from the per-group terms checked above; 0 and 0 is the GAN."""
    model = make_run(tmp_path).trainer.model
    z = model.latent_dist.sample_prior(8, tf.random.Generator.from_seed(1))
    x, _ = model.generate(z, training=False)
    fake, real = model.discriminate(x, training=False), model.discriminate(x[::-1], training=False, with_q=False)
    loss = loss_of(model, z, fake, real, info_reg_coeff=1.0, continuous_info_reg_coeff=0.1)
    groups = loss.mutual_info.groups
    penalty = 1.0 * float(groups["disc"].mi) + 0.1 * float(groups["cont"].mi)
    gan_d = float(losses.discriminator_loss(real.d_logit, fake.d_logit))
    np.testing.assert_allclose(loss.discriminator_loss, gan_d - penalty, rtol=1e-5)
    np.testing.assert_allclose(loss.generator_loss, float(losses.generator_loss(fake.d_logit)) - penalty, rtol=1e-5)
    only_cont = loss_of(model, z, fake, real, info_reg_coeff=0.0, continuous_info_reg_coeff=0.5)
    np.testing.assert_allclose(only_cont.discriminator_loss, gan_d - 0.5 * float(groups["cont"].mi), rtol=1e-5)
    same = loss_of(model, z, fake, real, info_reg_coeff=0.7, continuous_info_reg_coeff=0.7)
    original = loss_of(model, z, fake, real, info_reg_coeff=0.7)
    assert float(same.generator_loss) == float(original.generator_loss)


def test_a_warm_up_scales_every_lambda_in_both_losses(tmp_path):
    model = make_run(tmp_path).trainer.model
    z = model.latent_dist.sample_prior(8, tf.random.Generator.from_seed(2))
    x, _ = model.generate(z, training=False)
    fake, real = model.discriminate(x, training=False), model.discriminate(x[::-1], training=False, with_q=False)
    scaled = loss_of(
        model, z, fake, real, info_reg_coeff=1.0, continuous_info_reg_coeff=0.1, info_scale=tf.constant(0.25)
    )
    groups = scaled.mutual_info.groups
    penalty = 0.25 * (1.0 * float(groups["disc"].mi) + 0.1 * float(groups["cont"].mi))
    gan_d = float(losses.discriminator_loss(real.d_logit, fake.d_logit))
    np.testing.assert_allclose(scaled.discriminator_loss, gan_d - penalty, rtol=1e-5)
    np.testing.assert_allclose(scaled.generator_loss, float(losses.generator_loss(fake.d_logit)) - penalty, rtol=1e-5)
    off = loss_of(model, z, fake, real, info_reg_coeff=1.0, info_scale=tf.constant(0.0))
    assert float(off.generator_loss) == float(losses.generator_loss(fake.d_logit))
    assert off.mutual_info.total.mi.numpy() != 0  # still measured and logged


def test_a_group_left_to_g_leaves_ds_loss_and_its_gradient_but_not_gs(tmp_path):
    """D's loss without lambda * L_I(disc), G's with it; no gradient reaches Q's categorical output from D's loss."""
    model = make_run(tmp_path).trainer.model
    z = model.latent_dist.sample_prior(8, tf.random.Generator.from_seed(3))
    x, _ = model.generate(z, training=False)
    flat = tf.Variable(tf.random.stateless_normal([8, model.reg_latent_dist.dist_flat_dim], [3, 0]))
    real = model.discriminate(x[::-1], training=False, with_q=False)
    d_logit = model.discriminate(x, training=False, with_q=False).d_logit
    with tf.GradientTape(persistent=True) as tape:
        fake = Discrimination(tf.sigmoid(d_logit), d_logit, model.reg_latent_dist.activate_dist(flat))
        loss = loss_of(model, z, fake, real, info_reg_coeff=0.7, generator_only_groups=("disc",))
    groups = loss.mutual_info.groups
    gan_d = float(losses.discriminator_loss(real.d_logit, d_logit))
    np.testing.assert_allclose(loss.discriminator_loss, gan_d - 0.7 * float(groups["cont"].mi), rtol=1e-5)
    total = float(groups["disc"].mi) + float(groups["cont"].mi)
    np.testing.assert_allclose(loss.generator_loss, float(losses.generator_loss(d_logit)) - 0.7 * total, rtol=1e-5)
    d_gradient = tape.gradient(loss.discriminator_objective, flat).numpy()
    g_gradient = tape.gradient(loss.generator_loss, flat).numpy()
    categorical, continuous = slice(0, 10), slice(10, None)
    assert not d_gradient[:, categorical].any() and d_gradient[:, continuous].any()
    assert g_gradient[:, categorical].any() and g_gradient[:, continuous].any()


def test_a_share_of_a_group_left_to_g_interpolates_ds_loss_and_leaves_gs(tmp_path):
    """Share 0: D's loss as if no group were left to G; share 1: without the group; between: in proportion."""
    model = make_run(tmp_path).trainer.model
    z = model.latent_dist.sample_prior(8, tf.random.Generator.from_seed(5))
    x, _ = model.generate(z, training=False)
    fake, real = model.discriminate(x, training=False), model.discriminate(x[::-1], training=False, with_q=False)
    whole = loss_of(model, z, fake, real, info_reg_coeff=0.7, info_scale=tf.constant(0.5))
    groups = whole.mutual_info.groups
    disc, cont = float(groups["disc"].mi), float(groups["cont"].mi)
    gan_d = float(losses.discriminator_loss(real.d_logit, fake.d_logit))
    for share in (0.0, 0.25, 1.0):
        loss = loss_of(
            model,
            z,
            fake,
            real,
            info_reg_coeff=0.7,
            info_scale=tf.constant(0.5),
            generator_only_groups=("disc",),
            generator_only_share=tf.constant(share),
        )
        expected = gan_d - 0.5 * 0.7 * ((1.0 - share) * disc + cont)
        np.testing.assert_allclose(loss.discriminator_loss, expected, rtol=1e-5, err_msg=f"share {share}")
        np.testing.assert_allclose(loss.generator_loss, whole.generator_loss, rtol=1e-6)


def test_the_baseline_trains_q_on_l_i_without_penalising_d_or_g(tmp_path):
    model = make_run(tmp_path).trainer.model
    z = model.latent_dist.sample_prior(8, tf.random.Generator.from_seed(0))
    x, _ = model.generate(z, training=False)
    fake, real = model.discriminate(x, training=False), model.discriminate(x, training=False, with_q=False)
    loss = loss_of(model, z, fake, real, info_reg_coeff=0.0, train_q=True)
    np.testing.assert_allclose(loss.discriminator_loss, losses.discriminator_loss(real.d_logit, fake.d_logit))
    np.testing.assert_allclose(loss.discriminator_objective, loss.discriminator_loss - loss.mutual_info.total.mi)
    np.testing.assert_allclose(loss.generator_loss, losses.generator_loss(fake.d_logit))
    assert loss_of(model, z, fake, info_reg_coeff=0.0).mutual_info is None  # G step: not computed


def numpy_iic(p: np.ndarray, q: np.ndarray) -> float:
    joint = p.T @ q / len(p)
    joint = (joint + joint.T) / 2
    pi, pj = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    return float(np.sum(joint * np.log(joint / (pi * pj))))


def test_paired_cluster_mutual_info_is_iics_and_bounded_by_log_k():
    rng = np.random.default_rng(0)
    p = special.softmax(rng.normal(size=(16, 5)), axis=1).astype(np.float32)
    q = special.softmax(rng.normal(size=(16, 5)), axis=1).astype(np.float32)
    np.testing.assert_allclose(paired_cluster_mutual_info(p, q), numpy_iic(p, q), rtol=1e-4)
    one_hot = np.eye(5, dtype=np.float32)[np.arange(20) % 5]
    np.testing.assert_allclose(paired_cluster_mutual_info(one_hot, one_hot), math.log(5), rtol=1e-5)
    uniform = np.full((20, 5), 0.2, np.float32)
    np.testing.assert_allclose(paired_cluster_mutual_info(uniform, one_hot), 0.0, atol=1e-6)


def test_categorical_mutual_info_is_log_k_less_the_cross_entropy_of_the_categorical_code_alone():
    model = ModelConfig("uniform:3,categorical:4:reg,uniform:2:reg,categorical:3:reg", (28, 28, 1)).build()
    z = model.latent_dist.sample_prior(32, tf.random.Generator.from_seed(3))
    reg = model.reg_latent_dist
    info = reg.activate_dist(tf.random.stateless_normal([32, reg.dist_flat_dim], [0, 2]))
    probs = [info["id_0_prob"].numpy(), info["id_2_prob"].numpy()]
    codes = [z[:, 3:7].numpy().argmax(1), z[:, 9:12].numpy().argmax(1)]
    expected = sum(math.log(p.shape[1]) + np.mean(np.log(p[np.arange(32), c])) for p, c in zip(probs, codes))
    np.testing.assert_allclose(losses.categorical_mutual_info(model, z, info), expected, rtol=1e-5)
