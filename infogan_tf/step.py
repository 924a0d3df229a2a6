"""One InfoGAN update: the model, the loss settings and two optimisers built elsewhere, a batch in, logs out.

Port of the update inside ``infogan/algos/infogan_trainer.py``. A D step (D and Q on a
real batch and a fake batch, loss minus lambda * L_I), then a G step on a fresh latent
sample (loss minus lambda * L_I), each with its own optimiser; the G step reuses the D
step's sample and images only when asked (``reuse_fake_batch``). The step owns no loop
and builds no optimiser, so the experiment can create both inside a ``tf.distribute``
scope; ``tf.function``/XLA wrap it from outside.

Under a strategy with several replicas, the latents of the global batch are drawn once
(cross-replica, so they do not depend on the replica count) and each replica takes its
rows, as it takes its rows of the real batch; each replica's losses are means over its
rows, divided by the replica count before the optimisers sum the replicas' gradients, so
the update is the global batch's. Logged scalars are averaged over replicas (max_/min_
ones take the max/min). A ``LossScaleOptimizer`` (mixed_float16) scales its loss.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence

import keras
import tensorflow as tf

from infogan_tf import augment, averaging, losses, strategies
from infogan_tf.distributions import Categorical
from infogan_tf.models import Discrimination, RegularizedGAN


def apply_gradients(optimizer: keras.optimizers.Optimizer, gradients: list, variables: list) -> None:
    """Apply the gradients that exist (a variable outside the loss's graph gets none)."""
    optimizer.apply_gradients([(g, v) for g, v in zip(gradients, variables) if g is not None])


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
    several categorical codes, their terms add. A model with an over-clustering head
    (``ModelConfig.overclusters``) trains it by the same term, with the same weight.

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

    def __post_init__(self) -> None:
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

    def transform(self, x: tf.Tensor, model: RegularizedGAN, rng: tf.random.Generator, copies: int) -> list[tf.Tensor]:
        """``copies`` transformed copies of the batch ``x``."""
        blank = model.config.output_range[0]
        copied = [
            augment.random_warp(
                x,
                model.image_shape,
                rng,
                self.max_degrees,
                self.max_shift,
                blank,
                max_scale=self.max_scale,
                max_shear=self.max_shear,
                elastic=self.elastic,
                elastic_sigma=self.elastic_sigma,
                deslant=self.deslant,
            )
            for _ in range(copies)
        ]
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
        return _paired_mutual_info(real.overclusters, [c.overclusters for c in copies])


def _paired_mutual_info(probs: tf.Tensor, copied: Sequence[tf.Tensor]) -> tf.Tensor:
    """IIC's I(c; c') from one joint over the pairs of ``probs``' rows with each of ``copied``'s."""
    tiled = tf.concat([probs] * len(copied), axis=0)
    return losses.paired_cluster_mutual_info(tiled, tf.concat(list(copied), axis=0))


class InfoGANStep:
    """Calling it runs one update on ``real_x`` and returns ``check_keys``' values as one float32 vector.

    ``train_q`` with ``info_reg_coeff=0`` is the paper's baseline (Fig. 1): a plain GAN
    whose Q head still learns to read the codes, on D's features with their gradient
    stopped, so L_I is measured but reaches neither G nor D's body.

    ``reuse_fake_batch``: the G step trains on the D step's latents and images (through
    the updated D) instead of generating a fresh batch, saving G's second forward pass.
    Off by default: the original drew a new batch, and G's BatchNorm moving averages
    then move once per update instead of twice.

    ``info_reg_warmup``: beyond the original, every lambda grows linearly from 0 over that
    many updates, so that Q's clusters of real images (the invariance term) can form before
    G commits its categories to whatever GAN training happens to separate first.

    ``generator_average``: beyond the original, the decay of a moving average of G's
    weights taken in after every update (``averaging.WeightAverage``), for sampling; 0
    keeps none. It changes no update. ``generator_average_from``: the updates it leaves
    out at the start.
    """

    def __init__(
        self,
        model: RegularizedGAN,
        batch_size: int,
        discriminator_optimizer: keras.optimizers.Optimizer,
        generator_optimizer: keras.optimizers.Optimizer,
        rng: tf.random.Generator,
        info_reg_coeff: float = 1.0,
        train_q: bool = False,
        reuse_fake_batch: bool = False,
        continuous_info_reg_coeff: float | None = None,
        strategy: tf.distribute.Strategy | None = None,
        invariance: Invariance | None = None,
        info_reg_warmup: int = 0,
        generator_average: float = 0.0,
        generator_average_from: int = 0,
    ):
        self.model = model
        self.batch_size = batch_size
        self.discriminator_optimizer = discriminator_optimizer
        self.generator_optimizer = generator_optimizer
        self.rng = rng
        self.info_reg_coeff = info_reg_coeff
        self.train_q = train_q
        self.continuous_info_reg_coeff = continuous_info_reg_coeff
        self.invariance = invariance if invariance and invariance.coeff else None
        if self.invariance and not any(isinstance(d, Categorical) for d in model.reg_latent_dist.dists):
            raise ValueError("the invariance term needs a categorical code in the latent spec")
        if self.invariance and self.invariance.erase >= min(model.image_shape[:2]):
            raise ValueError(
                f"the invariance term's erased square ({self.invariance.erase} pixels a side) must be smaller than "
                f"the {model.image_shape[0]}x{model.image_shape[1]} images"
            )
        if model.overcluster_head is not None and not self.invariance:
            raise ValueError("an over-clustering head is trained only by the invariance term: set its coefficient > 0")
        if (
            self.invariance
            and self.invariance.leads
            and not all(isinstance(d, Categorical) for d in model.reg_disc_latent_dist.dists)
        ):
            raise ValueError(
                "a leading invariance term (--invariance_leads) trains only categorical codes, so Q would not learn "
                "the latent spec's Bernoulli codes: drop them or the option"
            )
        if self.invariance and self.invariance.fakes and reuse_fake_batch:
            raise ValueError("the invariance term on G's images needs G's own batch, not reuse_fake_batch")
        self.strategy = strategy or tf.distribute.get_strategy()
        self.replicas = self.strategy.num_replicas_in_sync
        self.replica_batch_size = strategies.replica_batch_size(self.strategy, batch_size)
        self.distributed = strategies.is_distributed(self.strategy)
        self.reuse_fake_batch = reuse_fake_batch
        if info_reg_warmup < 0:
            raise ValueError(f"the warm-up of lambda is a number of updates, not {info_reg_warmup}")
        self.info_reg_warmup = info_reg_warmup
        self.info_scale = tf.Variable(1.0, trainable=False, name="info_scale") if info_reg_warmup else None
        """lambda's share this update (a warm-up only); set from the update number, so never checkpointed."""
        delayed_lead = self.invariance is not None and self.invariance.leads and self.invariance.leads_from > 0
        self.leads_share = tf.Variable(0.0, trainable=False, name="leads_share") if delayed_lead else None
        """1 once the invariance term leads (``Invariance.leads_from``), 0 before; set from the update number."""
        self.generator_average = (
            averaging.WeightAverage(model.generator_state, generator_average, generator_average_from)
            if generator_average
            else None
        )
        discriminator_optimizer.build(model.discriminator_variables)
        generator_optimizer.build(model.generator_variables)
        self.learning_rates = tuple(
            float(keras.ops.convert_to_numpy(o.learning_rate)) for o in (discriminator_optimizer, generator_optimizer)
        )
        self.log_keys = self._log_keys()
        self.check_keys = [*self.log_keys, "generator_loss (G step)"]

    @property
    def settings(self) -> dict[str, object]:
        """What each update computes beyond the architecture, as JSON values.

        A run resumed with other values would be two experiments under one name, its
        ``flags.txt`` naming only the second, so ``run.json`` records these and a resume
        compares them (see ``checkpoints.check_compatible``).
        """
        d_rate, g_rate = self.learning_rates
        return {
            "discriminator_learning_rate": d_rate,
            "generator_learning_rate": g_rate,
            "info_reg_coeff": float(self.info_reg_coeff),
            "continuous_info_reg_coeff": float(
                self.info_reg_coeff if self.continuous_info_reg_coeff is None else self.continuous_info_reg_coeff
            ),
            "train_q": self.train_q,
            "reuse_fake_batch": self.reuse_fake_batch,
            "invariance": dataclasses.asdict(self.invariance) if self.invariance else None,
            "info_reg_warmup": self.info_reg_warmup,
            "generator_average": self.generator_average.decay if self.generator_average else 0.0,
            "generator_average_from": self.generator_average.start if self.generator_average else 0,
            "precision": self.model.config.precision,
        }

    @property
    def trackables(self) -> dict[str, object]:
        """What a checkpoint holds for this step to continue exactly: weights, optimisers, latent RNG, G's average."""
        average = {averaging.CHECKPOINT_KEY: self.generator_average} if self.generator_average else {}
        return {
            "rng": self.rng,
            "discriminator_optimizer": self.discriminator_optimizer,
            "generator_optimizer": self.generator_optimizer,
            **self.model.keras_models,
            **average,
        }

    def reset_learning_rates(self) -> None:
        """Put back the rates the optimisers were built with (a restored checkpoint brings its own)."""
        for optimizer, rate in zip((self.discriminator_optimizer, self.generator_optimizer), self.learning_rates):
            optimizer.learning_rate.assign(rate)

    def _log_keys(self) -> list[str]:
        """The original's log_vars, in its order."""
        keys = ["discriminator_loss", "generator_loss"]
        for suffix in self.model.code_group_names:
            keys += [f"MI_{suffix}", f"CrossEnt_{suffix}"]
        for idx, dist in enumerate(self.model.reg_latent_dist.dists):
            if "stddev" in dist.dist_info_keys:
                keys += [f"max_std_{idx}", f"min_std_{idx}"]
        keys += ["MI", "CrossEnt", "max_real_d", "min_real_d", "max_fake_d", "min_fake_d"]
        if self.invariance:
            keys.append("MI_invariance")
            if self.model.overcluster_head is not None:
                keys.append("MI_overcluster")
            if self.invariance.fakes:
                keys.append("MI_disc_transformed")
        return keys

    def _loss(self, z: tf.Tensor, fake: Discrimination, real: Discrimination | None = None) -> losses.InfoGANLoss:
        return losses.infogan_loss(
            self.model,
            z,
            fake,
            real,
            self.info_reg_coeff,
            self.train_q,
            self.continuous_info_reg_coeff,
            None if self.info_scale is None else self.info_scale.read_value(),
            ("disc",) if self.invariance and self.invariance.leads else (),
            None if self.leads_share is None else self.leads_share.read_value(),
        )

    def _objective(self, loss: tf.Tensor, optimizer: keras.optimizers.Optimizer) -> tf.Tensor:
        """What a replica differentiates: its loss as a share of the global batch's, loss-scaled where asked."""
        if self.replicas > 1:
            loss = loss / self.replicas
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            loss = optimizer.scale_loss(loss)
        return loss

    def discriminator_step(self, real_x: tf.Tensor, z: tf.Tensor, fake_x: tf.Tensor) -> dict[str, tf.Tensor]:
        model = self.model
        variables = model.discriminator_variables
        q_only = self.train_q and not (self.info_reg_coeff or self.continuous_info_reg_coeff)
        copies = self._copies(real_x, fake_x)
        with tf.GradientTape() as tape:
            real, fake, *copied = model.discriminate_real_fake_and_copies(
                real_x, fake_x, copies, training=True, detach_q=q_only
            )
            loss = self._loss(z, fake, real)
            objective = loss.discriminator_objective
            terms = self._invariance_terms(z, real, copied) if self.invariance else {}
            for term in terms.values():
                objective -= self.invariance.coeff * term
            objective = self._objective(objective, self.discriminator_optimizer)
        apply_gradients(self.discriminator_optimizer, tape.gradient(objective, variables), variables)
        return {**self._logs(loss, real, fake), **terms}

    def _copies(self, real_x: tf.Tensor, fake_x: tf.Tensor) -> list[tf.Tensor]:
        """The invariance term's transformed batches: the real batch's copies, then the fake batch's."""
        invariance = self.invariance
        if not invariance:
            return []
        copies = invariance.transform(real_x, self.model, self.rng, invariance.copies)
        return copies + invariance.transform(fake_x, self.model, self.rng, 1) if invariance.fakes else copies

    def _invariance_terms(
        self, z: tf.Tensor, real: Discrimination, copied: Sequence[Discrimination]
    ) -> dict[str, tf.Tensor]:
        """The parts of the invariance term that D's objective maximises, by the names they are logged under."""
        invariance, model = self.invariance, self.model
        if invariance.fakes:
            *copied, fake_copy = copied
        terms = {"MI_invariance": invariance.mutual_info(model, real, copied)}
        if model.overcluster_head is not None:
            terms["MI_overcluster"] = invariance.overcluster_mutual_info(real, copied)
        if invariance.fakes:
            terms["MI_disc_transformed"] = losses.categorical_mutual_info(model, z, fake_copy.reg_dist_info)
        return terms

    def _logs(self, loss: losses.InfoGANLoss, real: Discrimination, fake: Discrimination) -> dict[str, tf.Tensor]:
        terms = loss.mutual_info
        logs = {"discriminator_loss": loss.discriminator_loss, "generator_loss": loss.generator_loss}
        for suffix, term in terms.groups.items():
            logs[f"MI_{suffix}"], logs[f"CrossEnt_{suffix}"] = term.mi, term.cross_ent
        logs["MI"], logs["CrossEnt"] = terms.total.mi, terms.total.cross_ent
        for idx, dist_info in enumerate(self.model.reg_latent_dist.split_dist_info(fake.reg_dist_info)):
            if "stddev" in dist_info:
                logs[f"max_std_{idx}"] = tf.reduce_max(dist_info["stddev"])
                logs[f"min_std_{idx}"] = tf.reduce_min(dist_info["stddev"])
        for name, d in (("real_d", real.d), ("fake_d", fake.d)):
            logs[f"max_{name}"] = tf.reduce_max(d)
            logs[f"min_{name}"] = tf.reduce_min(d)
        return logs

    def generator_loss(self, z: tf.Tensor, fake_x: tf.Tensor) -> tf.Tensor:
        """G's loss on images ``fake_x`` of latents ``z``, through D and Q in training mode."""
        return self._loss(z, self.model.discriminate(fake_x, training=True)).generator_loss

    def generator_step(self, z: tf.Tensor) -> tf.Tensor:
        variables = self.model.generator_variables
        with tf.GradientTape() as tape:
            fake_x, _ = self.model.generate(z, training=True)
            if self.invariance and self.invariance.fakes:
                g_loss = self._generator_loss_with_transformed(z, fake_x)
            else:
                g_loss = self.generator_loss(z, fake_x)
            objective = self._objective(g_loss, self.generator_optimizer)
        apply_gradients(self.generator_optimizer, tape.gradient(objective, variables), variables)
        return g_loss

    def _generator_loss_with_transformed(self, z: tf.Tensor, fake_x: tf.Tensor) -> tf.Tensor:
        """G's loss, less the categorical codes' L_I read through a transformed copy of ``fake_x``."""
        copy = self.invariance.transform(fake_x, self.model, self.rng, 1)
        fake, fake_copy = self.model.discriminate_with_copies(fake_x, copy, training=True)
        transformed_mi = losses.categorical_mutual_info(self.model, z, fake_copy.reg_dist_info)
        return self._loss(z, fake).generator_loss - self.invariance.coeff * transformed_mi

    def generator_step_on(self, z: tf.Tensor, fake_x: tf.Tensor, generator_tape: tf.GradientTape) -> tf.Tensor:
        """The G step on the D step's batch: D's gradient at ``fake_x``, pulled back through G's recorded pass."""
        with tf.GradientTape() as tape:
            tape.watch(fake_x)
            g_loss = self.generator_loss(z, fake_x)
            objective = self._objective(g_loss, self.generator_optimizer)
        variables = self.model.generator_variables
        image_gradient = tape.gradient(objective, fake_x)
        apply_gradients(self.generator_optimizer, generator_tape.gradient(fake_x, variables, image_gradient), variables)
        return g_loss

    def __call__(
        self, real_x: tf.Tensor | tf.types.experimental.distributed.PerReplica, update: tf.Tensor | None = None
    ) -> tf.Tensor:
        """One update on a global batch (per-replica values under a strategy); its checks, reduced over replicas.

        ``update``: how many updates came before this one, which a warm-up of lambda, a
        later lead of the invariance term and a later start of G's average need.
        """
        if self.info_scale is not None:
            if update is None:
                raise ValueError("a warm-up of lambda (info_reg_warmup) needs the update number: pass update=")
            self.info_scale.assign(tf.minimum(1.0, tf.cast(update, tf.float32) / self.info_reg_warmup))
        if self.leads_share is not None:
            if update is None:
                raise ValueError("a later lead of the invariance term (leads_from) needs the update: pass update=")
            self.leads_share.assign(tf.cast(update >= self.invariance.leads_from, tf.float32))
        sample = self.model.latent_dist.sample_prior
        z = sample(self.batch_size, self.rng)
        generator_z = None if self.reuse_fake_batch else sample(self.batch_size, self.rng)
        if self.distributed:
            replica_checks = self.strategy.run(self.replica_update, args=(real_x, z, generator_z))
            checks = self.strategy.experimental_local_results(replica_checks)[0]
        else:
            checks = self.replica_update(real_x, z, generator_z)
        if self.generator_average:
            self.generator_average.update(self.model.generator_state, update)
        return checks

    def replica_update(self, real_x: tf.Tensor, z: tf.Tensor, generator_z: tf.Tensor | None) -> tf.Tensor:
        """The update on one replica's rows of the real batch and of the latents."""
        z, generator_z = self._own_rows(z), self._own_rows(generator_z)
        with tf.GradientTape() if self.reuse_fake_batch else contextlib.nullcontext() as generator_tape:
            fake_x, _ = self.model.generate(z, training=True)
        logs = self.discriminator_step(real_x, z, fake_x)
        if self.reuse_fake_batch:
            g_loss = self.generator_step_on(z, fake_x, generator_tape)
        else:
            g_loss = self.generator_step(generator_z)
        checks = tf.stack([*(tf.cast(logs[k], tf.float32) for k in self.log_keys), g_loss])
        return self._reduce(checks) if self.replicas > 1 else checks

    def _own_rows(self, values: tf.Tensor | None) -> tf.Tensor | None:
        if values is None or self.replicas == 1:
            return values
        local = self.replica_batch_size
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        return values[replica * local : (replica + 1) * local]

    def _reduce(self, checks: tf.Tensor) -> tf.Tensor:
        """In each replica: the checks of all replicas, gathered, then averaged (max_/min_ keys: max/min)."""
        gathered = tf.distribute.get_replica_context().all_gather(checks[None], axis=0)
        kind = tf.constant([1 if k.startswith("max_") else 2 if k.startswith("min_") else 0 for k in self.check_keys])
        mean, high, low = (f(gathered, axis=0) for f in (tf.reduce_mean, tf.reduce_max, tf.reduce_min))
        return tf.where(kind == 1, high, tf.where(kind == 2, low, mean))
