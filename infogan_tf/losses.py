"""The InfoGAN objective: pure functions from the model's outputs to named tuples of scalars.

As TF-GAN's ``gan_loss`` returns a ``GANLoss``, ``infogan_loss`` returns an
``InfoGANLoss``: the D loss, the G loss and the mutual-information terms per code group.
Each formula is written once; nothing here owns a variable or an optimiser.

The GAN terms are the original's ``-log(D(x) + 1e-8)`` forms computed from D's logit
(``-log sigmoid(l) = softplus(-l)``): the same values up to the 1e-8 the original added,
without its floor on the gradient once D saturates past |logit| ~ 18.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, NamedTuple

import tensorflow as tf

from infogan_tf.distributions import Categorical, DistInfo, Distribution
from infogan_tf.errors import ConfigError

if TYPE_CHECKING:
    from infogan_tf.models import Discrimination, RegularizedGAN


class NonFiniteLossError(ConfigError, FloatingPointError):
    """A loss, a logged quantity or a weight became NaN or Inf."""


class MutualInfo(NamedTuple):
    """The variational lower bound L_I = H(c) - CrossEnt, and its cross-entropy term."""

    mi: tf.Tensor
    cross_ent: tf.Tensor


class MutualInfoTerms(NamedTuple):
    """L_I in total and per code group ("disc": categorical and Bernoulli codes, "cont": Gaussian ones)."""

    total: MutualInfo
    groups: dict[str, MutualInfo]


class InfoGANLoss(NamedTuple):
    """One evaluation of the objective.

    ``discriminator_loss`` and ``generator_loss`` are the original's (GAN loss minus
    lambda * L_I; D's without the code groups it is told to leave to G), the values it
    logged; ``discriminator_objective`` is what D's
    optimiser minimises, which differs only in the baseline mode (``train_q`` with
    lambda = 0), where Q alone also maximises L_I on D's detached features.
    """

    discriminator_loss: tf.Tensor | None
    discriminator_objective: tf.Tensor | None
    generator_loss: tf.Tensor
    mutual_info: MutualInfoTerms | None


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


def mutual_info_terms(model: RegularizedGAN, z: tf.Tensor, reg_dist_info: DistInfo) -> MutualInfoTerms:
    """L_I of each code group of ``z`` under Q's posterior, and their sum (the original penalised the sum)."""
    groups = {name: mutual_info(dist, codes, info) for name, dist, codes, info in model.code_groups(z, reg_dist_info)}
    mi, cross_ent = tf.constant(0.0), tf.constant(0.0)
    for term in groups.values():
        mi += term.mi
        cross_ent += term.cross_ent
    return MutualInfoTerms(total=MutualInfo(mi=mi, cross_ent=cross_ent), groups=groups)


def categorical_mutual_info(model: RegularizedGAN, z: tf.Tensor, reg_dist_info: DistInfo) -> tf.Tensor:
    """L_I of the categorical codes of ``z`` alone, under Q's posterior ``reg_dist_info``, summed."""
    reg = model.reg_latent_dist
    pairs = zip(reg.dists, reg.split_var(model.reg_z(z)), reg.split_dist_info(reg_dist_info))
    return tf.add_n([mutual_info(dist, codes, info).mi for dist, codes, info in pairs if isinstance(dist, Categorical)])


def info_penalty(
    terms: MutualInfoTerms,
    info_reg_coeff: float,
    continuous_info_reg_coeff: float | None = None,
    leave_out: Collection[str] = (),
) -> tf.Tensor | None:
    """lambda * L_I as a loss subtracts it; None when every lambda is 0.

    The original weighted every code by one lambda; the paper (Sec. 6) uses a smaller one
    for continuous codes, which ``continuous_info_reg_coeff`` sets for the "cont" group.
    ``leave_out`` names groups whose L_I this loss does not penalise.
    """
    same_lambda = continuous_info_reg_coeff is None or continuous_info_reg_coeff == info_reg_coeff
    if same_lambda and not leave_out:
        return info_reg_coeff * terms.total.mi if info_reg_coeff else None
    weights = {"disc": info_reg_coeff, "cont": info_reg_coeff if same_lambda else continuous_info_reg_coeff}
    penalty = tf.constant(0.0)
    for name, term in terms.groups.items():
        if name not in leave_out:
            penalty += weights[name] * term.mi
    return penalty


class InfoRegularization(NamedTuple):
    """How L_I enters the objective: the original's one lambda, the paper's own for continuous codes, and more.

    ``train_q`` with every lambda 0 is the paper's baseline: Q alone still maximises L_I, on
    D's detached features. ``generator_only_groups``: code groups whose L_I trains G alone,
    left out of D's loss, so that D and Q do not learn to read those codes from G's images
    (something else, such as an extra term, has to train Q's head for them).
    """

    info_reg_coeff: float = 1.0
    continuous_info_reg_coeff: float | None = None
    train_q: bool = False
    generator_only_groups: tuple[str, ...] = ()


class LossScales(NamedTuple):
    """This update's multipliers, as tensors so that one traced step follows a schedule.

    ``info_scale`` multiplies every lambda (a schedule of it); ``generator_only_share`` (0 to 1)
    is how much of the generator-only groups' L_I D's loss leaves out, so that they can be
    handed over part-way through a run. None leaves the lambdas as they are and leaves
    all of it out.
    """

    info_scale: tf.Tensor | None = None
    generator_only_share: tf.Tensor | None = None


ORIGINAL_REGULARIZATION = InfoRegularization()
UNSCALED = LossScales()


def infogan_loss(
    model: RegularizedGAN,
    z: tf.Tensor,
    fake: Discrimination,
    real: Discrimination | None = None,
    regularization: InfoRegularization = ORIGINAL_REGULARIZATION,
    scales: LossScales = UNSCALED,
) -> InfoGANLoss:
    """The objective on latents ``z``, D and Q on G(z) (``fake``) and, for D's losses, D on real images.

    L_I is computed whenever D's losses are (it is logged) and whenever it is penalised.
    """
    info_reg_coeff, continuous_info_reg_coeff, train_q, generator_only_groups = regularization
    info_scale, generator_only_share = scales
    penalised = bool(info_reg_coeff or continuous_info_reg_coeff)
    q_only = train_q and not penalised
    terms = mutual_info_terms(model, z, fake.reg_dist_info) if penalised or real is not None else None
    lambdas = (info_reg_coeff, continuous_info_reg_coeff)
    penalty = info_penalty(terms, *lambdas) if penalised else None
    g_penalty = _scaled(penalty, info_scale)
    g_loss = generator_loss(fake.d_logit)
    if g_penalty is not None:
        g_loss -= g_penalty
    d_loss = d_objective = None
    if real is not None:
        d_loss = discriminator_loss(real.d_logit, fake.d_logit)
        d_penalty = g_penalty
        if penalised and generator_only_groups:
            kept = info_penalty(terms, *lambdas, generator_only_groups)
            if generator_only_share is not None:
                kept = penalty - generator_only_share * (penalty - kept)
            d_penalty = _scaled(kept, info_scale)
        if d_penalty is not None:
            d_loss -= d_penalty
        d_objective = d_loss - terms.total.mi if q_only else d_loss
    return InfoGANLoss(
        discriminator_loss=d_loss, discriminator_objective=d_objective, generator_loss=g_loss, mutual_info=terms
    )


def _scaled(penalty: tf.Tensor | None, info_scale: tf.Tensor | None) -> tf.Tensor | None:
    return penalty * info_scale if penalty is not None and info_scale is not None else penalty
