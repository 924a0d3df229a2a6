"""Checkpoints that survive crashes, refuse the wrong model, decide how a run resumes, and load for sampling.

Beside the TF checkpoint files, a run's checkpoint directory holds ``model.json`` (the
``ModelConfig`` that rebuilds the networks) and ``run.json`` (the settings that fix the
data stream: batch size, updates per epoch, seed; and what each update computes). A
resume compares both before touching any variable, so a different architecture is
refused with a message instead of a TF shape error, a run is never continued under other
learning rates or loss weights than it started with, and nothing on disk is overwritten.

TF writes a checkpoint's files under temporary names and renames them when complete,
then rewrites the ``checkpoint`` index file atomically, so a crash while saving leaves the
previous checkpoint as the newest; the temporaries of a failed save (a full disk) are
removed. A checkpoint that is damaged later (a truncated file) is skipped with a warning
in favour of the next older one. Checkpoints are found from their own ``.index`` files,
so a missing or damaged index file never makes a run forget them: it is rebuilt.

A run holds an OS lock on its directory (``lock``) while it writes there; a second
process on the same run is refused with the holder named. The kernel releases the lock
when the holder exits in any way, so a lock left by a killed process is never stale.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import json
import os
import re
import shutil
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tensorflow as tf

from infogan_tf import averaging, strategies
from infogan_tf.errors import ConfigError
from infogan_tf.losses import NonFiniteLossError
from infogan_tf.models import ModelConfig, RegularizedGAN
from infogan_tf.records import write_json_atomically

MODEL_FILE = "model.json"
RUN_FILE = "run.json"
LOCK_FILE = "lock"
INDEX_FILE = "checkpoint"
RESUME_MODES = ("auto", "latest", "never")
UPDATE_SETTINGS = "update"
"""``run.json``'s key for what each update computes (learning rates, loss weights, precision)."""
_NOT_OBJECTS = {"_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter"}
"""Top-level names in a checkpoint that are not one of the objects it was given."""
_FAILED_SAVE = re.compile(r".+-\d+_temp")
"""What TF leaves of a save that failed half-way: ``<prefix>-<update>_temp/``."""


class CheckpointError(ConfigError):
    """A checkpoint that cannot be used; the message says why and what to do."""


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(
            f"{path} is not valid JSON ({e}); restore it from a backup or start a new {{run.exp_name}}"
        ) from e
    if not isinstance(data, dict):
        raise CheckpointError(
            f"{path} holds a {type(data).__name__}, not a JSON object; "
            "restore it from a backup or start a new {run.exp_name}"
        )
    return data


LEGACY_HEADS = {"overclusters": "overcluster_head"}
"""Fields of earlier ``model.json`` files that gave one head's outputs, and the head's name since."""


def read_model_config(checkpoint_dir: Path) -> ModelConfig:
    """The ``ModelConfig`` in ``checkpoint_dir/model.json`` (files from before it recorded every field load too).

    A head that an earlier file recorded in a field of its own (``LEGACY_HEADS``) becomes
    one of ``heads`` (none where it was 0).
    """
    data = _read_json(Path(checkpoint_dir) / MODEL_FILE)
    if data is None:
        raise CheckpointError(
            f"{checkpoint_dir} has no {MODEL_FILE}, so its architecture is unknown; was it written by infogan_tf?"
        )
    legacy = {LEGACY_HEADS[k]: data.pop(k) for k in LEGACY_HEADS if k in data}
    try:
        legacy = {name: int(outputs) for name, outputs in legacy.items() if outputs}
        if legacy:
            data["heads"] = {**legacy, **data.get("heads", {})}
        return ModelConfig.from_json(data)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{Path(checkpoint_dir) / MODEL_FILE} does not describe a model ({e})") from e


def check_trained_on(checkpoint_dir: Path, dataset_name: str) -> None:
    """Refuse to score the run in ``checkpoint_dir`` against a dataset other than the one it trained on.

    Images of the same shape would otherwise be scored without a word against another dataset's labels. A
    ``run.json`` written before the dataset was recorded is taken on trust.
    """
    trained = (_read_json(Path(checkpoint_dir) / RUN_FILE) or {}).get("dataset")
    if isinstance(trained, str) and trained != dataset_name:
        raise CheckpointError(
            f"the run in {checkpoint_dir} trained on {trained}, not {dataset_name}; "
            f"evaluate it with {{dataset}}={trained} (and its {{data_dir}})"
        )


def trained_seed(checkpoint_dir: Path) -> int | None:
    """The seed the run in ``checkpoint_dir`` trained with (its ``run.json``); None where it is not recorded.

    Its end-of-training evaluation drew its samples with this seed, so an evaluation that
    uses it again repeats those numbers.
    """
    seed = (_read_json(Path(checkpoint_dir) / RUN_FILE) or {}).get("seed")
    return seed if isinstance(seed, int) else None


def _differences(saved: Mapping[str, Any], wanted: Mapping[str, Any], prefix: str = "") -> list[str]:
    """``wanted``'s values that ``saved`` records otherwise, nested objects by their keys' path.

    A key ``saved`` lacks is not a difference: files written before it was recorded resume.
    """
    found = []
    for key, value in wanted.items():
        if key not in saved:
            continue
        if isinstance(value, Mapping) and isinstance(saved[key], Mapping):
            found += _differences(saved[key], value, f"{prefix}{key}.")
        elif saved[key] != value:
            found.append(f"{prefix}{key}: checkpoint has {saved[key]!r}, this run asks for {value!r}")
    return found


def check_compatible(
    checkpoint_dir: Path, config: ModelConfig, run_settings: Mapping[str, Any], own_run: bool = True
) -> list[str]:
    """Refuse a checkpoint whose architecture or data stream differs from this run's; returns update changes.

    The update's settings (``run_settings[UPDATE_SETTINGS]``) may change only where a new
    run starts from another run's checkpoint (``own_run=False``): continuing a run under
    other settings would leave one record of two experiments.
    """
    saved = read_model_config(checkpoint_dir).architecture()
    wanted = config.architecture()
    problems = [
        f"{k}: checkpoint has {saved[k]!r}, this run asks for {wanted[k]!r}" for k in wanted if saved[k] != wanted[k]
    ]
    saved_run = _read_json(checkpoint_dir / RUN_FILE)
    if saved_run is None:
        raise CheckpointError(
            f"{checkpoint_dir} holds checkpoints but no {RUN_FILE}, so its batch size, updates per epoch and seed "
            f"are unknown; restore {RUN_FILE} from a backup, or write it with the settings the run was started with"
        )
    fixed = {k: v for k, v in run_settings.items() if k != UPDATE_SETTINGS}
    problems += _differences(saved_run, fixed)
    changed = _differences(saved_run, {k: v for k, v in run_settings.items() if k == UPDATE_SETTINGS})
    if own_run:
        problems += changed
    if problems:
        fork = (
            f", or start a new run from this one's checkpoint with {{run.resume}}={checkpoint_dir} "
            "and a new {run.exp_name}"
            if own_run and changed
            else ""
        )
        raise CheckpointError(
            f"the checkpoints in {checkpoint_dir} come from a different setup ({'; '.join(problems)}); "
            f"rerun with the checkpoint's settings, or choose a new {{run.exp_name}}{fork}"
        )
    return changed


def is_resume_source(value: str) -> bool:
    """Whether ``value`` names a resume mode, a checkpoint directory or a checkpoint path."""
    return value in RESUME_MODES or Path(value).is_dir() or tf.io.gfile.exists(f"{value}.index")


def _update_of(prefix: str) -> int:
    tail = prefix.rsplit("-", 1)[-1]
    return int(tail) if tail.isascii() and tail.isdigit() else -1


def found_checkpoints(directory: str | os.PathLike) -> list[str]:
    """The checkpoints in ``directory`` found from their ``.index`` files, newest (highest update) first.

    The ``checkpoint`` index file is not consulted: a deleted, truncated or hand-edited
    one must not hide a run's checkpoints.
    """
    prefixes = [str(p)[: -len(".index")] for p in Path(directory).glob("*.index") if p.is_file()]
    return sorted(prefixes, key=lambda p: (_update_of(p), os.path.getmtime(p + ".index")), reverse=True)


def checkpoint_paths(location: str | os.PathLike) -> tuple[Path, list[str]]:
    """A checkpoint directory and its checkpoints, newest first; or one checkpoint prefix."""
    location = Path(location)
    if location.is_dir():
        return location, found_checkpoints(location)
    if tf.io.gfile.exists(f"{location}.index"):
        return location.parent, [str(location)]
    raise CheckpointError(f"{location} is neither a checkpoint directory nor a checkpoint (no {location}.index)")


def remove_failed_saves(directory: Path) -> list[str]:
    """Delete what saves that failed half-way left behind (TF's ``*-<update>_temp`` folders); returns their names."""
    removed = []
    for path in directory.glob("*_temp") if directory.is_dir() else ():
        if path.is_dir() and _FAILED_SAVE.fullmatch(path.name):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def _open_manager(checkpoint: tf.train.Checkpoint, directory: Path, name: str, max_to_keep: int):
    """A CheckpointManager that knows every checkpoint on disk, rebuilding a missing or damaged index file first."""
    found = found_checkpoints(directory)
    try:
        manager = tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=max_to_keep, checkpoint_name=name)
        if {os.path.basename(p) for p in found} <= {os.path.basename(p) for p in manager.checkpoints}:
            return manager
    except ValueError:  # an empty or unparsable index file
        if not found:  # it indexes nothing: keep its bytes aside and start a new one
            os.replace(directory / INDEX_FILE, directory / f"{INDEX_FILE}.damaged")
            print(f"warning: moved the unreadable {directory / INDEX_FILE} aside (.damaged)", file=sys.stderr)
            return tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=max_to_keep, checkpoint_name=name)
    oldest_first = list(reversed(found))
    print(
        f"warning: the index file {directory / INDEX_FILE} is missing, damaged or incomplete; rebuilt it from the "
        f"{len(found)} checkpoint(s) found: {', '.join(os.path.basename(p) for p in oldest_first)}",
        file=sys.stderr,
    )
    tf.compat.v1.train.update_checkpoint_state(
        str(directory),
        oldest_first[-1],
        all_model_checkpoint_paths=oldest_first,
        all_model_checkpoint_timestamps=[min(os.path.getmtime(p + ".index"), time.time()) for p in oldest_first],
    )
    return tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=max_to_keep, checkpoint_name=name)


class RunLock:
    """An exclusive OS lock on a run's directory, held from ``acquire`` until ``release`` or the process's end."""

    def __init__(self, directory: Path):
        self.path = directory / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise CheckpointError(
                f"{self.path.parent} is in use by {holder}; wait for it to finish (or stop it), "
                "or choose another {run.exp_name}"
            ) from e
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()} on {socket.gethostname()} since {time.ctime()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def restore_newest_readable(trackables: Mapping[str, Any], paths: Sequence[str], partial: bool = False) -> str:
    """Restore ``trackables`` from the first checkpoint of ``paths`` that reads cleanly; warn about each one skipped.

    A trackable marked ``optional_in_checkpoints`` that the checkpoint lacks keeps its
    state, so a run that adds G's weight average can start from a checkpoint written
    without one; what only the checkpoint holds is left there without TensorFlow's warning
    per variable (the resume has said that the setting changed).
    """
    failures = []
    for path in paths:
        try:
            held = {name.split("/", 1)[0] for name, _ in tf.train.list_variables(path)}
            found = {k: v for k, v in trackables.items() if k in held or not getattr(v, "optional_in_checkpoints", 0)}
            status = tf.train.Checkpoint(**found).restore(path)
            if partial or held.difference(found, _NOT_OBJECTS):
                status.expect_partial()
            status.assert_existing_objects_matched()
            return path
        except Exception as e:  # TF reports damaged files as OpError, IndexError, ValueError, AssertionError...
            reason = str(e).strip().splitlines()[0][:200]
            failures.append(f"{path}: {reason}")
            print(f"warning: checkpoint {path} is unreadable ({reason}); trying an older one", file=sys.stderr)
    detail = "; ".join(failures) if failures else "none found"
    raise CheckpointError(f"no readable checkpoint ({detail})")


class RunCheckpoint:
    """One run's checkpoint directory: what it saves, how it resumes, and its ``model.json``/``run.json``.

    ``trackables`` are the objects a checkpoint holds (the trainer's, the step's and the
    model's); ``weights`` are checked to be finite before every save.

    With several workers only the chief owns the directory (its lock, its files). Every
    other worker (not the chief of ``strategy``) restores from the chief's directory and, since saving
    is a collective step in which every worker takes part, writes its own copy to a
    scratch directory beside it (``.<worker>-scratch``) that it deletes at once, as
    TensorFlow's multi-worker guide does.
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        name: str,
        trackables: Mapping[str, Any],
        config: ModelConfig,
        run_settings: Mapping[str, Any],
        weights: Sequence[tf.Variable] = (),
        max_to_keep: int = 5,
        strategy: tf.distribute.Strategy | None = None,
    ):
        strategy = strategy or tf.distribute.get_strategy()
        self.directory = Path(directory)
        self.chief = strategies.is_chief(strategy)
        worker = strategies.worker_name(strategy)
        self.save_directory = self.directory if self.chief else self.directory / f".{worker}-scratch"
        self.name = name
        self.config = config
        self.run_settings = dict(run_settings)
        self.weights = list(weights)
        self.max_to_keep = max_to_keep
        self.trackables = dict(trackables)
        self.checkpoint = tf.train.Checkpoint(**trackables)
        self.lock = RunLock(self.directory)
        self.manager: tf.train.CheckpointManager | None = None
        self.latest: str | None = None
        """The checkpoint this run restored or saved last: the state it can go back to."""

    def resume(self, mode: str = "auto") -> str | None:
        """Restore per ``mode``, then record this run's setup; returns the checkpoint restored (None: a fresh start).

        "auto" continues this directory's newest readable checkpoint if it holds any,
        "latest" requires that it does, "never" refuses a directory that does, and any
        other value is a checkpoint (directory or path) to start from. Nothing is restored
        or written before the checkpoint's setup is found compatible.
        """
        if not self.chief:
            self._resume(mode)
            return self.latest
        self.lock.acquire()
        try:
            self._resume(mode)
        except BaseException:
            self.lock.release()
            raise
        return self.latest

    def _resume(self, mode: str) -> None:
        existing = found_checkpoints(self.directory)
        if mode == "never" and existing:
            raise CheckpointError(
                f"{self.directory} already holds checkpoints; "
                "choose a new {run.exp_name}, or {run.resume}=auto to continue"
            )
        if mode in RESUME_MODES:
            if not existing and mode == "latest":
                raise CheckpointError(f"{{run.resume}}=latest, but {self.directory} holds no checkpoint")
            source_dir, paths = self.directory, existing
        else:
            source_dir, paths = checkpoint_paths(mode)
            if not paths:
                raise CheckpointError(
                    f"{{run.resume}}={mode} holds no checkpoint; name a run's checkpoint directory or path"
                )
        if paths:
            own_run = Path(source_dir).resolve() == self.directory.resolve()
            changed = check_compatible(source_dir, self.config, self.run_settings, own_run)
            if changed and self.chief:
                print(f"Starting from {source_dir}'s checkpoint with other update settings: {'; '.join(changed)}")
        if not self.chief:
            shutil.rmtree(self.save_directory, ignore_errors=True)
            self.manager = tf.train.CheckpointManager(
                self.checkpoint, str(self.save_directory), max_to_keep=1, checkpoint_name=self.name
            )
            if paths:
                self.latest = restore_newest_readable(self.trackables, paths)
            return
        for name in remove_failed_saves(self.directory):
            print(f"warning: removed {self.directory / name}, left by a save that failed", file=sys.stderr)
        self.manager = _open_manager(self.checkpoint, self.directory, self.name, self.max_to_keep)
        if paths:
            self.latest = restore_newest_readable(self.trackables, paths)
        write_json_atomically(self.directory / MODEL_FILE, self.config.to_json())
        write_json_atomically(self.directory / RUN_FILE, self.run_settings)

    def save(self, step: int) -> str:
        """Write a checkpoint of update ``step``, unless a weight is not finite."""
        for variable in self.weights:
            if not bool(tf.reduce_all(tf.math.is_finite(variable))):
                raise NonFiniteLossError(
                    f"update {step}: weight {variable.path} is not finite; stopped without saving it; "
                    "try lower learning rates or --info_reg_coeff"
                )
        if not self.chief:
            self.save_directory.mkdir(parents=True, exist_ok=True)
            self.manager.save(checkpoint_number=step)
            shutil.rmtree(self.save_directory, ignore_errors=True)
            self.latest = str(self.directory / f"{self.name}-{step}")
            return self.latest
        try:
            path = self.manager.save(checkpoint_number=step)
        except (tf.errors.OpError, OSError) as e:
            remove_failed_saves(self.directory)
            full = "No space left on device" in str(e) or getattr(e, "errno", None) == errno.ENOSPC
            reason = "the disk is full" if full else str(e).strip().splitlines()[0][:200]
            raise CheckpointError(
                f"saving update {step} to {self.directory} failed ({reason}); its partial files were removed and the "
                f"newest checkpoint, {self.latest or 'none yet'}, is intact; free space and rerun to resume"
            ) from e
        self.latest = path
        print(f"Model saved in file: {path}")
        return path

    def close(self) -> None:
        """Release the run's lock (the process's end does too); a non-chief worker removes its scratch directory."""
        self.lock.release()
        if not self.chief:
            shutil.rmtree(self.save_directory, ignore_errors=True)


@dataclasses.dataclass
class LoadedModel:
    """A trained G and Q, restored for use: every call runs in inference mode."""

    model: RegularizedGAN
    checkpoint_path: str
    step: int
    average_updates: int = 0
    """How many updates the moving average in G took in; 0: G holds the trained weights."""

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


def load(location: str | os.PathLike, layer_kit: str = "auto", generator: str = "average") -> LoadedModel:
    """Rebuild a run's model from a checkpoint directory (newest readable) or a checkpoint path.

    ``layer_kit`` chooses the kernels on this machine; the weights fit either kit.
    ``generator`` "average" puts in G the moving average of its weights where the run kept
    one (``--generator_average``), and the trained weights where it did not; "trained"
    always the trained weights, so the two can be compared on one checkpoint.
    """
    if generator not in averaging.GENERATOR_WEIGHTS:
        choices = ", ".join(averaging.GENERATOR_WEIGHTS)
        raise ValueError(f"unknown generator weights {generator!r}; choose one of {choices}")
    checkpoint_dir, paths = checkpoint_paths(location)
    config = dataclasses.replace(read_model_config(checkpoint_dir), layer_kit=layer_kit, sync_batch_norm=False)
    model = config.build()
    step = tf.Variable(0, dtype=tf.int64)
    average = averaging.WeightAverage(model.generator_state, decay=None)
    trackables = {"step": step, **model.keras_models, averaging.CHECKPOINT_KEY: average}
    path = restore_newest_readable(trackables, paths, partial=True)
    average_updates = int(average.updates.numpy()) if generator == "average" else 0
    if average_updates:
        average.copy_to(model.generator_state)
    return LoadedModel(model=model, checkpoint_path=path, step=int(step.numpy()), average_updates=average_updates)
