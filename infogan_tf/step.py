"""One InfoGAN update: the model, the loss settings and two optimisers built elsewhere, a batch in, logs out.

Port of the update inside ``infogan/algos/infogan_trainer.py``. A D step (D and Q on a
real batch and a fake batch, loss minus lambda * L_I), then a G step on a fresh latent
sample (loss minus lambda * L_I), each with its own optimiser. The step owns no loop
and builds no optimiser, so the experiment can create both inside a ``tf.distribute``
scope; ``tf.function``/XLA wrap it from outside.

Under a strategy with several replicas, the latents of the global batch are drawn once
(cross-replica, so they do not depend on the replica count) and each replica takes its
rows, as it takes its rows of the real batch; each replica's losses are means over its
rows, divided by the replica count before the optimisers sum the replicas' gradients, so
the update is the global batch's. Logged scalars are averaged over replicas (max_/min_
ones take the max/min). A ``LossScaleOptimizer`` (mixed_float16) scales its loss. In
bfloat16 the step casts the dense kernels itself, once per phase (``weight_copies``).

Terms beyond the paper (``terms.ExtraTerm``) are added with their weights where the two
steps build their objectives; a ``LambdaSchedule`` may scale every lambda by the update
number; state that follows the weights without changing an update (G's moving average)
is a ``Follower``. The step knows them only through these interfaces, and a variant of the
update itself is a subclass that overrides ``generator_latents`` and ``replica_update``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import keras
import tensorflow as tf

from infogan_tf import losses, strategies, weight_copies
from infogan_tf.models import Discrimination, RegularizedGAN
from infogan_tf.terms import ExtraTerm, split_by_term
from infogan_tf.weight_copies import WeightCopies

if TYPE_CHECKING:
    from infogan_tf.config import TrainConfig


class Optimizers(NamedTuple):
    """D's (with Q's) and G's, built by the caller (in a strategy's scope, for a precision)."""

    discriminator: keras.optimizers.Optimizer
    generator: keras.optimizers.Optimizer


class Follower(Protocol):
    """What follows the weights after each update and changes no update (e.g. a moving average of G's weights)."""

    def settings(self) -> dict[str, Any]:
        """Its entries among the update's settings in ``run.json``."""

    def trackables(self) -> dict[str, Any]:
        """What checkpoints hold of it, by name."""

    def follow(self, model: RegularizedGAN, update: tf.Tensor | None) -> None:
        """After update ``update`` (how many came before it), in the compiled step."""


class LambdaSchedule(Protocol):
    """What scales every lambda by the update number (the original's is constant: no schedule)."""

    varies: bool
    """False: lambda as given on every update, and the step adds nothing to its graph."""

    def settings(self) -> dict[str, Any]:
        """Its entries among the update's settings in ``run.json``."""

    def share(self, update: tf.Tensor) -> tf.Tensor:
        """lambda's share (0 to 1) on update ``update`` (how many came before it)."""


def apply_gradients(optimizer: keras.optimizers.Optimizer, gradients: list, variables: list) -> None:
    """Apply the gradients that exist (a variable outside the loss's graph gets none)."""
    optimizer.apply_gradients([(g, v) for g, v in zip(gradients, variables) if g is not None])


class InfoGANStep:
    """Calling it runs one update on ``real_x`` and returns ``check_keys``' values as one float32 vector.

    ``train_q`` with ``info_reg_coeff=0`` is the paper's baseline (Fig. 1): a plain GAN
    whose Q head still learns to read the codes, on D's features with their gradient
    stopped, so L_I is measured but reaches neither G nor D's body.

    ``schedule`` scales every lambda by the update number; ``followers`` run after every
    update, across replicas (``Follower``).
    """

    def __init__(
        self,
        model: RegularizedGAN,
        optimizers: Optimizers,
        rng: tf.random.Generator,
        train: TrainConfig,
        strategy: tf.distribute.Strategy | None = None,
        terms: Sequence[ExtraTerm] = (),
        followers: Sequence[Follower] = (),
        schedule: LambdaSchedule | None = None,
    ):
        self.model = model
        self.batch_size = train.batch_size
        self.discriminator_optimizer, self.generator_optimizer = optimizers
        self.rng = rng
        self.info_reg_coeff = train.info_reg_coeff
        self.train_q = train.train_q
        self.continuous_info_reg_coeff = train.continuous_info_reg_coeff
        self.terms = tuple(terms)
        for term in self.terms:
            term.check(model)
        self.generator_only_groups = tuple(sorted({g for t in self.terms for g in t.generator_only_groups}))
        self.strategy = strategy or tf.distribute.get_strategy()
        self.replicas = self.strategy.num_replicas_in_sync
        self.replica_batch_size = strategies.replica_batch_size(self.strategy, self.batch_size)
        self.distributed = strategies.is_distributed(self.strategy)
        self.schedule = schedule
        self.info_scale = tf.Variable(1.0, trainable=False, name="info_scale") if schedule and schedule.varies else None
        """lambda's share this update (under a schedule that varies); set from the update number, never saved."""
        self.followers = tuple(followers)
        self.copied = weight_copies.copyable(model.keras_models.values())
        """The kernels each update casts itself (``weight_copies``; none outside bfloat16)."""
        self.discriminator_optimizer.build(model.discriminator_variables)
        self.generator_optimizer.build(model.generator_variables)
        self.learning_rates = tuple(float(keras.ops.convert_to_numpy(o.learning_rate)) for o in optimizers)
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
            **{term.name: term.settings() for term in self.terms},
            **(self.schedule.settings() if self.schedule else {}),
            **{key: value for follower in self.followers for key, value in follower.settings().items()},
            "precision": self.model.config.precision,
        }

    @property
    def trackables(self) -> dict[str, object]:
        """What a checkpoint holds for this step to continue exactly: weights, optimisers, latent RNG, followers."""
        return {
            "rng": self.rng,
            "discriminator_optimizer": self.discriminator_optimizer,
            "generator_optimizer": self.generator_optimizer,
            **self.model.keras_models,
            **{name: state for follower in self.followers for name, state in follower.trackables().items()},
        }

    def restored(self) -> None:
        """After a checkpoint was restored: put back the rates the optimisers were built with (it brings its own)."""
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
        for term in self.terms:
            keys += term.log_keys(self.model)
        return keys

    def _loss(self, z: tf.Tensor, fake: Discrimination, real: Discrimination | None = None) -> losses.InfoGANLoss:
        regularization = losses.InfoRegularization(
            self.info_reg_coeff, self.continuous_info_reg_coeff, self.train_q, self.generator_only_groups
        )
        shares = [share for share in (t.generator_only_share() for t in self.terms) if share is not None]
        scales = losses.LossScales(
            None if self.info_scale is None else self.info_scale.read_value(), shares[0] if shares else None
        )
        return losses.infogan_loss(self.model, z, fake, real, regularization, scales)

    def _objective(self, loss: tf.Tensor, optimizer: keras.optimizers.Optimizer) -> tf.Tensor:
        """What a replica differentiates: its loss as a share of the global batch's, loss-scaled where asked."""
        if self.replicas > 1:
            loss = loss / self.replicas
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            loss = optimizer.scale_loss(loss)
        return loss

    def copies(self, variables: list[tf.Variable]) -> WeightCopies:
        """``variables``' copies in the compute dtype, for the layers that read them (``weight_copies``)."""
        wanted = {id(v) for v in variables}
        return WeightCopies([v for v in self.copied if id(v) in wanted])

    def discriminator_step(self, real_x: tf.Tensor, z: tf.Tensor, fake_x: tf.Tensor) -> dict[str, tf.Tensor]:
        model = self.model
        variables = model.discriminator_variables
        q_only = self.train_q and not (self.info_reg_coeff or self.continuous_info_reg_coeff)
        batches = [t.discriminator_batches(real_x, fake_x, model, self.rng) for t in self.terms]
        copies = self.copies(variables)
        with tf.GradientTape() as tape, copies.reading():
            copies.watch(tape)
            real, fake, *extra = model.discriminate_real_fake_and_copies(
                real_x, fake_x, [b for term_batches in batches for b in term_batches], training=True, detach_q=q_only
            )
            loss = self._loss(z, fake, real)
            objective = loss.discriminator_objective
            term_values = {}
            for term, term_extra in zip(self.terms, split_by_term(extra, [len(b) for b in batches])):
                values = term.discriminator_terms(model, z, real, term_extra)
                for value in values.values():
                    objective -= term.weight * value
                term_values.update(values)
            objective = self._objective(objective, self.discriminator_optimizer)
        gradients = copies.gradients(tape, objective, variables, summed=self.replicas > 1)
        apply_gradients(self.discriminator_optimizer, gradients, variables)
        return {**self._logs(loss, real, fake), **term_values}

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

    def generator_step(self, z: tf.Tensor, copies: WeightCopies | None = None) -> tf.Tensor:
        """``copies``: G's, cast before the D step (G has not changed since); cast here if not given."""
        variables = self.model.generator_variables
        copies = self.copies(variables) if copies is None else copies
        discriminator_copies = self.copies(self.model.discriminator_variables)
        with tf.GradientTape() as tape, copies.reading(), discriminator_copies.reading():
            copies.watch(tape)
            fake_x, _ = self.model.generate(z, training=True)
            g_loss = self._generator_loss_with_terms(z, fake_x)
            objective = self._objective(g_loss, self.generator_optimizer)
        gradients = copies.gradients(tape, objective, variables, summed=self.replicas > 1)
        apply_gradients(self.generator_optimizer, gradients, variables)
        return g_loss

    def _generator_loss_with_terms(self, z: tf.Tensor, fake_x: tf.Tensor) -> tf.Tensor:
        """G's loss, less each term's G-step scalars times its weight (Q also reads the terms' batches)."""
        batches = [t.generator_batches(fake_x, self.model, self.rng) for t in self.terms]
        flat = [b for term_batches in batches for b in term_batches]
        if flat:
            fake, *extra = self.model.discriminate_with_copies(fake_x, flat, training=True)
        else:
            fake, extra = self.model.discriminate(fake_x, training=True), []
        g_loss = self._loss(z, fake).generator_loss
        for term, term_extra in zip(self.terms, split_by_term(extra, [len(b) for b in batches])):
            for value in term.generator_terms(self.model, z, fake, term_extra).values():
                g_loss -= term.weight * value
        return g_loss

    def __call__(
        self, real_x: tf.Tensor | tf.types.experimental.distributed.PerReplica, update: tf.Tensor | None = None
    ) -> tf.Tensor:
        """One update on a global batch (per-replica values under a strategy); its checks, reduced over replicas.

        ``update``: how many updates came before this one, which a schedule of lambda, a
        term's schedule and a follower that starts later need.
        """
        if self.info_scale is not None:
            if update is None:
                raise ValueError("a schedule of lambda needs the update number: pass update=")
            self.info_scale.assign(self.schedule.share(update))
        for term in self.terms:
            term.set_update(update)
        z = self.model.latent_dist.sample_prior(self.batch_size, self.rng)
        generator_z = self.generator_latents()
        if self.distributed:
            replica_checks = self.strategy.run(self.replica_update, args=(real_x, z, generator_z))
            checks = self.strategy.experimental_local_results(replica_checks)[0]
        else:
            checks = self.replica_update(real_x, z, generator_z)
        for follower in self.followers:
            follower.follow(self.model, update)
        return checks

    def generator_latents(self) -> tf.Tensor | None:
        """The G step's latent sample for the global batch, drawn after the D step's: a fresh one, as the original."""
        return self.model.latent_dist.sample_prior(self.batch_size, self.rng)

    def replica_update(self, real_x: tf.Tensor, z: tf.Tensor, generator_z: tf.Tensor | None) -> tf.Tensor:
        """The update on one replica's rows of the real batch and of the latents."""
        z, generator_z = self.own_rows(z), self.own_rows(generator_z)
        copies = self.copies(self.model.generator_variables)
        with copies.reading():
            fake_x, _ = self.model.generate(z, training=True)
        logs = self.discriminator_step(real_x, z, fake_x)
        return self.checks(logs, self.generator_step(generator_z, copies))

    def checks(self, logs: dict[str, tf.Tensor], g_loss: tf.Tensor) -> tf.Tensor:
        """``check_keys``' values as one float32 vector, reduced over replicas where there are several."""
        checks = tf.stack([*(tf.cast(logs[k], tf.float32) for k in self.log_keys), g_loss])
        return self._reduce(checks) if self.replicas > 1 else checks

    def own_rows(self, values: tf.Tensor | None) -> tf.Tensor | None:
        """This replica's rows of the global batch's ``values``."""
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
