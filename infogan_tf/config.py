"""Typed settings of an experiment; their defaults are the original MNIST launcher's, here and nowhere else.

The library takes these and reads no flag. The command layer (``launchers/``)
defines one flag per field, with the field's default, and builds an ``ExperimentConfig``
from what the command line says; a test or a notebook builds one directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from infogan_tf.data.options import ImageOptions
from infogan_tf.invariance.restarts import INVARIANCE_MI
from infogan_tf.invariance.term import Invariance
from infogan_tf.latent_spec import MNIST_LATENT_SPEC
from infogan_tf.networks import ORIGINAL_LEAK


@dataclasses.dataclass(frozen=True)
class ModelSettings:
    """What shapes the model, less what the dataset decides (image shape, output distribution)."""

    latent_spec: str = MNIST_LATENT_SPEC
    network_type: str = "mnist"
    leak: float = ORIGINAL_LEAK
    precision: str = "float32"
    layer_kit: str = "auto"
    sync_batch_norm: bool = False


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The update and its schedule."""

    batch_size: int = 128
    updates_per_epoch: int = 100
    max_epoch: int = 50
    discriminator_learning_rate: float = 2e-4
    generator_learning_rate: float = 1e-3
    lr_batch_scaling: str = "none"
    info_reg_coeff: float = 1.0
    continuous_info_reg_coeff: float | None = None
    """Unset: ``info_reg_coeff``, as in the original (the paper gives the continuous codes a smaller one)."""
    info_reg_warmup: int = 0
    train_q: bool = False
    reuse_fake_batch: bool = False
    generator_average: float = 0.0
    generator_average_from: int = 0
    jit_compile: bool = False
    check_interval: int | None = None
    """Unset: every update on a CPU, every ``experiment.GPU_CHECK_INTERVAL`` updates where a GPU is visible."""
    deterministic: bool = False
    input_pipeline: str = "auto"


@dataclasses.dataclass(frozen=True)
class RestartConfig:
    """Beyond the paper: candidate runs per seed, chosen without labels at ``select_at`` (``restarts.py``)."""

    count: int = 1
    select_at: int = 2000
    criterion: str = INVARIANCE_MI


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Where a run writes, what it is called and how it continues."""

    root_log_dir: str = "logs/mnist"
    root_checkpoint_dir: str = "ckt/mnist"
    exp_name: str | None = None
    """Unset: ``<dataset>_<timestamp>``."""
    seed: int = 0
    seeds: tuple[int, ...] = ()
    """Several seeds, one run each (``<exp_name>_seed<N>``); empty: ``seed`` alone."""
    snapshot_interval: int = 1000
    max_to_keep: int = 5
    resume: str = "auto"


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    evaluate: bool = True
    baseline: str | None = None
    classifier_path: str | None = None
    eval_samples: int = 10000
    generator_weights: str = "average"


@dataclasses.dataclass(frozen=True)
class DeviceConfig:
    strategy: str = "auto"
    cpu_devices: int = 1


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """One command's experiment: data, model, update, extra terms, runs, evaluation and devices."""

    dataset: str = "mnist"
    data_dir: str | None = None
    images: ImageOptions = ImageOptions()
    """How the ``folder``, ``npz`` and ``tfds:NAME`` datasets read the user's images."""
    model: ModelSettings = ModelSettings()
    train: TrainConfig = TrainConfig()
    invariance: Invariance = Invariance()
    terms: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """Settings of other registered terms (``terms.register_term``), by name; a term left out is off."""
    restarts: RestartConfig = RestartConfig()
    run: RunConfig = RunConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    devices: DeviceConfig = DeviceConfig()


def replace(config: Any, path: str, value: Any) -> Any:
    """``config`` with the field at dotted ``path`` (e.g. ``"train.batch_size"``) set to ``value``."""
    head, _, rest = path.partition(".")
    if not rest:
        return dataclasses.replace(config, **{head: value})
    return dataclasses.replace(config, **{head: replace(getattr(config, head), rest, value)})


def get(config: Any, path: str) -> Any:
    """The value of the field at dotted ``path``."""
    for part in path.split("."):
        config = getattr(config, part)
    return config
