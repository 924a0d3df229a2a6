"""Pure loss functions: tensors in, scalars out, no model or optimiser inside.

The GAN terms are the original's ``-log(D(x) + 1e-8)`` forms computed from D's logit
(``-log sigmoid(l) = softplus(-l)``): the same values up to the 1e-8 the original added,
without its floor on the gradient once D saturates past |logit| ~ 18.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from infogan_tf.distributions import DistInfo, Distribution


class MutualInfo(NamedTuple):
    """The variational lower bound L_I = H(c) - CrossEnt, and its cross-entropy term."""

    mi: tf.Tensor
    cross_ent: tf.Tensor


def discriminator_loss(real_logit: tf.Tensor, fake_logit: tf.Tensor) -> tf.Tensor:
    """-E[log D(x)] - E[log(1 - D(G(z)))]."""
    return tf.reduce_mean(tf.nn.softplus(-real_logit) + tf.nn.softplus(fake_logit))


def generator_loss(fake_logit: tf.Tensor) -> tf.Tensor:
    """-E[log D(G(z))], the non-saturating generator loss."""
    return tf.reduce_mean(tf.nn.softplus(-fake_logit))


def mutual_info(dist: Distribution, codes: tf.Tensor, dist_info: DistInfo) -> MutualInfo:
    """L_I for codes drawn from ``dist``'s prior and Q's posterior ``dist_info`` of G(codes).

    H(c) is estimated on the same batch as E[-log prior(c)], as the original did; for a
    categorical prior it is exactly log K.
    """
    cross_ent = tf.reduce_mean(-dist.logli(codes, dist_info))
    entropy = tf.reduce_mean(-dist.logli_prior(codes))
    return MutualInfo(mi=entropy - cross_ent, cross_ent=cross_ent)
