"""What the loop calls between updates: checkpoints, image grids, the metrics log and TensorBoard, progress.

The experiment lists them in this order: ``Checkpointer``, ``ImageGrids``, ``MetricsLog``
(last of the epoch's work, so its ``epoch_seconds`` counts the others'), ``ProgressBar``.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path
from typing import TextIO

import keras
import tensorflow as tf

from infogan_tf.checkpoints import RunCheckpoint
from infogan_tf.records import append_record, keep_records_until
from infogan_tf.trainer import Callback, InfoGANTrainer
from infogan_tf.visualize import FactorVisualizer, save_png


class LazySummaryWriter:
    """A TensorBoard writer for ``log_dir``, opened on first use: building a run writes no file.

    A run is built whole before it takes its lock; a second process that builds one and is
    then refused must leave the first one's log directory as it was.
    """

    def __init__(self, log_dir: str | Path):
        self.log_dir = str(log_dir)
        self._writer: tf.summary.SummaryWriter | None = None

    def as_default(self):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        return self._writer.as_default()

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()


class Checkpointer(Callback):
    """Saves every ``interval`` updates and when the run closes (at its end, early, or on a signal).

    Checkpoints are written every ``snapshot_interval`` updates and at the end; the
    original's 10000 never fired within its 5000 updates (openai/InfoGAN#6). Put it after
    the callbacks that write an epoch's records.
    """

    def __init__(self, run_checkpoint: RunCheckpoint, interval: int):
        self.run_checkpoint = run_checkpoint
        self.interval = interval
        self.saved_at: int | None = None

    def on_train_begin(self, trainer: InfoGANTrainer, step: int) -> None:
        self.saved_at = step

    def on_update_end(self, trainer: InfoGANTrainer, step: int) -> None:
        if step % self.interval == 0 and step % trainer.updates_per_epoch:
            self._save(trainer, step)

    def on_epoch_end(self, trainer: InfoGANTrainer, epoch: int, step: int, logs: dict, timing: dict) -> None:
        """An epoch's last update is saved here, after the epoch's record is written (this callback runs last).

        A process killed between the two resumes from the checkpoint before and writes
        the record again; saved first, the record would be lost (a gap in metrics.jsonl).
        """
        if step % self.interval == 0:
            self._save(trainer, step)

    def on_train_end(self, trainer: InfoGANTrainer, step: int) -> None:
        if step != self.saved_at:
            self._save(trainer, step)

    def _save(self, trainer: InfoGANTrainer, step: int) -> None:
        trainer.check_finite()  # the trainer may not have read its flag since the last update
        self.run_checkpoint.save(step)
        self.saved_at = step


class ImageGrids(Callback):
    """One grid per regularised code at each epoch's end, as PNG and in TensorBoard.

    Fixed noise rows (drawn once from ``seed``), so grids of different epochs compare.
    """

    def __init__(
        self, log_dir: str | Path, writer: tf.summary.SummaryWriter | LazySummaryWriter, to_unit_range, seed: int = 0
    ):
        self.image_dir = Path(log_dir) / "images"
        self.writer = writer
        self.to_unit_range = to_unit_range
        self.seed = seed
        self.visualizer: FactorVisualizer | None = None

    def on_train_begin(self, trainer: InfoGANTrainer, step: int) -> None:
        self.image_dir.mkdir(parents=True, exist_ok=True)
        self.visualizer = FactorVisualizer(trainer.model, seed=self.seed)

    def on_epoch_end(self, trainer: InfoGANTrainer, epoch: int, step: int, logs: dict, timing: dict) -> None:
        with self.writer.as_default():
            for name, grid in self.visualizer.grids(self.to_unit_range).items():
                tf.summary.image(name, grid[None], step=step)
                save_png(self.image_dir / f"{name}_epoch_{epoch:03d}.png", grid)


class MetricsLog(Callback):
    """The console line, TensorBoard scalars and one ``metrics.jsonl`` record per epoch.

    TensorBoard gets the epoch averages that the console prints (the original summarised
    one extra batch at epoch end). A resumed run cuts ``metrics.jsonl`` back to the
    restored update, so it continues without a gap or a duplicate.
    """

    def __init__(self, log_dir: str | Path, writer: tf.summary.SummaryWriter | LazySummaryWriter):
        self.path = Path(log_dir) / "metrics.jsonl"
        self.writer = writer

    def on_train_begin(self, trainer: InfoGANTrainer, step: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keep_records_until(self.path, step)

    def on_epoch_end(self, trainer: InfoGANTrainer, epoch: int, step: int, logs: dict, timing: dict) -> None:
        record = {
            "ms_per_update": timing["ms_per_update"],
            "update_seconds": timing["update_seconds"],
            "epoch_seconds": time.perf_counter() - timing["started"],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        line = "; ".join(f"{k}: {v:.6g}" for k, v in logs.items())
        print(f"Epoch {epoch} | {line} | {record['ms_per_update']:.1f} ms/update")
        sys.stdout.flush()
        with self.writer.as_default():
            for k, v in logs.items():
                tf.summary.scalar(k, v, step=step)
            tf.summary.scalar("ms_per_update", record["ms_per_update"], step=step)
        append_record(self.path, {"epoch": epoch, "step": step, **record, **logs})

    def on_train_end(self, trainer: InfoGANTrainer, step: int) -> None:
        self.writer.flush()


class ProgressBar(Callback):
    """A bar per epoch on a terminal or in a notebook; nothing where output is redirected (epoch lines suffice)."""

    def __init__(self, updates_per_epoch: int, stream: TextIO | None = None):
        self.updates_per_epoch = updates_per_epoch
        stream = stream or sys.stdout
        in_notebook = stream is sys.stdout and "ipykernel" in sys.modules
        self.enabled = in_notebook or (hasattr(stream, "isatty") and stream.isatty())
        self.bar: keras.utils.Progbar | None = None

    def on_update_end(self, trainer: InfoGANTrainer, step: int) -> None:
        if not self.enabled:
            return
        done = (step - 1) % self.updates_per_epoch + 1
        if self.bar is None or done == 1:
            self.bar = keras.utils.Progbar(self.updates_per_epoch, unit_name="update")
        self.bar.update(done)

    def on_epoch_end(self, trainer: InfoGANTrainer, epoch: int, step: int, logs: dict, timing: dict) -> None:
        self.bar = None
