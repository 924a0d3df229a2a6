"""Checkpoints that survive crashes, refuse the wrong model, and load for sampling.

Beside the TF checkpoint files, a run's checkpoint directory holds ``model.json`` (what
rebuilds the networks: network type, latent spec, image shape, leak) and ``run.json``
(the settings that fix the data stream: batch size, updates per epoch, seed). A resume
compares both before touching any variable, so a different architecture is refused
with a message instead of a TF shape error, and nothing on disk is overwritten.

TF writes a checkpoint's files under temporary names and renames them when complete,
then rewrites the ``checkpoint`` state file atomically, so a crash while saving leaves the
previous checkpoint as the newest. A checkpoint that is damaged later (a truncated file)
is skipped with a warning in favour of the next older one.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from infogan_tf.distributions import MeanBernoulli
from infogan_tf.latent_spec import format_latent_spec, parse_latent_spec
from infogan_tf.models import RegularizedGAN

MODEL_FILE = "model.json"
RUN_FILE = "run.json"
RESUME_MODES = ("auto", "latest", "never")


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used; the message says why and what to do."""


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a RegularizedGAN's variables."""

    network_type: str
    latent_spec: str
    image_shape: tuple[int, ...]
    leak: float

    @classmethod
    def of(cls, model: RegularizedGAN) -> ModelConfig:
        return cls(
            model.network_type, format_latent_spec(model.latent_spec), tuple(model.image_shape), float(model.leak)
        )

    def build(self, batch_size: int = 128) -> RegularizedGAN:
        return RegularizedGAN(
            output_dist=MeanBernoulli(int(np.prod(self.image_shape))),
            latent_spec=parse_latent_spec(self.latent_spec),
            batch_size=batch_size,
            image_shape=self.image_shape,
            network_type=self.network_type,
            leak=self.leak,
        )


def _write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(
            f"{path} is not valid JSON ({e}); restore it from a backup or start a new --exp_name"
        ) from e


def write_run_files(checkpoint_dir: Path, model_config: ModelConfig, run_settings: dict[str, Any]) -> None:
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    _write_json_atomically(checkpoint_dir / MODEL_FILE, dataclasses.asdict(model_config))
    _write_json_atomically(checkpoint_dir / RUN_FILE, run_settings)


def read_model_config(checkpoint_dir: Path) -> ModelConfig:
    data = _read_json(checkpoint_dir / MODEL_FILE)
    if data is None:
        raise CheckpointError(
            f"{checkpoint_dir} has no {MODEL_FILE}, so its architecture is unknown; was it written by infogan_tf?"
        )
    try:
        return ModelConfig(**{**data, "image_shape": tuple(data["image_shape"])})
    except (TypeError, KeyError) as e:
        raise CheckpointError(f"{checkpoint_dir / MODEL_FILE} does not describe a model ({e})") from e


def check_compatible(
    checkpoint_dir: Path, model_config: ModelConfig, run_settings: dict[str, Any] | None = None
) -> None:
    """Refuse to resume a checkpoint whose architecture or data stream differs from this run's."""
    saved = dataclasses.asdict(read_model_config(checkpoint_dir))
    wanted = dataclasses.asdict(model_config)
    problems = [
        f"{k}: checkpoint has {saved[k]!r}, this run asks for {wanted[k]!r}" for k in wanted if saved[k] != wanted[k]
    ]
    saved_run = _read_json(checkpoint_dir / RUN_FILE) or {}
    for k, v in (run_settings or {}).items():
        if k in saved_run and saved_run[k] != v:
            problems.append(f"{k}: checkpoint has {saved_run[k]!r}, this run asks for {v!r}")
    if problems:
        raise CheckpointError(
            f"the checkpoints in {checkpoint_dir} come from a different setup ({'; '.join(problems)}); "
            "rerun with the checkpoint's settings, or choose a new --exp_name"
        )


def is_resume_source(value: str) -> bool:
    """Whether ``value`` names a resume mode, a checkpoint directory or a checkpoint path."""
    return value in RESUME_MODES or Path(value).is_dir() or tf.io.gfile.exists(f"{value}.index")


def checkpoint_paths(location: str | os.PathLike) -> tuple[Path, list[str]]:
    """A checkpoint directory and its checkpoints, newest first; or one checkpoint prefix."""
    location = Path(location)
    if location.is_dir():
        state = tf.train.get_checkpoint_state(str(location))
        paths = list(state.all_model_checkpoint_paths) if state else []
        return location, [str(location / Path(p).name) for p in reversed(paths)]
    if tf.io.gfile.exists(f"{location}.index"):
        return location.parent, [str(location)]
    raise CheckpointError(f"{location} is neither a checkpoint directory nor a checkpoint (no {location}.index)")


def restore_newest_readable(checkpoint: tf.train.Checkpoint, paths: list[str], partial: bool = False) -> str:
    """Restore the first checkpoint of ``paths`` that reads cleanly; warn about each one skipped."""
    failures = []
    for path in paths:
        try:
            status = checkpoint.restore(path)
            if partial:
                status.expect_partial()
            status.assert_existing_objects_matched()
            return path
        except Exception as e:  # TF reports damaged files as OpError, IndexError, ValueError, AssertionError...
            reason = str(e).strip().splitlines()[0][:200]
            failures.append(f"{path}: {reason}")
            print(f"warning: checkpoint {path} is unreadable ({reason}); trying an older one", file=sys.stderr)
    detail = "; ".join(failures) if failures else "none found"
    raise CheckpointError(f"no readable checkpoint ({detail})")


@dataclasses.dataclass
class LoadedModel:
    """A trained G and Q, restored for use: every call runs in inference mode."""

    model: RegularizedGAN
    checkpoint_path: str
    step: int

    def generate(self, z: tf.Tensor) -> tf.Tensor:
        """Mean images for latents ``z``, flat like the training data."""
        return self.model.generate_mean(z)

    def sample(self, n: int, seed: int = 0) -> tuple[tf.Tensor, tf.Tensor]:
        """``n`` latents from the prior and their images."""
        z = self.model.latent_dist.sample_prior(n, tf.random.Generator.from_seed(seed))
        return z, self.generate(z)

    def encode(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        """Q's posterior over the regularised codes of ``images``."""
        return self.model.discriminate(images, training=False).reg_dist_info


def load(location: str | os.PathLike) -> LoadedModel:
    """Rebuild a run's model from a checkpoint directory (newest readable) or a checkpoint path."""
    checkpoint_dir, paths = checkpoint_paths(location)
    model = read_model_config(checkpoint_dir).build()
    step = tf.Variable(0, dtype=tf.int64)
    path = restore_newest_readable(tf.train.Checkpoint(step=step, **model.keras_models), paths, partial=True)
    return LoadedModel(model=model, checkpoint_path=path, step=int(step.numpy()))
