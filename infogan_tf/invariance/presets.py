"""Named overrides of the experiment's config beyond the original's, for a goal its defaults do not reach.

A preset changes only the config fields it lists (dotted paths into ``ExperimentConfig``);
everything else stays the original's. ``--preset=<name>`` sets each of them as a flag
default, so a flag given on the command line still wins. Every value carries the reason it
is there; ``docs/beyond_the_paper.md`` gives the runs that chose it and what they measured.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from infogan_tf.config import ExperimentConfig, replace


@dataclasses.dataclass(frozen=True)
class Preset:
    """Config values by field path (``settings``), each with why it has that value (``reasons``, same keys)."""

    summary: str
    settings: Mapping[str, Any]
    reasons: Mapping[str, str]

    def __post_init__(self) -> None:
        if set(self.settings) != set(self.reasons):
            raise ValueError("a preset gives a reason for each setting, and only for its settings")

    def apply(self, config: ExperimentConfig) -> ExperimentConfig:
        """``config`` with the preset's values."""
        for path, value in self.settings.items():
            config = replace(config, path, value)
        return config


_INVARIANT = Preset(
    summary=(
        "The categorical code names the digit on most seeds: Q's reading of real images is made to survive "
        "small rotations, scalings and shifts (IIC's I(c; c'), beyond the paper); some seeds still give two "
        "look-alike digits shared categories."
    ),
    settings={"invariance.coeff": 1.0, "invariance.copies": 3, "invariance.max_scale": 0.1},
    reasons={
        "invariance.coeff": (
            "the invariance term at the weight of L_I: the code then splits real digits by what a small change "
            "of the image keeps; a larger weight pulled harder but let G's code and Q's clusters drift apart"
        ),
        "invariance.copies": (
            "three transformed copies per real image (IIC's sample repeats): three times the pairs in the joint "
            "of c and c', at one more pass of D's body per copy"
        ),
        "invariance.max_scale": (
            "copies also scaled by 0.9 to 1.1, so that a digit's size, like its slant and place, does not decide "
            "its category"
        ),
    },
)

PRESETS: dict[str, Preset] = {
    "invariant": _INVARIANT,
    "invariant_slant": Preset(
        summary=(
            "The invariant preset, and the code also ignores slant: each copy is stood upright, then slanted at "
            "random; it fails fewer seeds than the invariant preset. G's samples come from a moving average of "
            "its weights, which leaves training as it is."
        ),
        settings={
            **_INVARIANT.settings,
            "invariance.deslant": True,
            "invariance.max_shear": 0.3,
            "train.generator_average": 0.999,
            "train.generator_average_from": 4000,
        },
        reasons={
            **_INVARIANT.reasons,
            "invariance.deslant": (
                "every failing seed of the invariant preset split look-alike digits (4 and 9, 3 and 5) by slant; a "
                "copy stood upright pairs each slant of a digit with one upright form, so slant cannot name a category"
            ),
            "invariance.max_shear": (
                "the upright copy is then slanted by up to 0.3 (about 17 degrees) either way: upright copies alone "
                "failed seeds the preset passed, and the two together gave the best median of the screens"
            ),
            "train.generator_average": (
                "sampling from a moving average of G's weights (about the last 1,000 updates) changes no update and "
                "lowered the Frechet distance of every seed measured"
            ),
            "train.generator_average_from": (
                "the average leaves out the first 4,000 updates: kept from update 1 instead, G's early weights "
                "still held a large share of it at the end, and its samples were further from the data"
            ),
        },
    ),
}
"""The presets by name (``--preset``)."""
