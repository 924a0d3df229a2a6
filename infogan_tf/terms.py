"""The small interface an extra term on the update implements, and the registry that names the terms.

The paper's objective is ``losses.infogan_loss``. Anything research adds to it is an
``ExtraTerm``: the step lets it transform batches for D's body to read (one pass, with
the real and fake batches), asks it for named scalars, and adds each one with the term's
weight: D's objective maximises them, G's loss subtracts them. The step never names a
term. A term may also take code groups' L_I away from D (``generator_only_groups``), so
that something else trains Q's head for them.

A new term is one module: an ``ExtraTerm`` subclass and its settings (a frozen dataclass
whose ``weight`` of 0 turns it off), registered with ``register_term``. The command layer
then defines a flag per settings field (``--<name>_<field>``), and ``run.json`` records
the settings, so a resume under other ones is refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import tensorflow as tf

if TYPE_CHECKING:
    from infogan_tf.models import Discrimination, RegularizedGAN


class ExtraTerm:
    """A weighted addition to the InfoGAN objective; every hook is optional."""

    name: str = ""
    """Its key among the update's settings in ``run.json``."""
    weight: float = 0.0
    generator_only_groups: tuple[str, ...] = ()
    """Code groups ("disc", "cont") whose L_I this term takes over: it trains G alone, not D and Q."""

    def discriminator_heads(self) -> dict[str, int]:
        """Dense heads the term adds on D's body, by name and number of outputs.

        They join the model (``ModelConfig.heads``, so its checkpoints and ``model.json``),
        are trained with D by the term's scalars, and reach the term in each
        ``Discrimination.heads`` of the real batch and its ``discriminator_batches``.
        """
        return {}

    def settings(self) -> dict[str, Any]:
        """What the term computes, as JSON values (``run.json``)."""
        return {}

    def check(self, model: RegularizedGAN) -> None:
        """Raise ``ValueError`` naming what in the model the term cannot work with."""

    def log_keys(self, model: RegularizedGAN) -> list[str]:
        """The names of the scalars ``discriminator_terms`` returns, in order (they are logged)."""
        return []

    def set_update(self, update: tf.Tensor | None) -> None:
        """Before each update, with how many came before (a term with a schedule keeps it in a variable)."""

    def generator_only_share(self) -> tf.Tensor | None:
        """How much of ``generator_only_groups``' L_I D's loss leaves out this update (0 to 1); None: all of it."""
        return None

    def discriminator_batches(
        self, real_x: tf.Tensor, fake_x: tf.Tensor, model: RegularizedGAN, rng: tf.random.Generator
    ) -> list[tf.Tensor]:
        """Batches D's body and Q read beside the D step's real and fake batches (e.g. transformed copies)."""
        return []

    def discriminator_terms(
        self, model: RegularizedGAN, z: tf.Tensor, real: Discrimination, extra: Sequence[Discrimination]
    ) -> dict[str, tf.Tensor]:
        """Scalars D's objective maximises (times ``weight``), given D and Q on ``discriminator_batches``."""
        return {}

    def generator_batches(self, fake_x: tf.Tensor, model: RegularizedGAN, rng: tf.random.Generator) -> list[tf.Tensor]:
        """Batches D's body and Q read beside G's images in the G step."""
        return []

    def generator_terms(
        self, model: RegularizedGAN, z: tf.Tensor, fake: Discrimination, extra: Sequence[Discrimination]
    ) -> dict[str, tf.Tensor]:
        """Scalars G's loss subtracts (times ``weight``), given D and Q on G's images and Q on ``generator_batches``."""
        return {}

    def adds_to_the_generator_step(self) -> bool:
        """Whether the term has G-step batches or scalars (the G step on the D step's batch has no room for them).

        By default, whether its class overrides either G-step hook; a term whose hooks add
        nothing under some settings says so here.
        """
        cls = type(self)
        return (
            cls.generator_terms is not ExtraTerm.generator_terms
            or cls.generator_batches is not ExtraTerm.generator_batches
        )


@dataclasses.dataclass(frozen=True)
class TermSpec:
    """A registered term: its settings' type (defaults: off) and how to build it from them (None when off)."""

    settings: type
    build: Callable[[Any], ExtraTerm | None]


TERMS: dict[str, TermSpec] = {}
"""The registered terms by name."""


def register_term(name: str, settings: type, build: Callable[[Any], ExtraTerm | None]) -> None:
    """Make a term known to the command layer (its flags), the builder and ``run.json``."""
    if not dataclasses.is_dataclass(settings):
        raise TypeError(f"term {name!r}: its settings must be a dataclass, not {settings!r}")
    TERMS[name] = TermSpec(settings, build)


def build_terms(settings: dict[str, Any]) -> list[ExtraTerm]:
    """The terms that ``settings`` (by registered name) turn on, in registration order."""
    unknown = sorted(set(settings) - set(TERMS))
    if unknown:
        raise ValueError(f"unknown term(s) {', '.join(unknown)}; registered: {', '.join(TERMS)}")
    built = (spec.build(settings.get(name, spec.settings())) for name, spec in TERMS.items())
    return [term for term in built if term is not None]


def split_by_term(values: Sequence[Any], counts: Sequence[int]) -> list[list[Any]]:
    """``values`` cut into consecutive runs of ``counts`` items, one per term."""
    runs, start = [], 0
    for count in counts:
        runs.append(list(values[start : start + count]))
        start += count
    return runs
