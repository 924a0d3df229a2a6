"""InfoGANTrainer: the loop. It iterates the compiled step and calls what happens between updates as callbacks.

Port of the loop of ``infogan/algos/infogan_trainer.py``. The step (``step.py``) owns the
update; metrics, TensorBoard, image grids, checkpoints and progress are callbacks
(``callbacks.py``); the resume decision lives in ``checkpoints``. What the loop itself
guarantees: the logged scalars are summed on the device and read once per epoch; the
first update whose losses or logged scalars are not finite stops the run, and is never
saved (the host reads the flag every ``check_interval`` updates, at epoch ends and before
every save, and names the first bad update however late it reads it, so a GPU need not
wait for the host after each update); SIGINT/SIGTERM finish the current update, let the
callbacks close the run (the checkpointer saves it) and raise ``TrainingInterrupted``.
With several workers (``MultiWorkerMirroredStrategy``), every update also all-gathers
whether any worker was signalled, so all of them stop after the same update and save
the same state.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import tensorflow as tf

from infogan_tf import strategies
from infogan_tf.losses import NonFiniteLossError
from infogan_tf.step import InfoGANStep


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM arrived (here, or at another worker); the callbacks closed the run (it was saved) first."""

    def __init__(self, signum: int, step: int, elsewhere: bool = False):
        self.signum, self.step = signum, step
        where = " at another worker" if elsewhere else ""
        super().__init__(f"stopped by {signal.Signals(signum).name}{where} at update {step}")


class StopTraining(Exception):
    """Raised by a callback's ``on_update_end`` to end the run early; the run is closed as at its end."""


class Callback:
    """What runs between updates. Every hook is optional."""

    def on_train_begin(self, trainer: InfoGANTrainer, step: int) -> None:
        """Before the first update; ``step`` is where the run starts (after a resume, where it resumed)."""

    def on_update_end(self, trainer: InfoGANTrainer, step: int) -> None:
        """After update number ``step`` (counted from 1) succeeded."""

    def on_epoch_end(
        self, trainer: InfoGANTrainer, epoch: int, step: int, logs: dict[str, float], timing: dict
    ) -> None:
        """``logs``: the epoch's averaged logged scalars; ``timing``: its update time and start time."""

    def on_train_end(self, trainer: InfoGANTrainer, step: int) -> None:
        """At the end, after ``StopTraining`` or after a signal; not after a failure (nothing bad gets saved)."""


class _StopOnSignal:
    """Turns SIGINT/SIGTERM into a flag that the loop checks between updates."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signum: int | None = None
        self._previous = {}

    def __enter__(self) -> _StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for s in self.SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.signum = signum

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)


class InfoGANTrainer:
    """Runs ``train_step`` for ``max_epoch`` epochs of ``updates_per_epoch`` updates on ``batches(start)``.

    ``batches(start)`` yields the data stream from batch number ``start`` on, so a resumed
    run continues it exactly (under a strategy: per-replica values). The update counter
    and the epoch's running log sums are the trainer's own state (``trackables``, for
    checkpoints); ``step`` counts updates. Build it inside the step's strategy scope.
    """

    def __init__(
        self,
        train_step: InfoGANStep,
        batches: Callable[[int], Iterable[tf.Tensor]],
        max_epoch: int = 100,
        updates_per_epoch: int = 100,
        jit_compile: bool = False,
        check_interval: int = 1,
    ):
        self.train_step = train_step
        self.model = train_step.model
        self.batches = batches
        self.max_epoch = max_epoch
        self.updates_per_epoch = updates_per_epoch
        self.log_keys = train_step.log_keys
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self._log_sums = tf.Variable(tf.zeros(len(self.log_keys)), trainable=False, name="log_sums")
        self.check_interval = check_interval
        self._first_nonfinite = tf.Variable([-1, -1], dtype=tf.int64, trainable=False, name="first_nonfinite")
        """(update, index of the first non-finite check) of the first bad update; -1 while there is none."""
        self._nonfinite_checks = tf.Variable(tf.zeros(len(train_step.check_keys)), trainable=False)
        self._last_checks = tf.Variable(tf.zeros(len(train_step.check_keys)), trainable=False, name="last_checks")
        self.strategy = train_step.strategy
        self.multi_worker = strategies.is_multi_worker(self.strategy)
        self._stop_agreed = tf.Variable(0, dtype=tf.int32, trainable=False, name="stop_agreed")
        self.update = tf.function(self.eager_update, jit_compile=jit_compile)
        self.last_logs: dict[str, float] = {}

    @property
    def trackables(self) -> dict[str, Any]:
        """Everything a checkpoint must hold to continue this run exactly."""
        return {"step": self.step, "log_sums": self._log_sums, **self.train_step.trackables}

    def restored(self) -> None:
        """After ``trackables`` were restored: keep what this run was built with, not the checkpoint's."""
        self.train_step.restored()

    def eager_update(self, real_x: tf.Tensor, stop_requested: tf.Tensor | None = None) -> None:
        """One update and its bookkeeping, uncompiled (``update`` is this under ``tf.function``).

        ``stop_requested`` (several workers only): 1.0 where this worker was signalled (a
        float: collectives place int32 on the host); whether any replica's is lands in
        ``_stop_agreed``.
        """
        if stop_requested is not None:
            agreed = self.strategy.run(_any_replica, args=(stop_requested,))
            self._stop_agreed.assign(tf.cast(self.strategy.experimental_local_results(agreed)[0] > 0, tf.int32))
        checks = self.train_step(real_x, self.step)
        self._log_sums.assign_add(checks[: len(self.log_keys)])
        bad = tf.logical_not(tf.math.is_finite(checks))
        first = tf.logical_and(self._first_nonfinite[0] < 0, tf.reduce_any(bad))
        where = tf.stack([self.step + 1, tf.argmax(tf.cast(bad, tf.int32), output_type=tf.int64)])
        self._first_nonfinite.assign(tf.where(first, where, self._first_nonfinite))
        self._nonfinite_checks.assign(tf.where(first, checks, self._nonfinite_checks))
        self._last_checks.assign(checks)
        self.step.assign_add(1)

    def train(self, callbacks: Sequence[Callback] = ()) -> dict[str, float]:
        """Run until ``max_epoch`` epochs are done (or a callback stops it); returns the last epoch's averaged logs.

        ``callbacks`` run between updates in their order (a checkpointer last, so it saves what the others saw).
        """
        start_step = int(self.step.numpy())
        batches = iter(self.batches(start_step))
        for callback in callbacks:
            callback.on_train_begin(self, start_step)
        with _StopOnSignal() as stop:
            try:
                step = self._run_epochs(start_step, batches, stop, callbacks)
            except StopTraining:
                step = int(self.step.numpy())
            for callback in callbacks:
                callback.on_train_end(self, step)
        if stop.signum is not None:
            raise TrainingInterrupted(stop.signum, step)
        if int(self._stop_agreed.numpy()):
            raise TrainingInterrupted(signal.SIGTERM, step, elsewhere=True)
        return self.last_logs

    def _run_epochs(self, start_step: int, batches, stop: _StopOnSignal, callbacks: Sequence[Callback]) -> int:
        """Returns the last update's number; early when a signal arrived."""
        counter = start_step
        first_epoch, first_update = divmod(start_step, self.updates_per_epoch)
        for epoch in range(first_epoch, self.max_epoch):
            first = first_update if epoch == first_epoch else 0
            if first == 0:
                self._log_sums.assign(tf.zeros_like(self._log_sums))
            started = time.perf_counter()
            for i in range(first, self.updates_per_epoch):
                if self.multi_worker:
                    self.update(next(batches), tf.constant(float(stop.signum is not None)))
                else:
                    self.update(next(batches))
                counter = epoch * self.updates_per_epoch + i + 1
                if counter % self.check_interval == 0 or i == self.updates_per_epoch - 1:
                    self.check_finite()
                for callback in callbacks:
                    callback.on_update_end(self, counter)
                if int(self._stop_agreed.numpy()) if self.multi_worker else stop.signum is not None:
                    return counter
            update_seconds = time.perf_counter() - started
            self.last_logs = dict(zip(self.log_keys, (self._log_sums.numpy() / self.updates_per_epoch).tolist()))
            timing = {
                "ms_per_update": 1000.0 * update_seconds / (self.updates_per_epoch - first),
                "update_seconds": update_seconds,
                "started": started,
            }
            for callback in callbacks:
                callback.on_epoch_end(self, epoch, counter, self.last_logs, timing)
        return counter

    def check_finite(self) -> None:
        """Raise ``NonFiniteLossError`` naming the first update whose losses or logged scalars were not finite."""
        update, key = (int(v) for v in self._first_nonfinite.numpy())
        if update >= 0:
            value = float(self._nonfinite_checks.numpy()[key])
            raise NonFiniteLossError(
                f"update {update}: {self.train_step.check_keys[key]} is {value}; stopped without saving it; "
                "try lower learning rates or {train.info_reg_coeff}"
            )


def _any_replica(flag: tf.Tensor) -> tf.Tensor:
    """The largest ``flag`` of all replicas: positive where any replica's is."""
    return tf.reduce_max(tf.distribute.get_replica_context().all_gather(flag[None], axis=0))
