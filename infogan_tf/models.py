"""The model factory (``ModelConfig``) and RegularizedGAN, the latent vocabulary of InfoGAN bound to G, D and Q.

Port of ``infogan/models/regularized_gan.py``. The original had eight near-identical
methods that pick some codes out of a latent vector or a dist_info (reg / nonreg,
discrete / continuous). Here one mechanism does it: a ``_Selection`` names which
components of a parent Product go into a child Product, and moves values either way.

``ModelConfig`` is the one way to build a model: it records everything that shapes one,
and it is what a run's ``model.json`` holds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import keras
import tensorflow as tf

from infogan_tf.distributions import (
    Bernoulli,
    Categorical,
    DistInfo,
    Distribution,
    Gaussian,
    MeanBernoulli,
    MeanTanhGaussian,
    Product,
)
from infogan_tf.latent_spec import format_latent_spec, parse_latent_spec
from infogan_tf.networks import (
    AUTO,
    ORIGINAL_LEAK,
    LayerKit,
    apply_per_batch,
    build_networks,
    network_for,
    resolve_layer_kit,
)

OUTPUT_DISTRIBUTIONS: dict[str, Callable[[int], Distribution]] = {
    "mean_bernoulli": MeanBernoulli,
    "mean_tanh_gaussian": MeanTanhGaussian,
}
"""G's output distribution by name, built for the image's number of values."""

OUTPUT_RANGES: dict[str, tuple[float, float]] = {"mean_bernoulli": (0.0, 1.0), "mean_tanh_gaussian": (-1.0, 1.0)}
"""The values G's mean image takes under each output distribution (what a PNG maps to 0 and 255)."""


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Everything that shapes a RegularizedGAN; ``build()`` makes one, ``model.json`` stores one.

    ``architecture`` fields fix the variables and the function, so a resume must keep
    them; ``precision``, ``layer_kit`` and ``sync_batch_norm`` (BatchNorm statistics over
    the global batch, not each replica's) only choose how it is computed (same
    variables). A run may resume under another layer kit or BatchNorm sync, e.g. on GPUs;
    the precision changes the update, so ``run.json`` holds it and only a new run started
    from the checkpoint may change it.

    ``heads`` names dense heads beyond D and Q on D's body, by their number of outputs:
    an extra term (``terms.ExtraTerm.discriminator_heads``) asks for them and trains
    them; the original's model has none.
    """

    latent_spec: str
    image_shape: tuple[int, int, int]
    network_type: str = "mnist"
    output_dist: str = "mean_bernoulli"
    leak: float = ORIGINAL_LEAK
    precision: str = "float32"
    layer_kit: str = "auto"
    sync_batch_norm: bool = False
    heads: Mapping[str, int] = dataclasses.field(default_factory=dict)

    ARCHITECTURE = ("network_type", "latent_spec", "image_shape", "output_dist", "leak", "heads")

    def __post_init__(self) -> None:
        object.__setattr__(self, "latent_spec", format_latent_spec(parse_latent_spec(self.latent_spec)))
        object.__setattr__(self, "image_shape", tuple(int(d) for d in self.image_shape))
        object.__setattr__(self, "leak", float(self.leak))
        object.__setattr__(self, "heads", {str(k): int(v) for k, v in sorted(dict(self.heads).items())})
        small = {name: outputs for name, outputs in self.heads.items() if outputs < 1}
        if small:
            raise ValueError(f"a head on D's body needs at least one output, not {small}")
        if self.output_dist not in OUTPUT_DISTRIBUTIONS:
            raise ValueError(
                f"unknown output distribution '{self.output_dist}'; known: {', '.join(sorted(OUTPUT_DISTRIBUTIONS))}"
            )

    @classmethod
    def for_dataset(cls, dataset: Any, latent_spec: str, **kwargs: Any) -> ModelConfig:
        """The config for ``dataset``'s images (shape and output distribution from the dataset itself).

        ``network_type="auto"`` is the network built for the images' size (``networks.network_for``).
        """
        if kwargs.get("network_type") == AUTO:
            kwargs["network_type"] = network_for(dataset.image_shape)
        return cls(latent_spec, dataset.image_shape, output_dist=dataset.output_dist, **kwargs)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelConfig:
        """Read ``model.json``.

        Files written before the output distribution, precision and layer kit were
        recorded get the defaults they were written under.
        """
        data = dict(data)
        heads = data.pop("heads", {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}")
        return cls(**data, heads=heads)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def architecture(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.ARCHITECTURE}

    @property
    def output_range(self) -> tuple[float, float]:
        return OUTPUT_RANGES[self.output_dist]

    def build(self) -> RegularizedGAN:
        return RegularizedGAN(self)


class Discrimination(NamedTuple):
    """What one pass of D's body gives: D's verdict and Q's posterior over reg codes.

    The original returned a sample from Q as well; it was never used in training, so it
    is not drawn here (``reg_latent_dist.sample(reg_dist_info)`` draws one). Q alone on
    transformed copies of real images (for an extra term) leaves D's fields None;
    ``heads`` holds the outputs of the model's extra heads (``ModelConfig.heads``) by
    name, where they were run.
    """

    d: tf.Tensor | None
    d_logit: tf.Tensor | None
    reg_dist_info: DistInfo | None
    heads: Mapping[str, tf.Tensor] | None = None


@dataclasses.dataclass(frozen=True)
class _Selection:
    """Components ``keep`` of ``parent`` form ``child``; move latents and dist_infos between them."""

    parent: Product
    child: Product
    keep: tuple[bool, ...]

    @classmethod
    def where(cls, parent: Product, keep: Sequence[bool]) -> _Selection:
        keep = tuple(keep)
        return cls(parent, Product([d for d, k in zip(parent.dists, keep) if k]), keep)

    def var(self, x: tf.Tensor) -> tf.Tensor:
        parts = [x_i for x_i, k in zip(self.parent.split_var(x), self.keep) if k]
        return self.child.join_vars(parts) if parts else x[..., :0]

    def dist_info(self, info: DistInfo) -> DistInfo:
        parts = [i for i, k in zip(self.parent.split_dist_info(info), self.keep) if k]
        return self.child.join_dist_infos(parts)


class RegularizedGAN:
    """G(z, c), and D with Q on a shared body, as ``config`` describes them (build one with ``config.build()``).

    ``latent_spec`` lists (distribution, is_reg) in latent-vector order.
    """

    def __init__(self, config: ModelConfig):
        self.config = config
        self.output_dist = OUTPUT_DISTRIBUTIONS[config.output_dist](math.prod(config.image_shape))
        self.latent_spec = parse_latent_spec(config.latent_spec)
        self.image_shape = config.image_shape
        unsupported = [
            d for d, reg in self.latent_spec if reg and not isinstance(d, (Gaussian, Categorical, Bernoulli))
        ]
        if unsupported:
            raise ValueError(
                f"regularised codes must be Gaussian, Uniform, Categorical or Bernoulli, not {unsupported}"
            )

        self.latent_dist = Product([d for d, _ in self.latent_spec])
        is_reg = [reg for _, reg in self.latent_spec]
        self._reg = _Selection.where(self.latent_dist, is_reg)
        self._nonreg = _Selection.where(self.latent_dist, [not r for r in is_reg])
        self.reg_latent_dist = self._reg.child
        self.nonreg_latent_dist = self._nonreg.child
        reg_dists = self.reg_latent_dist.dists
        self._disc = _Selection.where(
            self.reg_latent_dist, [isinstance(d, (Categorical, Bernoulli)) for d in reg_dists]
        )
        self._cont = _Selection.where(self.reg_latent_dist, [isinstance(d, Gaussian) for d in reg_dists])
        self.reg_disc_latent_dist = self._disc.child
        self.reg_cont_latent_dist = self._cont.child

        kit = LayerKit(resolve_layer_kit(config.layer_kit), config.precision, config.sync_batch_norm)
        self.networks = build_networks(
            config.network_type,
            kit,
            image_shape=self.image_shape,
            latent_dim=self.latent_dist.dim,
            q_flat_dim=self.reg_latent_dist.dist_flat_dim,
            output_flat_dim=self.output_dist.dist_flat_dim,
            leak=config.leak,
        )
        features = self.networks.d_body.output_shape[-1]
        self.heads = {
            name: keras.Sequential([keras.Input((features,)), kit.dense(outputs)], name=name)
            for name, outputs in config.heads.items()
        }
        """The extra heads on D's body, by name (what ``ModelConfig.heads`` asks for)."""

    @property
    def generator_variables(self) -> list[tf.Variable]:
        return list(self.networks.generator.trainable_variables)

    @property
    def generator_state(self) -> list[tf.Variable]:
        """Every variable G's inference reads: its weights and its BatchNorm statistics."""
        return list(self.networks.generator.variables)

    @property
    def discriminator_variables(self) -> list[tf.Variable]:
        models = (*self.networks.discriminator_models, *self.heads.values())
        return [v for m in models for v in m.trainable_variables]

    @property
    def keras_models(self) -> dict[str, keras.Model]:
        """The stacks by name, for checkpoints and summaries."""
        return {**{f.name: getattr(self.networks, f.name) for f in dataclasses.fields(self.networks)}, **self.heads}

    def discriminate(
        self, x_var: tf.Tensor, training: bool = False, detach_q: bool = False, with_q: bool = True
    ) -> Discrimination:
        """One body pass feeds both heads (the original ran the body once per head).

        ``detach_q`` stops Q's gradient at the shared body, so Q can be trained to read a
        plain GAN's images without shaping D's features. ``with_q=False`` skips Q (its
        fields are None): the D step needs no Q of real images, and the original's graph
        never ran it there, so Q's BatchNorm statistics see generated images only.
        """
        body = self.networks.d_body(x_var, training=training)
        return self._heads(body, self.networks.d_head(body, training=training), training, detach_q, with_q)

    def discriminate_real_and_fake(
        self, real_x: tf.Tensor, fake_x: tf.Tensor, training: bool = False, detach_q: bool = False
    ) -> tuple[Discrimination, Discrimination]:
        """``discriminate(real_x, with_q=False)`` then ``discriminate(fake_x)``, as one pass of D's body.

        What the D step needs. Each batch keeps its own BatchNorm statistics, as with two
        calls (see ``networks.apply_per_batch``); only the fake batch goes through Q.
        """
        real, fake = self.discriminate_real_fake_and_copies(real_x, fake_x, (), training, detach_q)
        return real, fake

    def discriminate_real_fake_and_copies(
        self,
        real_x: tf.Tensor,
        fake_x: tf.Tensor,
        copies: Sequence[tf.Tensor],
        training: bool = False,
        detach_q: bool = False,
    ) -> list[Discrimination]:
        """``discriminate_real_and_fake``, and Q (not D) on each of ``copies``; with copies, Q on real images too.

        For an extra term that compares Q's reading of real images with its reading of
        the batches it makes from them (``ExtraTerm.discriminator_batches``), and the
        extra heads' where the model has any. One pass of D's body over all batches, each with its own BatchNorm
        statistics.
        """
        bodies = apply_per_batch(self.networks.d_body, [real_x, fake_x, *copies], training)
        real_logit, fake_logit = apply_per_batch(self.networks.d_head, bodies[:2], training)
        if not copies:
            return [
                self._heads(bodies[0], real_logit, training, detach_q=False, with_q=False),
                self._heads(bodies[1], fake_logit, training, detach_q=detach_q, with_q=True),
            ]
        real = self._heads(bodies[0], real_logit, training, detach_q=False, with_q=True)
        fake = self._heads(bodies[1], fake_logit, training, detach_q=detach_q, with_q=True)
        copied = [Discrimination(d=None, d_logit=None, reg_dist_info=self._posterior(b, training)) for b in bodies[2:]]
        if self.heads:
            real = real._replace(heads=self._extra_heads(bodies[0]))
            copied = [c._replace(heads=self._extra_heads(b)) for c, b in zip(copied, bodies[2:])]
        return [real, fake, *copied]

    def discriminate_with_copies(
        self, x: tf.Tensor, copies: Sequence[tf.Tensor], training: bool = False
    ) -> list[Discrimination]:
        """``discriminate(x)``, and Q alone on each of ``copies``: one pass of D's body, statistics per batch."""
        bodies = apply_per_batch(self.networks.d_body, [x, *copies], training)
        return [
            self._heads(bodies[0], self.networks.d_head(bodies[0], training=training), training, False, True),
            *(Discrimination(d=None, d_logit=None, reg_dist_info=self._posterior(b, training)) for b in bodies[1:]),
        ]

    def _extra_heads(self, body: tf.Tensor) -> dict[str, tf.Tensor]:
        return {name: tf.cast(head(body), tf.float32) for name, head in self.heads.items()}

    def categorical_probs(self, reg_dist_info: DistInfo) -> list[tf.Tensor]:
        """Q's posterior probabilities of each categorical code, in the latent spec's order."""
        infos = self.reg_latent_dist.split_dist_info(reg_dist_info)
        return [info["prob"] for dist, info in zip(self.reg_latent_dist.dists, infos) if isinstance(dist, Categorical)]

    def _heads(
        self, body: tf.Tensor, d_head_out: tf.Tensor, training: bool, detach_q: bool, with_q: bool
    ) -> Discrimination:
        """D's verdict from its head's output, and Q's posterior from the body when ``with_q``."""
        d_logit = tf.cast(d_head_out[:, 0], tf.float32)
        reg_dist_info = self._posterior(body, training, detach_q) if with_q else None
        return Discrimination(d=tf.nn.sigmoid(d_logit), d_logit=d_logit, reg_dist_info=reg_dist_info)

    def _posterior(self, body: tf.Tensor, training: bool, detach_q: bool = False) -> DistInfo:
        """Q's posterior over the regularised codes, from D's body features."""
        q_input = tf.stop_gradient(body) if detach_q else body
        reg_dist_flat = tf.cast(self.networks.q_head(q_input, training=training), tf.float32)
        return self.reg_latent_dist.activate_dist(reg_dist_flat)

    def generate(self, z_var: tf.Tensor, training: bool = False) -> tuple[tf.Tensor, DistInfo]:
        x_dist_flat = tf.cast(self.networks.generator(z_var, training=training), tf.float32)
        x_dist_info = self.output_dist.activate_dist(x_dist_flat)
        return self.output_dist.sample(x_dist_info), x_dist_info

    def generate_mean(self, z_var: tf.Tensor, training: bool = False) -> tf.Tensor:
        """The mean image of G's output distribution (what grids and samples show)."""
        _, info = self.generate(z_var, training=training)
        return self.output_dist.mean(info)

    def reg_z(self, z_var: tf.Tensor) -> tf.Tensor:
        return self._reg.var(z_var)

    def nonreg_z(self, z_var: tf.Tensor) -> tf.Tensor:
        return self._nonreg.var(z_var)

    def disc_reg_z(self, reg_z_var: tf.Tensor) -> tf.Tensor:
        return self._disc.var(reg_z_var)

    def cont_reg_z(self, reg_z_var: tf.Tensor) -> tf.Tensor:
        return self._cont.var(reg_z_var)

    def reg_dist_info(self, dist_info: DistInfo) -> DistInfo:
        return self._reg.dist_info(dist_info)

    def nonreg_dist_info(self, dist_info: DistInfo) -> DistInfo:
        return self._nonreg.dist_info(dist_info)

    def disc_reg_dist_info(self, reg_dist_info: DistInfo) -> DistInfo:
        return self._disc.dist_info(reg_dist_info)

    def cont_reg_dist_info(self, reg_dist_info: DistInfo) -> DistInfo:
        return self._cont.dist_info(reg_dist_info)

    @property
    def code_group_names(self) -> list[str]:
        """The non-empty groups of regularised codes: "disc" (categorical, Bernoulli), "cont" (Gaussian)."""
        return [
            name
            for name, dist in (("disc", self.reg_disc_latent_dist), ("cont", self.reg_cont_latent_dist))
            if dist.dists
        ]

    def code_groups(self, z_var: tf.Tensor, reg_dist_info: DistInfo) -> list[tuple[str, Product, tf.Tensor, DistInfo]]:
        """Per group: its name, its Product, its codes in ``z_var`` and Q's posterior over them.

        The original logs and penalises L_I of discrete and continuous codes separately.
        """
        reg_z = self.reg_z(z_var)
        groups = {
            "disc": (self.reg_disc_latent_dist, self.disc_reg_z(reg_z), self.disc_reg_dist_info(reg_dist_info)),
            "cont": (self.reg_cont_latent_dist, self.cont_reg_z(reg_z), self.cont_reg_dist_info(reg_dist_info)),
        }
        return [(name, *groups[name]) for name in self.code_group_names]

    def combine_reg_nonreg_z(self, reg_z_var: tf.Tensor, nonreg_z_var: tf.Tensor) -> tf.Tensor:
        reg_parts = iter(self.reg_latent_dist.split_var(reg_z_var))
        nonreg_parts = iter(self.nonreg_latent_dist.split_var(nonreg_z_var))
        return self.latent_dist.join_vars([next(reg_parts if reg else nonreg_parts) for _, reg in self.latent_spec])

    def combine_reg_nonreg_dist_info(self, reg_dist_info: DistInfo, nonreg_dist_info: DistInfo) -> DistInfo:
        reg_parts = iter(self.reg_latent_dist.split_dist_info(reg_dist_info))
        nonreg_parts = iter(self.nonreg_latent_dist.split_dist_info(nonreg_dist_info))
        return self.latent_dist.join_dist_infos(
            [next(reg_parts if reg else nonreg_parts) for _, reg in self.latent_spec]
        )
