"""Distributions over latent codes and images: the likelihoods Q and G are scored with.

Port of ``infogan/misc/distributions.py``. A distribution is stateless: its parameters
travel in a ``dist_info`` dict of tensors (``dist_info_keys`` names them), so one object
describes a prior, Q's posterior and G's output alike. Every method is plain TF ops,
usable eagerly, inside ``tf.function`` and under XLA. Per-example reductions run over the
last axis, so ``logli`` also broadcasts over extra leading axes (``marginal_logli`` uses
that to score every example under every posterior of the batch).

Differences from the original, all written down in docs/differences.md:
- ``Uniform.logli_prior`` scores with the U(-1, 1) density (log 1/2 per dimension); the
  original used the N(0, 1) density, so its logged MI of continuous codes was off by a
  constant. The prior term has no trainable input, so gradients are unchanged.
- ``Uniform.kl_prior`` returns +inf (a Gaussian posterior has unbounded support); the
  original raised ``NotImplementedError`` from a method with the wrong signature.
- ``Product.logli_prior`` and ``kl_prior`` sum their components' own priors, so a Uniform
  inside a Product is scored as a Uniform.
- Entropies, KLs and marginals that the original left unimplemented are filled in where
  a closed form exists; sampling takes an optional ``tf.random.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

TINY = 1e-8
"""Added inside logarithms, exactly as the original did."""

DistInfo = dict[str, tf.Tensor]


def _rng(rng: tf.random.Generator | None) -> tf.random.Generator:
    return rng if rng is not None else tf.random.get_global_generator()


def _batch_size(dist_info: DistInfo) -> tf.Tensor:
    return tf.shape(next(iter(dist_info.values())))[0]


class Distribution:
    """A distribution whose parameters live in a ``dist_info`` dict."""

    @property
    def dim(self) -> int:
        """Width of one sample."""
        raise NotImplementedError

    @property
    def dist_flat_dim(self) -> int:
        """Width of the raw network output that ``activate_dist`` turns into dist_info."""
        raise NotImplementedError

    @property
    def effective_dim(self) -> int:
        """Degrees of freedom of one sample (a one-hot categorical counts as 1)."""
        raise NotImplementedError

    @property
    def dist_info_keys(self) -> list[str]:
        raise NotImplementedError

    def activate_dist(self, flat_dist: tf.Tensor) -> DistInfo:
        """Apply the nonlinearities that turn a network's raw output into parameters."""
        raise NotImplementedError

    def prior_dist_info(self, batch_size: int | tf.Tensor) -> DistInfo:
        raise NotImplementedError

    def logli(self, x_var: tf.Tensor, dist_info: DistInfo) -> tf.Tensor:
        """Log-likelihood of each example, shape ``x_var.shape[:-1]``."""
        raise NotImplementedError

    def nonreparam_logli(self, x_var: tf.Tensor, dist_info: DistInfo) -> tf.Tensor:
        """The part of ``logli`` whose gradient needs a score-function estimator."""
        raise NotImplementedError

    def kl(self, p: DistInfo, q: DistInfo) -> tf.Tensor:
        """KL(p || q) per example."""
        raise NotImplementedError

    def entropy(self, dist_info: DistInfo) -> tf.Tensor:
        """Entropy per example."""
        raise NotImplementedError

    def marginal_entropy(self, dist_info: DistInfo) -> tf.Tensor:
        """Entropy of the batch-averaged mixture, tiled to the batch like ``entropy``."""
        raise NotImplementedError

    def sample(self, dist_info: DistInfo, rng: tf.random.Generator | None = None) -> tf.Tensor:
        raise NotImplementedError

    def mean(self, dist_info: DistInfo) -> tf.Tensor:
        """The expected value, shaped like a sample: what an image grid shows of G's output."""
        raise NotImplementedError

    def logli_prior(self, x_var: tf.Tensor) -> tf.Tensor:
        return self.logli(x_var, self.prior_dist_info(tf.shape(x_var)[0]))

    def kl_prior(self, dist_info: DistInfo) -> tf.Tensor:
        return self.kl(dist_info, self.prior_dist_info(_batch_size(dist_info)))

    def sample_prior(self, batch_size: int | tf.Tensor, rng: tf.random.Generator | None = None) -> tf.Tensor:
        return self.sample(self.prior_dist_info(batch_size), rng)

    def marginal_logli(self, x_var: tf.Tensor, dist_info: DistInfo) -> tf.Tensor:
        """Log-likelihood of each example under the mixture of the batch's distributions.

        Exact for every family: log (1/N) sum_j p_j(x_i), by scoring each x_i under each
        dist_info_j (the N x N broadcast that the last-axis reductions allow).
        """
        pairwise = self.logli(x_var[:, None, :], {k: v[None] for k, v in dist_info.items()})
        n = tf.cast(tf.shape(pairwise)[1], pairwise.dtype)
        return tf.reduce_logsumexp(pairwise, axis=1) - tf.math.log(n)


class Categorical(Distribution):
    """One-hot categorical; dist_info ``prob``."""

    def __init__(self, dim: int):
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def dist_flat_dim(self) -> int:
        return self._dim

    @property
    def effective_dim(self) -> int:
        return 1

    @property
    def dist_info_keys(self) -> list[str]:
        return ["prob"]

    def activate_dist(self, flat_dist: tf.Tensor) -> DistInfo:
        return dict(prob=tf.nn.softmax(flat_dist))

    def prior_dist_info(self, batch_size: int | tf.Tensor) -> DistInfo:
        return dict(prob=tf.fill(tf.stack([batch_size, self._dim]), 1.0 / self._dim))

    def logli(self, x_var: tf.Tensor, dist_info: DistInfo) -> tf.Tensor:
        return tf.reduce_sum(tf.math.log(dist_info["prob"] + TINY) * x_var, axis=-1)

    def nonreparam_logli(self, x_var: tf.Tensor, dist_info: DistInfo) -> tf.Tensor:
        return self.logli(x_var, dist_info)

    def kl(self, p: DistInfo, q: DistInfo) -> tf.Tensor:
        p_prob, q_prob = p["prob"], q["prob"]
        return tf.reduce_sum(p_prob * (tf.math.log(p_prob + TINY) - tf.math.log(q_prob + TINY)), axis=-1)

    def entropy(self, dist_info: DistInfo) -> tf.Tensor:
        prob = dist_info["prob"]
        return -tf.reduce_sum(prob * tf.math.log(prob + TINY), axis=-1)

    def marginal_entropy(self, dist_info: DistInfo) -> tf.Tensor:
        prob = dist_info["prob"]
        avg_prob = tf.broadcast_to(tf.reduce_mean(prob, axis=0, keepdims=True), tf.shape(prob))
        return self.entropy(dict(prob=avg_prob))

    def sample(self, dist_info: DistInfo, rng: tf.random.Generator | None = None) -> tf.Tensor:
        """Gumbel-max sampling, so a seeded generator makes draws reproducible."""
        logits = tf.math.log(dist_info["prob"] + TINY)
        u = _rng(rng).uniform(tf.shape(logits), minval=np.finfo(np.float32).tiny, maxval=1.0)
        ids = tf.argmax(logits - tf.math.log(-tf.math.log(u)), axis=-1)
        return tf.one_hot(ids, self._dim)

    def mean(self, dist_info: DistInfo) -> tf.Tensor:
        return dist_info["prob"]


class Gaussian(Distribution):
    """Factorised Gaussian; dist_info ``mean`` and ``stddev``.

    With ``fix_std`` the network still emits ``2 * dim`` values (as the original), but the
    standard deviation is pinned to 1, so log-likelihoods reduce to a squared error.
    """

    def __init__(self, dim: int, fix_std: bool = False):
        self._dim = dim
        self._fix_std = fix_std

    @property
    def fix_std(self) -> bool:
        return self._fix_std

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def dist_flat_dim(self) -> int:
        return self._dim * 2

    @property
    def effective_dim(self) -> int:
        return self._dim

    @property
    def dist_info_keys(self) -> list[str]:
        return ["mean", "stddev"]

    def activate_dist(self, flat_dist: tf.Tensor) -> DistInfo:
        mean = flat_dist[:, : self._dim]
        stddev = tf.ones_like(mean) if self._fix_std else tf.sqrt(tf.exp(flat_dist[:, self._dim :]))
        return dict(mean=mean, stddev=stddev)

    def prior_dist_info(self, batch_size: int | tf.Tensor) -> DistInfo:
        shape = tf.stack([batch_size, self._dim])
        return dict(mean=tf.zeros(shape), stddev=tf.ones(shape))

    def logli(self, x_var: tf.Tensor, dist_info: DistInfo) -> tf.Tensor:
        mean, stddev = dist_info["mean"], dist_info["stddev"]
        epsilon = (x_var - mean) / (stddev + TINY)
        return tf.reduce_sum(
            -0.5 * math.log(2 * math.pi) - tf.math.log(stddev + TINY) - 0.5 * tf.square(epsilon),
            axis=-1,
        )

    def nonreparam_logli(self, x_var: tf.Tensor, dist_info: DistInfo) -> tf.Tensor:
        return tf.zeros_like(x_var[..., 0])

    def kl(self, p: DistInfo, q: DistInfo) -> tf.Tensor:
        numerator = tf.square(p["mean"] - q["mean"]) + tf.square(p["stddev"]) - tf.square(q["stddev"])
        denominator = 2.0 * tf.square(q["stddev"])
        return tf.reduce_sum(
            numerator / (denominator + TINY) + tf.math.log(q["stddev"] + TINY) - tf.math.log(p["stddev"] + TINY),
            axis=-1,
        )

    def entropy(self, dist_info: DistInfo) -> tf.Tensor:
        return tf.reduce_sum(0.5 * math.log(2 * math.pi * math.e) + tf.math.log(dist_info["stddev"] + TINY), axis=-1)

    def marginal_entropy(self, dist_info: DistInfo) -> tf.Tensor:
        raise NotImplementedError(
            "a mixture of Gaussians has no closed-form entropy; estimate it as "
            "-mean(marginal_logli(sample(dist_info), dist_info))"
        )

    def sample(self, dist_info: DistInfo, rng: tf.random.Generator | None = None) -> tf.Tensor:
        mean = dist_info["mean"]
        return mean + _rng(rng).normal(tf.shape(mean)) * dist_info["stddev"]

    def mean(self, dist_info: DistInfo) -> tf.Tensor:
        return dist_info["mean"]


class Uniform(Gaussian):
    """A U(-1, 1) prior whose posterior (Q's output) is modelled as a Gaussian.

    ``prior_dist_info`` stays the Gaussian N(0, 1) of the original, since dist_info
    describes the posterior family; the prior itself is scored and sampled as uniform.
    """

    LOW, HIGH = -1.0, 1.0

    def sample_prior(self, batch_size: int | tf.Tensor, rng: tf.random.Generator | None = None) -> tf.Tensor:
        return _rng(rng).uniform(tf.stack([batch_size, self._dim]), minval=self.LOW, maxval=self.HIGH)

    def logli_prior(self, x_var: tf.Tensor) -> tf.Tensor:
        inside = tf.logical_and(x_var >= self.LOW, x_var <= self.HIGH)
        log_density = tf.where(inside, -math.log(self.HIGH - self.LOW), -np.inf)
        return tf.reduce_sum(log_density, axis=-1)

    def kl_prior(self, dist_info: DistInfo) -> tf.Tensor:
        return tf.fill(tf.shape(dist_info["mean"])[:-1], np.inf)


class Bernoulli(Distribution):
    """Independent Bernoulli variables; dist_info ``p``."""

    def __init__(self, dim: int):
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def dist_flat_dim(self) -> int:
        return self._dim

    @property
    def effective_dim(self) -> int:
        return self._dim

    @property
    def dist_info_keys(self) -> list[str]:
        return ["p"]

    def activate_dist(self, flat_dist: tf.Tensor) -> DistInfo:
        return dict(p=tf.nn.sigmoid(flat_dist))

    def prior_dist_info(self, batch_size: int | tf.Tensor) -> DistInfo:
        return dict(p=tf.fill(tf.stack([batch_size, self._dim]), 0.5))

    def logli(self, x_var: tf.Tensor, dist_info: DistInfo) -> tf.Tensor:
        p = dist_info["p"]
        return tf.reduce_sum(x_var * tf.math.log(p + TINY) + (1.0 - x_var) * tf.math.log(1.0 - p + TINY), axis=-1)

    def nonreparam_logli(self, x_var: tf.Tensor, dist_info: DistInfo) -> tf.Tensor:
        return self.logli(x_var, dist_info)

    def kl(self, p: DistInfo, q: DistInfo) -> tf.Tensor:
        pp, qp = p["p"], q["p"]
        return tf.reduce_sum(
            pp * (tf.math.log(pp + TINY) - tf.math.log(qp + TINY))
            + (1.0 - pp) * (tf.math.log(1.0 - pp + TINY) - tf.math.log(1.0 - qp + TINY)),
            axis=-1,
        )

    def entropy(self, dist_info: DistInfo) -> tf.Tensor:
        p = dist_info["p"]
        return -tf.reduce_sum(p * tf.math.log(p + TINY) + (1.0 - p) * tf.math.log(1.0 - p + TINY), axis=-1)

    def marginal_entropy(self, dist_info: DistInfo) -> tf.Tensor:
        """Sum over dimensions of each dimension's marginal entropy (exact for dim 1)."""
        p = dist_info["p"]
        avg_p = tf.broadcast_to(tf.reduce_mean(p, axis=0, keepdims=True), tf.shape(p))
        return Bernoulli.entropy(self, dict(p=avg_p))

    def sample(self, dist_info: DistInfo, rng: tf.random.Generator | None = None) -> tf.Tensor:
        p = dist_info["p"]
        return tf.cast(_rng(rng).uniform(tf.shape(p)) < p, tf.float32)

    def mean(self, dist_info: DistInfo) -> tf.Tensor:
        return dist_info["p"]


class MeanBernoulli(Bernoulli):
    """A Bernoulli that 'samples' its mean: G's output image is the pixel probabilities."""

    def sample(self, dist_info: DistInfo, rng: tf.random.Generator | None = None) -> tf.Tensor:
        return dist_info["p"]

    def nonreparam_logli(self, x_var: tf.Tensor, dist_info: DistInfo) -> tf.Tensor:
        return tf.zeros_like(x_var[..., 0])


class MeanTanhGaussian(Gaussian):
    """G's output for images in [-1, 1] (DCGAN's tanh output): a unit-variance Gaussian whose mean is tanh(x).

    The network emits one value per pixel; 'sampling' returns the mean, as MeanBernoulli
    does for [0, 1] images.
    """

    def __init__(self, dim: int):
        super().__init__(dim, fix_std=True)

    @property
    def dist_flat_dim(self) -> int:
        return self._dim

    def activate_dist(self, flat_dist: tf.Tensor) -> DistInfo:
        mean = tf.tanh(flat_dist)
        return dict(mean=mean, stddev=tf.ones_like(mean))

    def sample(self, dist_info: DistInfo, rng: tf.random.Generator | None = None) -> tf.Tensor:
        return dist_info["mean"]


class Product(Distribution):
    """Independent components side by side: a latent vector is their concatenation.

    Component ``i``'s dist_info keys are prefixed ``id_<i>_``, as in the original, so
    Products nest.
    """

    def __init__(self, dists: Sequence[Distribution]):
        self._dists = list(dists)

    @property
    def dists(self) -> list[Distribution]:
        return list(self._dists)

    @property
    def dims(self) -> list[int]:
        return [d.dim for d in self._dists]

    @property
    def dist_flat_dims(self) -> list[int]:
        return [d.dist_flat_dim for d in self._dists]

    @property
    def dim(self) -> int:
        return sum(self.dims)

    @property
    def dist_flat_dim(self) -> int:
        return sum(self.dist_flat_dims)

    @property
    def effective_dim(self) -> int:
        return sum(d.effective_dim for d in self._dists)

    @property
    def dist_info_keys(self) -> list[str]:
        return [f"id_{i}_{k}" for i, d in enumerate(self._dists) for k in d.dist_info_keys]

    @staticmethod
    def _split_last_axis(x: tf.Tensor, widths: Sequence[int]) -> list[tf.Tensor]:
        bounds = np.cumsum([0, *widths])
        return [x[..., start:stop] for start, stop in zip(bounds[:-1], bounds[1:])]

    def split_var(self, x: tf.Tensor) -> list[tf.Tensor]:
        return self._split_last_axis(x, self.dims)

    def join_vars(self, xs: Sequence[tf.Tensor]) -> tf.Tensor:
        return tf.concat([tf.cast(x, tf.float32) for x in xs], axis=-1)

    def split_dist_flat(self, dist_flat: tf.Tensor) -> list[tf.Tensor]:
        return self._split_last_axis(dist_flat, self.dist_flat_dims)

    def split_dist_info(self, dist_info: DistInfo) -> list[DistInfo]:
        return [{k: dist_info[f"id_{i}_{k}"] for k in d.dist_info_keys} for i, d in enumerate(self._dists)]

    def join_dist_infos(self, dist_infos: Sequence[DistInfo]) -> DistInfo:
        return {
            f"id_{i}_{k}": info[k] for i, (d, info) in enumerate(zip(self._dists, dist_infos)) for k in d.dist_info_keys
        }

    def activate_dist(self, dist_flat: tf.Tensor) -> DistInfo:
        return self.join_dist_infos([d.activate_dist(f) for d, f in zip(self._dists, self.split_dist_flat(dist_flat))])

    def prior_dist_info(self, batch_size: int | tf.Tensor) -> DistInfo:
        return self.join_dist_infos([d.prior_dist_info(batch_size) for d in self._dists])

    def _sum_components(self, method: str, batch_shape: tf.Tensor, *per_component: Sequence) -> tf.Tensor:
        """The sum over components of ``component.method(*args)``, args taken per component."""
        total = tf.zeros(batch_shape)
        for dist, args in zip(self._dists, zip(*per_component)):
            total += getattr(dist, method)(*args)
        return total

    @staticmethod
    def _info_batch_shape(dist_info: DistInfo) -> tf.Tensor:
        first = next(iter(dist_info.values()), None)
        return tf.shape(first)[:-1] if first is not None else tf.constant([0])

    def logli(self, x_var: tf.Tensor, dist_info: DistInfo) -> tf.Tensor:
        return self._sum_components(
            "logli", tf.shape(x_var)[:-1], self.split_var(x_var), self.split_dist_info(dist_info)
        )

    def marginal_logli(self, x_var: tf.Tensor, dist_info: DistInfo) -> tf.Tensor:
        """Sum of each component's own batch mixture, as the original (not the joint mixture)."""
        shape = tf.shape(x_var)[:-1]
        return self._sum_components("marginal_logli", shape, self.split_var(x_var), self.split_dist_info(dist_info))

    def nonreparam_logli(self, x_var: tf.Tensor, dist_info: DistInfo) -> tf.Tensor:
        shape = tf.shape(x_var)[:-1]
        return self._sum_components("nonreparam_logli", shape, self.split_var(x_var), self.split_dist_info(dist_info))

    def logli_prior(self, x_var: tf.Tensor) -> tf.Tensor:
        return self._sum_components("logli_prior", tf.shape(x_var)[:-1], self.split_var(x_var))

    def kl(self, p: DistInfo, q: DistInfo) -> tf.Tensor:
        return self._sum_components("kl", self._info_batch_shape(p), self.split_dist_info(p), self.split_dist_info(q))

    def kl_prior(self, dist_info: DistInfo) -> tf.Tensor:
        return self._sum_components("kl_prior", self._info_batch_shape(dist_info), self.split_dist_info(dist_info))

    def entropy(self, dist_info: DistInfo) -> tf.Tensor:
        return self._sum_components("entropy", self._info_batch_shape(dist_info), self.split_dist_info(dist_info))

    def marginal_entropy(self, dist_info: DistInfo) -> tf.Tensor:
        shape = self._info_batch_shape(dist_info)
        return self._sum_components("marginal_entropy", shape, self.split_dist_info(dist_info))

    def sample(self, dist_info: DistInfo, rng: tf.random.Generator | None = None) -> tf.Tensor:
        return self.join_vars([d.sample(info, rng) for d, info in zip(self._dists, self.split_dist_info(dist_info))])

    def mean(self, dist_info: DistInfo) -> tf.Tensor:
        return self.join_vars([d.mean(info) for d, info in zip(self._dists, self.split_dist_info(dist_info))])

    def sample_prior(self, batch_size: int | tf.Tensor, rng: tf.random.Generator | None = None) -> tf.Tensor:
        return self.join_vars([d.sample_prior(batch_size, rng) for d in self._dists])
