"""Typed configs: the original's defaults in one place, which the flags take as theirs."""

import dataclasses
import subprocess
import sys

import pytest
from conftest import REPO

from infogan_tf import config as configs
from infogan_tf.config import ExperimentConfig, TrainConfig
from infogan_tf.latent_spec import MNIST_LATENT_SPEC


def test_the_defaults_are_the_original_mnist_launchers():
    config = ExperimentConfig()
    assert (config.train.batch_size, config.train.updates_per_epoch, config.train.max_epoch) == (128, 100, 50)
    assert (config.train.discriminator_learning_rate, config.train.generator_learning_rate) == (2e-4, 1e-3)
    assert config.train.info_reg_coeff == 1.0 and config.train.continuous_info_reg_coeff is None
    assert config.model.latent_spec == MNIST_LATENT_SPEC and config.model.leak == 0.01
    assert config.invariance.coeff == 0.0 and config.restarts.count == 1 and config.train.generator_average == 0.0
    assert config.terms == {}


def test_replace_and_get_reach_nested_fields_and_leave_the_original_alone():
    config = ExperimentConfig()
    changed = configs.replace(config, "invariance.max_shear", 0.3)
    assert configs.get(changed, "invariance.max_shear") == 0.3 and config.invariance.max_shear == 0.0
    assert configs.replace(config, "dataset", "svhn").dataset == "svhn"
    with pytest.raises(TypeError):
        configs.replace(config, "train.no_such_field", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.train.batch_size = 1  # type: ignore[misc]
    assert TrainConfig(batch_size=8).max_epoch == 50


def test_the_flags_take_their_defaults_from_the_config_and_give_it_back_unchanged():
    code = (
        "from infogan_tf_launchers import command\n"
        "from infogan_tf.config import ExperimentConfig\n"
        "command.FLAGS(['prog'])\n"
        "assert command.experiment_config() == ExperimentConfig(), command.experiment_config()\n"
        "argv = ['--batch_size=64', '--invariance_shear=0.2', '--restarts=2', '--invariance_coeff=1', '--seeds=3,4']\n"
        "command.FLAGS(['prog', *argv])\n"
        "c = command.experiment_config()\n"
        "assert (c.train.batch_size, c.invariance.max_shear, c.restarts.count, c.run.seeds) == (64, 0.2, 2, (3, 4))\n"
        "assert set(command.FIELD_OF_FLAG.values()) >= {'train.batch_size', 'invariance.coeff', 'run.seeds'}\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
