"""Each distribution against an independent numpy/scipy computation."""

import math

import numpy as np
import pytest
import tensorflow as tf
from scipy import special, stats

from infogan_tf import losses
from infogan_tf.distributions import Bernoulli, Categorical, Gaussian, MeanBernoulli, Product, Uniform

RNG = np.random.default_rng(0)


def probs(n, k):
    return special.softmax(RNG.normal(size=(n, k)), axis=1).astype(np.float32)


def onehot(n, k):
    return np.eye(k, dtype=np.float32)[RNG.integers(0, k, n)]


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


class TestCategorical:
    def test_logli_entropy_kl(self):
        dist, p, q, x = Categorical(5), probs(8, 5), probs(8, 5), onehot(8, 5)
        close(dist.logli(x, dict(prob=p)), np.log(p[x.astype(bool)]))
        close(dist.entropy(dict(prob=p)), stats.entropy(p, axis=1))
        close(dist.kl(dict(prob=p), dict(prob=q)), special.rel_entr(p, q).sum(axis=1))
        close(dist.kl_prior(dict(prob=p)), special.rel_entr(p, np.full_like(p, 0.2)).sum(axis=1))
        close(dist.logli_prior(x), np.full(8, math.log(0.2)))

    def test_marginals_match_the_batch_mixture(self):
        dist, p, x = Categorical(4), probs(6, 4), onehot(6, 4)
        close(dist.marginal_logli(x, dict(prob=p)), np.log(p.mean(axis=0)[x.argmax(1)]))
        close(dist.marginal_entropy(dict(prob=p)), np.full(6, stats.entropy(p.mean(axis=0))))

    def test_samples_are_one_hot_with_the_prior_frequencies(self):
        samples = Categorical(10).sample_prior(20000, tf.random.Generator.from_seed(1)).numpy()
        assert samples.shape == (20000, 10)
        np.testing.assert_array_equal(samples.sum(axis=1), 1.0)
        freq = samples.mean(axis=0)
        assert np.all(np.abs(freq - 0.1) < 4 * math.sqrt(0.1 * 0.9 / 20000)), freq

    def test_samples_follow_given_probabilities(self):
        p = np.array([[0.7, 0.2, 0.1]], np.float32).repeat(20000, axis=0)
        freq = Categorical(3).sample(dict(prob=p), tf.random.Generator.from_seed(2)).numpy().mean(axis=0)
        close(freq, [0.7, 0.2, 0.1], tol=0.015)

    def test_seeded_sampling_is_reproducible(self):
        a = Categorical(10).sample_prior(64, tf.random.Generator.from_seed(3))
        b = Categorical(10).sample_prior(64, tf.random.Generator.from_seed(3))
        np.testing.assert_array_equal(a, b)


class TestGaussian:
    def test_logli_entropy_kl(self):
        dist = Gaussian(3)
        m1, s1, m2, s2 = RNG.normal(size=(4, 7, 3)).astype(np.float32)
        s1, s2 = np.exp(s1 * 0.3), np.exp(s2 * 0.3)
        x = RNG.normal(size=(7, 3)).astype(np.float32)
        close(dist.logli(x, dict(mean=m1, stddev=s1)), stats.norm.logpdf(x, m1, s1).sum(axis=1), tol=1e-4)
        close(dist.entropy(dict(mean=m1, stddev=s1)), stats.norm.entropy(m1, s1).sum(axis=1), tol=1e-4)
        kl = (np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5).sum(axis=1)
        close(dist.kl(dict(mean=m1, stddev=s1), dict(mean=m2, stddev=s2)), kl, tol=1e-4)
        close(dist.logli_prior(x), stats.norm.logpdf(x).sum(axis=1), tol=1e-4)

    def test_marginal_logli_is_the_mixture_density(self):
        dist = Gaussian(2)
        m, s = RNG.normal(size=(5, 2)).astype(np.float32), np.full((5, 2), 0.7, np.float32)
        x = RNG.normal(size=(5, 2)).astype(np.float32)
        pairwise = stats.norm.logpdf(x[:, None], m[None], s[None]).sum(axis=2)
        close(dist.marginal_logli(x, dict(mean=m, stddev=s)), special.logsumexp(pairwise, axis=1) - np.log(5), tol=1e-4)

    def test_activation(self):
        flat = RNG.normal(size=(4, 4)).astype(np.float32)
        info = Gaussian(2).activate_dist(flat)
        close(info["mean"], flat[:, :2])
        close(info["stddev"], np.sqrt(np.exp(flat[:, 2:])))
        fixed = Gaussian(2, fix_std=True)
        assert fixed.dist_flat_dim == 4
        close(fixed.activate_dist(flat)["stddev"], np.ones((4, 2)))

    def test_sample_statistics(self):
        mean, std = np.full((40000, 1), 2.0, np.float32), np.full((40000, 1), 0.5, np.float32)
        x = Gaussian(1).sample(dict(mean=mean, stddev=std), tf.random.Generator.from_seed(4)).numpy()
        assert abs(x.mean() - 2.0) < 0.01 and abs(x.std() - 0.5) < 0.01


class TestUniform:
    def test_prior_samples_cover_minus_one_to_one(self):
        x = Uniform(3).sample_prior(30000, tf.random.Generator.from_seed(5)).numpy()
        assert x.shape == (30000, 3) and x.min() >= -1 and x.max() <= 1
        assert np.all(np.abs(x.mean(axis=0)) < 0.02) and np.all(np.abs(x.var(axis=0) - 1 / 3) < 0.01)

    def test_prior_is_scored_as_uniform(self):
        x = np.array([[0.5, -0.9], [0.0, 1.0], [1.5, 0.0]], np.float32)
        logp = Uniform(2).logli_prior(x).numpy()
        close(logp[:2], 2 * stats.uniform.logpdf(0.0, loc=-1, scale=2))
        assert logp[2] == -np.inf

    def test_kl_prior_is_infinite(self):
        info = dict(mean=np.zeros((3, 1), np.float32), stddev=np.ones((3, 1), np.float32))
        assert np.all(Uniform(1).kl_prior(info).numpy() == np.inf)

    def test_fixing_the_prior_leaves_gradients_unchanged(self):
        codes = Uniform(2).sample_prior(16, tf.random.Generator.from_seed(6))
        flat = tf.Variable(RNG.normal(size=(16, 4)).astype(np.float32))
        values, grads = [], []
        for dist in (Uniform(2), Gaussian(2)):
            with tf.GradientTape() as tape:
                mi = losses.mutual_info(dist, codes, dist.activate_dist(flat)).mi
            values.append(float(mi))
            grads.append(tape.gradient(mi, flat).numpy())
        close(grads[0], grads[1])
        entropy_uniform = 2 * math.log(2)
        entropy_gaussian_estimate = np.mean(-stats.norm.logpdf(codes.numpy()).sum(axis=1))
        close(values[0] - values[1], entropy_uniform - entropy_gaussian_estimate, tol=1e-4)


class TestBernoulli:
    def test_logli_entropy_kl(self):
        dist = Bernoulli(4)
        p, q = special.expit(RNG.normal(size=(2, 6, 4))).astype(np.float32)
        x = (RNG.random((6, 4)) < 0.5).astype(np.float32)
        close(dist.logli(x, dict(p=p)), stats.bernoulli.logpmf(x, p).sum(axis=1), tol=1e-4)
        close(dist.entropy(dict(p=p)), stats.bernoulli.entropy(p).sum(axis=1), tol=1e-4)
        kl = (special.rel_entr(p, q) + special.rel_entr(1 - p, 1 - q)).sum(axis=1)
        close(dist.kl(dict(p=p), dict(p=q)), kl, tol=1e-4)
        close(dist.marginal_entropy(dict(p=p)), np.full(6, stats.bernoulli.entropy(p.mean(axis=0)).sum()), tol=1e-4)

    def test_sampling(self):
        p = np.full((20000, 2), [0.2, 0.9], np.float32)
        freq = Bernoulli(2).sample(dict(p=p), tf.random.Generator.from_seed(7)).numpy().mean(axis=0)
        close(freq, [0.2, 0.9], tol=0.015)

    def test_mean_bernoulli_samples_its_mean(self):
        p = special.expit(RNG.normal(size=(3, 5))).astype(np.float32)
        close(MeanBernoulli(5).sample(dict(p=p)), p)
        close(MeanBernoulli(5).nonreparam_logli(p, dict(p=p)), np.zeros(3))


class TestProduct:
    def make(self):
        return Product([Uniform(3), Categorical(4), Gaussian(1, fix_std=True), Bernoulli(2)])

    def test_dimensions(self):
        prod = self.make()
        assert prod.dims == [3, 4, 1, 2] and prod.dim == 10
        assert prod.dist_flat_dim == 6 + 4 + 2 + 2 and prod.effective_dim == 3 + 1 + 1 + 2
        assert prod.dist_info_keys == ["id_0_mean", "id_0_stddev", "id_1_prob", "id_2_mean", "id_2_stddev", "id_3_p"]

    def test_split_join_round_trips(self):
        prod = self.make()
        x = prod.sample_prior(5, tf.random.Generator.from_seed(8))
        parts = prod.split_var(x)
        assert [p.shape[1] for p in parts] == [3, 4, 1, 2]
        np.testing.assert_array_equal(prod.join_vars(parts), x)
        info = prod.activate_dist(tf.constant(RNG.normal(size=(5, 14)).astype(np.float32)))
        again = prod.join_dist_infos(prod.split_dist_info(info))
        assert again.keys() == info.keys()
        for k in info:
            np.testing.assert_array_equal(again[k], info[k])

    def test_sums_of_components(self):
        prod = self.make()
        flat = tf.constant(RNG.normal(size=(5, 14)).astype(np.float32))
        info = prod.activate_dist(flat)
        x = prod.sample_prior(5, tf.random.Generator.from_seed(9))
        parts, infos = prod.split_var(x), prod.split_dist_info(info)
        for method in ("logli", "nonreparam_logli"):
            expected = sum(getattr(d, method)(xi, ii) for d, xi, ii in zip(prod.dists, parts, infos))
            close(getattr(prod, method)(x, info), expected)
        close(prod.logli_prior(x), sum(d.logli_prior(xi) for d, xi in zip(prod.dists, parts)))
        close(prod.entropy(info), sum(d.entropy(ii) for d, ii in zip(prod.dists, infos)))

    def test_uniform_inside_a_product_keeps_its_own_prior(self):
        x = np.array([[0.25, 0.5]], np.float32)
        close(Product([Uniform(1), Uniform(1)]).logli_prior(x), [2 * math.log(0.5)])

    def test_nested_products(self):
        inner = Product([Categorical(3), Uniform(2)])
        outer = Product([Gaussian(1), inner])
        assert outer.dim == 6 and outer.dist_flat_dim == 2 + 3 + 4
        x = outer.sample_prior(4, tf.random.Generator.from_seed(10))
        info = outer.activate_dist(tf.constant(RNG.normal(size=(4, 9)).astype(np.float32)))
        assert "id_1_id_0_prob" in info
        _, (cat_x, uni_x) = outer.split_var(x)[0], inner.split_var(outer.split_var(x)[1])
        np.testing.assert_array_equal(cat_x.numpy().sum(axis=1), 1.0)
        assert np.all(np.abs(uni_x) <= 1)
        inner_info = outer.split_dist_info(info)[1]
        expected = Gaussian(1).logli(x[:, :1], outer.split_dist_info(info)[0]) + inner.logli(x[:, 1:], inner_info)
        close(outer.logli(x, info), expected)

    def test_gradients_flow_through_logli(self):
        prod = self.make()
        flat = tf.Variable(RNG.normal(size=(5, 14)).astype(np.float32))
        x = prod.sample_prior(5, tf.random.Generator.from_seed(11))
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(prod.logli(x, prod.activate_dist(flat)))
        grad = tape.gradient(loss, flat).numpy()
        assert np.all(np.isfinite(grad))
        fixed_std_columns = [11]  # Gaussian(1, fix_std) ignores its stddev logit
        moving = np.delete(grad, fixed_std_columns, axis=1)
        assert np.all(np.abs(moving).sum(axis=0) > 0)
        np.testing.assert_array_equal(grad[:, fixed_std_columns], 0.0)


@pytest.mark.parametrize("jit", [False, True])
def test_works_inside_compiled_functions(jit):
    prod = Product([Uniform(2), Categorical(3)])
    rng = tf.random.Generator.from_seed(12)

    @tf.function(jit_compile=jit)
    def score(flat):
        x = prod.sample_prior(4, rng)
        info = prod.activate_dist(flat)
        return prod.logli(x, info), prod.logli_prior(x), prod.entropy(info)

    flat = tf.constant(RNG.normal(size=(4, 7)).astype(np.float32))
    logli, prior, entropy = score(flat)
    assert logli.shape == prior.shape == entropy.shape == (4,)
    close(prior, np.full(4, 2 * math.log(0.5) + math.log(1 / 3)))


def test_mean_is_the_expected_value_for_every_family():
    p = np.array([[0.2, 0.8], [0.6, 0.4]], np.float32)
    mean, std = np.array([[0.5], [-1.0]], np.float32), np.array([[2.0], [0.1]], np.float32)
    close(Categorical(2).mean(dict(prob=p)), p)
    close(Bernoulli(2).mean(dict(p=p)), p)
    close(MeanBernoulli(2).mean(dict(p=p)), p)
    close(Gaussian(1).mean(dict(mean=mean, stddev=std)), mean)
    product = Product([Categorical(2), Gaussian(1)])
    info = product.join_dist_infos([dict(prob=p), dict(mean=mean, stddev=std)])
    close(product.mean(info), np.concatenate([p, mean], axis=1))
    draws = Gaussian(1).sample(dict(mean=np.repeat(mean, 4000, 0), stddev=np.repeat(std, 4000, 0)))
    close(np.asarray(draws).reshape(2, 4000).mean(axis=1), mean[:, 0], tol=0.1)  # the mean of samples
