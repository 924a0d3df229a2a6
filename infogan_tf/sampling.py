"""Turning the learned knobs from a shell: a PNG grid and an animated GIF per regularised code.

A grid is the paper's Fig. 2 layout (rows: noise samples; columns: the code's values);
the GIF plays the same sweep in time, one frame per value, each frame a block of noise
samples, so a code's effect is seen on many digits at once. Codes are named by their
position among the regularised codes (``0``, ``1``, ...) or by their family when that is
unique (``categorical``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from infogan_tf.checkpoints import LoadedModel
from infogan_tf.distributions import Categorical
from infogan_tf.latent_spec import format_latent_spec
from infogan_tf.records import write_bytes_atomically
from infogan_tf.visualize import FactorVisualizer, image_grid, traversal_latents


class UnknownCodeError(ValueError):
    """A code name the model does not have; the message lists the ones it has."""


def code_names(loaded: LoadedModel) -> list[str]:
    """'<index> (<spec token>)' for each regularised code, e.g. '0 (categorical:10:reg)'."""
    tokens = format_latent_spec([(d, True) for d in loaded.model.reg_latent_dist.dists]).split(",")
    return [f"{i} ({token})" for i, token in enumerate(tokens)]


def resolve_codes(loaded: LoadedModel, names: Sequence[str] | None) -> list[int]:
    """Indices of the regularised codes ``names`` ask for (all when empty or ``all``)."""
    dists = loaded.model.reg_latent_dist.dists
    if not names or list(names) == ["all"]:
        return list(range(len(dists)))
    families = [format_latent_spec([(d, True)]).split(":")[0] for d in dists]
    indices = []
    for name in names:
        name = name.strip().lower()
        if name.isascii() and name.isdigit() and int(name) < len(dists):
            indices.append(int(name))
        elif families.count(name) == 1:
            indices.append(families.index(name))
        else:
            raise UnknownCodeError(
                f"unknown code '{name}'; this model's codes are {', '.join(code_names(loaded))} "
                "(name one by its number, or by its family where that is unique)"
            )
    return indices


def sweep_values(loaded: LoadedModel, index: int, value_range: tuple[float, float], steps: int) -> np.ndarray:
    """``[columns, width]`` values of code ``index``: each category, or ``steps`` points over ``value_range``."""
    dist = loaded.model.reg_latent_dist.dists[index]
    if isinstance(dist, Categorical):
        return np.eye(dist.dim, dtype=np.float32)
    return np.linspace(*value_range, steps, dtype=np.float32)[:, None]


def _to_uint8(images: np.ndarray, output_range: tuple[float, float]) -> np.ndarray:
    low, high = output_range
    return np.clip(np.round((images - low) / (high - low) * 255.0), 0, 255).astype(np.uint8)


def _frame(grid: np.ndarray, output_range: tuple[float, float]) -> Image.Image:
    pixels = _to_uint8(grid, output_range)
    return Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)


def write_code_samples(
    loaded: LoadedModel,
    out_dir: str | Path,
    codes: Sequence[int],
    value_range: tuple[float, float] = (-2.0, 2.0),
    steps: int = 10,
    rows: int = 8,
    seed: int = 0,
    frame_ms: int = 150,
) -> list[Path]:
    """For each code: ``code_<i>.png`` (``rows`` noise rows x one column per value) and ``code_<i>.gif``.

    Each file is written whole (through a temporary file), so a stopped command leaves
    the previous file or the new one.

    A GIF frame is a ``rows`` x ``rows`` block of noise samples with the code at one value;
    a continuous code of several dimensions is swept along its first. Returns the files written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = loaded.model
    shape = model.image_shape
    output_range = model.config.output_range
    grid_rows = FactorVisualizer(model, rows=rows, seed=seed)
    block = FactorVisualizer(model, rows=rows * rows, seed=seed + 1)
    written = []
    for index in codes:
        values = sweep_values(loaded, index, value_range, steps)
        dim = None if isinstance(model.reg_latent_dist.dists[index], Categorical) else 0
        z = traversal_latents(model, index, values, grid_rows.fixed_reg, grid_rows.fixed_nonreg, dim)
        grid = image_grid(np.asarray(model.generate_mean(z)), rows, len(values), shape)
        png = out_dir / f"code_{index}.png"
        write_bytes_atomically(png, tf.io.encode_png(_to_uint8(grid, output_range)).numpy())
        z = traversal_latents(model, index, values, block.fixed_reg, block.fixed_nonreg, dim)
        images = np.asarray(model.generate_mean(z)).reshape(rows * rows, len(values), -1)
        frames = [_frame(image_grid(images[:, c], rows, rows, shape), output_range) for c in range(len(values))]
        gif = out_dir / f"code_{index}.gif"
        animation = io.BytesIO()
        frames[0].save(animation, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
        write_bytes_atomically(gif, animation.getvalue())
        written += [png, gif]
    return written
