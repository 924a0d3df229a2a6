"""The invariance term: Q's categorical code of a real image should survive small changes of the image.

Beyond the paper: IIC's I(c; c') (Ji et al. 2019) between Q's categorical codes of real
images and of randomly warped copies, maximised in D's objective at the weight
``Invariance.coeff``. ``Invariance`` is its settings, ``InvarianceTerm`` the term the step
adds (``terms.ExtraTerm``); registering it here is what makes it known.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import tensorflow as tf

from infogan_tf import losses
from infogan_tf.distributions import Categorical
from infogan_tf.errors import ConfigValueError
from infogan_tf.invariance import augment
from infogan_tf.terms import ExtraTerm, register_term

if TYPE_CHECKING:
    from infogan_tf.models import Discrimination, RegularizedGAN

OVERCLUSTER_HEAD = "overcluster_head"
"""The name of the over-clustering head on D's body (its key in checkpoints and ``model.json``)."""


@dataclasses.dataclass(frozen=True)
class Invariance:
    """An option beyond the paper: Q's categorical code of a real image should survive small changes of it.

    D's objective also maximises ``coeff`` times I(c; c'), c and c' Q's categorical codes
    of real images x and of T(x), a random rotation (up to ``max_degrees``), scaling (by
    up to ``max_scale`` either way), shear (up to ``max_shear``), shift (up to
    ``max_shift`` pixels) and elastic distortion (Simard et al.'s alpha ``elastic``,
    smoothed over ``elastic_sigma`` pixels), as IIC (Ji et al. 2019) trains a clustering
    head. The shear is there because MNIST's look-alike digits that share categories are
    split by slant (a 4 or a 9 leaning left in one category, leaning right in another): a
    slant that T changes cannot name a category. ``deslant`` stands each copy upright
    first (sheared by its ink's own slant), so all slants of a digit are paired with one
    upright copy. With ``copies`` > 1 each image is paired with that many copies, each
    transformed anew, and the joint of c and c' is taken over all pairs (IIC's "sample
    repeats"): more pairs per real batch, at one more pass of D's body each. It uses no
    labels; G is trained as before, so the code still has to name what G draws. With
    several categorical codes, their terms add. ``overclusters`` > 1 adds IIC's auxiliary
    over-clustering head of that many clusters on D's body, trained by the same term
    with the same weight (finer clusters shape D's body); 0 adds none.

    ``erase``: after the warp, a square of this many pixels a side is blanked in each
    copy (Cutout), at a centre uniform over the image; 0 is none. The warps keep every
    stroke, so a style mark (the bar across a crossed 7) can still name a category of its
    own; a copy that may lose any small part of the digit cannot be read by that part.
    ``erased_copies`` of the ``copies`` are erased (the last ones; 0: all of them): an
    erased copy is harder to agree with, so the others keep I(c; c') within reach while
    Q's categories form.

    ``fakes``: G's images are transformed too, and both losses add ``coeff`` times the
    categorical codes' L_I read by Q through T, a lower bound on I(c; T(G(z, c))). A code
    that G writes as a slant or a position does not survive T, so G is pushed to write
    each category as something a small rotation, scaling or shift keeps (a digit's class).
    The continuous codes are read, as before, from the untransformed images.

    ``leads``: Q's categorical codes learn from this term alone, on real images; their
    L_I trains G (to draw what Q's clusters of real images name) and leaves D's loss, so
    G cannot teach Q to read a slant or a style that it happens to write as a category.
    The continuous codes' L_I trains D, Q and G as before.

    ``leads_from``: the update from which the term leads. Before it, L_I trains Q's
    categorical codes as without ``leads``: on its own the term leaves Q on IIC's plateau
    of a few clusters, while G's images give Q ten categories within a few hundred
    updates; from it on, the term alone reshapes them on real images and G has to follow.
    """

    coeff: float = 0.0
    max_degrees: float = 15.0
    max_shift: float = 2.0
    copies: int = 1
    max_scale: float = 0.0
    fakes: bool = False
    max_shear: float = 0.0
    elastic: float = 0.0
    elastic_sigma: float = 4.0
    deslant: bool = False
    leads: bool = False
    leads_from: int = 0
    erase: int = 0
    erased_copies: int = 0
    overclusters: int = 0

    def __post_init__(self) -> None:
        if self.overclusters == 1 or self.overclusters < 0:
            raise ValueError(
                f"an over-clustering head needs at least 2 clusters (or 0 for none), not {self.overclusters}"
            )
        if self.copies < 1:
            raise ValueError(f"the invariance term needs at least one copy per image, not {self.copies}")
        if not 0.0 <= self.max_scale < 1.0:
            raise ValueError(f"the invariance term's max_scale must be in [0, 1), not {self.max_scale}")
        if not 0.0 <= self.max_shear <= 1.0:
            raise ValueError(f"the invariance term's max_shear must be in [0, 1], not {self.max_shear}")
        if self.elastic < 0.0:
            raise ValueError(f"the invariance term's elastic alpha must be at least 0, not {self.elastic}")
        if self.elastic_sigma <= 0.0:
            raise ValueError(f"the invariance term's elastic_sigma must be above 0 pixels, not {self.elastic_sigma}")
        if self.erase < 0:
            raise ValueError(f"the invariance term's erased square needs a side of at least 0 pixels, not {self.erase}")
        if not 0 <= self.erased_copies <= self.copies:
            raise ValueError(
                f"the invariance term erases 0 to {self.copies} of its copies (0: all), not {self.erased_copies}"
            )
        if self.erased_copies and not self.erase:
            raise ValueError(
                f"the invariance term's erased_copies={self.erased_copies} says which copies lose a square: "
                "set erase too"
            )
        if self.leads_from < 0:
            raise ValueError(f"the invariance term leads from an update number, not {self.leads_from}")
        if self.leads_from and not self.leads:
            raise ValueError(f"leads_from={self.leads_from} says when the term starts leading: set leads too")
        if self.leads and self.fakes:
            raise ValueError(
                "the invariance term cannot both lead Q's categorical code (leads) and train it on G's images (fakes)"
            )

    @property
    def warp(self) -> augment.Warp:
        """The random changes of each copy, before any erasing."""
        return augment.Warp(
            self.max_degrees,
            self.max_shift,
            self.max_scale,
            self.max_shear,
            self.elastic,
            self.elastic_sigma,
            self.deslant,
        )

    def transform(self, x: tf.Tensor, model: RegularizedGAN, rng: tf.random.Generator, copies: int) -> list[tf.Tensor]:
        """``copies`` transformed copies of the batch ``x``."""
        blank = model.config.output_range[0]
        copied = [augment.random_warp(x, model.image_shape, rng, self.warp, blank) for _ in range(copies)]
        if not self.erase:
            return copied
        kept = len(copied) - min(self.erased_copies or len(copied), len(copied))
        erased = [augment.random_erase(c, model.image_shape, rng, self.erase, blank) for c in copied[kept:]]
        return copied[:kept] + erased

    def mutual_info(self, model: RegularizedGAN, real: Discrimination, copies: Sequence[Discrimination]) -> tf.Tensor:
        """I(c; c') of every categorical code, summed."""
        real_probs = model.categorical_probs(real.reg_dist_info)
        copy_probs = zip(*(model.categorical_probs(c.reg_dist_info) for c in copies))
        return tf.add_n([_paired_mutual_info(probs, copied) for probs, copied in zip(real_probs, copy_probs)])

    def overcluster_mutual_info(self, real: Discrimination, copies: Sequence[Discrimination]) -> tf.Tensor:
        """The same for the over-clustering head (IIC's auxiliary head: finer clusters shape D's body)."""
        return _paired_mutual_info(_overclusters(real), [_overclusters(c) for c in copies])


def _overclusters(seen: Discrimination) -> tf.Tensor:
    return tf.nn.softmax(seen.heads[OVERCLUSTER_HEAD])


def _paired_mutual_info(probs: tf.Tensor, copied: Sequence[tf.Tensor]) -> tf.Tensor:
    """IIC's I(c; c') from one joint over the pairs of ``probs``' rows with each of ``copied``'s."""
    tiled = tf.concat([probs] * len(copied), axis=0)
    return paired_cluster_mutual_info(tiled, tf.concat(list(copied), axis=0))


def paired_cluster_mutual_info(probs: tf.Tensor, transformed_probs: tf.Tensor) -> tf.Tensor:
    """I(c; c') of the cluster posteriors of images and of their transformed copies (IIC, Ji et al. 2019).

    From the joint of the two assignments over the batch, symmetrised: at most log K,
    reached when the clusters are used equally and an image and its copy always fall in
    the same one. Maximising it asks Q's categorical code to ignore what the transform
    changes, and to use every category.
    """
    joint = tf.matmul(probs, transformed_probs, transpose_a=True) / tf.cast(tf.shape(probs)[0], probs.dtype)
    joint = tf.maximum((joint + tf.transpose(joint)) / 2.0, 1e-12)
    marginal = tf.reduce_sum(joint, axis=1, keepdims=True)
    return tf.reduce_sum(joint * (tf.math.log(joint) - tf.math.log(marginal) - tf.math.log(tf.transpose(marginal))))


class InvarianceTerm(ExtraTerm):
    """``Invariance`` as a term of the update: its copies, its I(c; c'), its lead of Q's categorical code."""

    name = "invariance"

    def __init__(self, invariance: Invariance):
        self.invariance = invariance
        self.weight = invariance.coeff
        self.generator_only_groups = ("disc",) if invariance.leads else ()
        self._leads_share = (
            tf.Variable(0.0, trainable=False, name="leads_share")
            if invariance.leads and invariance.leads_from
            else None
        )
        """1 once the term leads (``Invariance.leads_from``), 0 before; set from the update number, never saved."""

    def settings(self) -> dict[str, Any]:
        return dataclasses.asdict(self.invariance)

    def discriminator_heads(self) -> dict[str, int]:
        return {OVERCLUSTER_HEAD: self.invariance.overclusters} if self.invariance.overclusters else {}

    def check(self, model: RegularizedGAN) -> None:
        invariance = self.invariance
        if not any(isinstance(d, Categorical) for d in model.reg_latent_dist.dists):
            raise ValueError("the invariance term needs a categorical code in the latent spec")
        if invariance.erase >= min(model.image_shape[:2]):
            raise ValueError(
                f"the invariance term's erased square ({invariance.erase} pixels a side) must be smaller than "
                f"the {model.image_shape[0]}x{model.image_shape[1]} images"
            )
        if invariance.leads and not all(isinstance(d, Categorical) for d in model.reg_disc_latent_dist.dists):
            raise ConfigValueError(
                "a leading invariance term ({invariance.leads}) trains only categorical codes, so Q would not learn "
                "the latent spec's Bernoulli codes: drop them or the option"
            )

    def log_keys(self, model: RegularizedGAN) -> list[str]:
        keys = ["MI_invariance"]
        if self.invariance.overclusters:
            keys.append("MI_overcluster")
        if self.invariance.fakes:
            keys.append("MI_disc_transformed")
        return keys

    def set_update(self, update: tf.Tensor | None) -> None:
        if self._leads_share is None:
            return
        if update is None:
            raise ValueError("a later lead of the invariance term (leads_from) needs the update: pass update=")
        self._leads_share.assign(tf.cast(update >= self.invariance.leads_from, tf.float32))

    def generator_only_share(self) -> tf.Tensor | None:
        return None if self._leads_share is None else self._leads_share.read_value()

    def discriminator_batches(
        self, real_x: tf.Tensor, fake_x: tf.Tensor, model: RegularizedGAN, rng: tf.random.Generator
    ) -> list[tf.Tensor]:
        """The real batch's copies, then (``fakes``) one of the fake batch's."""
        invariance = self.invariance
        copies = invariance.transform(real_x, model, rng, invariance.copies)
        return copies + invariance.transform(fake_x, model, rng, 1) if invariance.fakes else copies

    def discriminator_terms(
        self, model: RegularizedGAN, z: tf.Tensor, real: Discrimination, extra: Sequence[Discrimination]
    ) -> dict[str, tf.Tensor]:
        invariance, copied = self.invariance, list(extra)
        if invariance.fakes:
            *copied, fake_copy = copied
        terms = {"MI_invariance": invariance.mutual_info(model, real, copied)}
        if self.invariance.overclusters:
            terms["MI_overcluster"] = invariance.overcluster_mutual_info(real, copied)
        if invariance.fakes:
            terms["MI_disc_transformed"] = losses.categorical_mutual_info(model, z, fake_copy.reg_dist_info)
        return terms

    def adds_to_the_generator_step(self) -> bool:
        return self.invariance.fakes

    def generator_batches(self, fake_x: tf.Tensor, model: RegularizedGAN, rng: tf.random.Generator) -> list[tf.Tensor]:
        return self.invariance.transform(fake_x, model, rng, 1) if self.invariance.fakes else []

    def generator_terms(
        self, model: RegularizedGAN, z: tf.Tensor, fake: Discrimination, extra: Sequence[Discrimination]
    ) -> dict[str, tf.Tensor]:
        """``fakes``: the categorical codes' L_I read by Q through a transformed copy of G's images."""
        if not self.invariance.fakes:
            return {}
        (fake_copy,) = extra
        return {"MI_disc_transformed": losses.categorical_mutual_info(model, z, fake_copy.reg_dist_info)}


def build(invariance: Invariance) -> InvarianceTerm | None:
    return InvarianceTerm(invariance) if invariance.coeff else None


register_term("invariance", Invariance, build)
