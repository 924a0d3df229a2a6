"""Traversal grids: which latents each column gets, and a grid for every regularised code."""

import numpy as np
import pytest
import tensorflow as tf

from infogan_tf.models import ModelConfig
from infogan_tf.visualize import FactorVisualizer, traversal_latents


@pytest.fixture(scope="module")
def wide():
    """Codes of several dimensions: the specs that used to crash the grids after an epoch."""
    return ModelConfig(
        "uniform:4,gaussian:2:reg,bernoulli:3:reg,uniform:2:reg:fix_std,categorical:3:reg", (8, 8, 1)
    ).build()


def test_every_dimension_of_a_wide_code_gets_its_own_grid(wide):
    grids = FactorVisualizer(wide, rows=4, seed=0).grids()
    assert sorted(grids) == [
        "image_0_Gaussian_0", "image_0_Gaussian_1",
        "image_1_Bernoulli_0", "image_1_Bernoulli_1", "image_1_Bernoulli_2",
        "image_2_Uniform_0", "image_2_Uniform_1",
        "image_3_Categorical",
    ]  # fmt: skip
    assert grids["image_0_Gaussian_1"].shape == (4 * 8, 10 * 8, 1)
    assert grids["image_3_Categorical"].shape == (4 * 8, 3 * 8, 1)


def test_a_sweep_of_one_dimension_keeps_everything_else_of_its_row(wide):
    visualizer = FactorVisualizer(wide, rows=3, seed=1)
    values = np.linspace(-1, 1, 5, dtype=np.float32)[:, None]
    z = traversal_latents(wide, 1, values, visualizer.fixed_reg, visualizer.fixed_nonreg, dim=2).numpy()
    reg, nonreg = wide.reg_z(z).numpy(), wide.nonreg_z(z).numpy()
    expected_reg = np.repeat(visualizer.fixed_reg, 5, axis=0)
    expected_reg[:, 2 + 2] = np.tile(values[:, 0], 3)  # the Bernoulli code starts after the Gaussian's 2 dims
    np.testing.assert_array_equal(reg, expected_reg)
    np.testing.assert_array_equal(nonreg, np.repeat(visualizer.fixed_nonreg, 5, axis=0))
    assert tf.reduce_all(tf.math.is_finite(wide.generate_mean(z)))
