"""Image grids of what each regularised code controls.

Port of the original trainer's ``visualize_all_factors``. A grid has one row per fixed
noise sample (noise and the other codes fixed along the row) and one column per value of
the code being varied: the layout of the paper's Figure 2, and the transpose of the
original's grid. Images come from G in inference mode (BatchNorm moving averages), which
the original meant to use but could not (openai/InfoGAN#15).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

from infogan_tf.distributions import Bernoulli, Categorical, Distribution, Gaussian
from infogan_tf.models import RegularizedGAN

ORIGINAL_CONT_RANGE = (-1.0, 1.0)


def code_values(
    dist: Distribution, num_values: int = 10, cont_range: tuple[float, float] = ORIGINAL_CONT_RANGE
) -> np.ndarray:
    """The values a grid sweeps one code (or one dimension of it) through, shape ``[columns, width]``.

    A categorical code is swept whole (one column per category); a Gaussian or Bernoulli
    one dimension at a time, so the result has width 1.
    """
    if isinstance(dist, Categorical):
        return np.eye(dist.dim, dtype=np.float32)
    if isinstance(dist, Gaussian):
        return np.linspace(*cont_range, num_values, dtype=np.float32)[:, None]
    if isinstance(dist, Bernoulli):
        return np.repeat(np.array([0.0, 1.0], np.float32), num_values // 2)[:, None]
    raise ValueError(f"no sweep is defined for {type(dist).__name__} codes")


def traversal_latents(
    model: RegularizedGAN,
    reg_index: int,
    values: np.ndarray,
    fixed_reg: np.ndarray,
    fixed_nonreg: np.ndarray,
    dim: int | None = None,
) -> tf.Tensor:
    """Latents for a grid, row-major.

    Row r keeps sample r's noise and codes; column c sets code ``reg_index`` to
    ``values[c]``, or only its dimension ``dim`` when one is given.
    """
    rows, cols = fixed_nonreg.shape[0], values.shape[0]
    reg_parts = [np.repeat(p, cols, axis=0) for p in model.reg_latent_dist.split_var(fixed_reg)]
    if dim is None:
        reg_parts[reg_index] = np.tile(values, (rows, 1))
    else:
        reg_parts[reg_index] = np.array(reg_parts[reg_index])
        reg_parts[reg_index][:, dim] = np.tile(values[:, 0], rows)
    reg = np.concatenate(reg_parts, axis=1)
    return model.combine_reg_nonreg_z(reg, np.repeat(fixed_nonreg, cols, axis=0))


def sweeps(index: int, dist: Distribution) -> list[tuple[str, int | None]]:
    """(grid name, swept dimension) of each grid of regularised code ``index``: one per dimension of a wide code."""
    name = f"image_{index}_{type(dist).__name__}"
    if isinstance(dist, Categorical) or dist.dim == 1:
        return [(name, None)]
    return [(f"{name}_{d}", d) for d in range(dist.dim)]


def image_grid(images: np.ndarray, rows: int, cols: int, image_shape: tuple[int, int, int]) -> np.ndarray:
    """Tile ``rows * cols`` flat images (row-major) into one ``[rows*H, cols*W, C]`` image."""
    h, w, c = image_shape
    return images.reshape(rows, cols, h, w, c).transpose(0, 2, 1, 3, 4).reshape(rows * h, cols * w, c)


def save_png(path: str | Path, image: np.ndarray) -> None:
    """Write a [0, 1] float image as an 8-bit PNG."""
    pixels = np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
    tf.io.write_file(str(path), tf.io.encode_png(pixels))


class FactorVisualizer:
    """Fixed noise rows, drawn once, so grids from different epochs are comparable."""

    def __init__(
        self,
        model: RegularizedGAN,
        rows: int = 10,
        seed: int = 0,
        cont_range: tuple[float, float] = ORIGINAL_CONT_RANGE,
    ):
        rng = tf.random.Generator.from_seed(seed)
        self.model = model
        self.rows = rows
        self.cont_range = cont_range
        self.fixed_reg = model.reg_latent_dist.sample_prior(rows, rng).numpy()
        self.fixed_nonreg = (
            model.nonreg_latent_dist.sample_prior(rows, rng).numpy()
            if model.nonreg_latent_dist.dists
            else np.zeros((rows, 0), np.float32)
        )

    def grids(self, to_unit_range: Callable[[tf.Tensor], np.ndarray] = np.asarray) -> dict[str, np.ndarray]:
        """One grid per regularised code, keyed ``image_<index>_<Family>`` as the original's summaries.

        A code of several dimensions (not categorical) gets one grid per dimension,
        ``image_<index>_<Family>_<dimension>``. ``to_unit_range`` maps G's images from the
        dataset's value range to [0, 1].
        """
        out = {}
        for idx, dist in enumerate(self.model.reg_latent_dist.dists):
            values = code_values(dist, cont_range=self.cont_range)
            for name, dim in sweeps(idx, dist):
                z = traversal_latents(self.model, idx, values, self.fixed_reg, self.fixed_nonreg, dim)
                images = np.asarray(to_unit_range(self.model.generate_mean(z)))
                out[name] = image_grid(images, self.rows, len(values), self.model.image_shape)
        return out
