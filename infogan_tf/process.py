"""What a launcher sets up first, before TensorFlow is imported: oneDNN's kernels, a quiet start, one-line exits.

Until the trainer takes SIGINT and SIGTERM over (it finishes the update and saves), and
again after it hands them back (during evaluation), either signal ends the process with
one line and exit code 128 + the signal number instead of a traceback or silence: there
is nothing unsaved then, and rerunning the command continues (a finished run is not
trained again).
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import signal
import sys
from collections.abc import Iterator

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"

_rerun = "rerun the same command"
"""How the one-line exits say to continue; ``set_rerun_command`` names the run once it is known."""


def set_rerun_command(hint: str) -> None:
    """Make the one-line exits say ``hint`` (e.g. the same command with the run's generated name)."""
    global _rerun
    _rerun = hint


def rerun_command() -> str:
    return _rerun


def exit_quietly(code: int) -> None:
    """Exit with ``code`` and nothing after the line already printed.

    Objects torn down on the way out would otherwise log: a checkpoint read cut short by
    a signal warns once per variable it did not restore (hundreds of lines).
    """
    logging.getLogger("tensorflow").setLevel(logging.CRITICAL)
    sys.exit(code)


def _exit_on_signal(signum: int, frame) -> None:
    name = signal.Signals(signum).name
    print(f"stopped by {name} outside training (nothing unsaved); {_rerun} to continue", file=sys.stderr)
    exit_quietly(128 + signum)


def prefer_onednn() -> bool:
    """Ask TensorFlow for its oneDNN kernels on any x86-64 CPU; False where it is too late (TF loaded) or not x86.

    TensorFlow's x86 Linux wheels switch oneDNN on by themselves only on CPUs with AVX-512
    VNNI-class instructions; elsewhere (an AVX2-only AMD EPYC, say) every convolution and
    matmul runs on Eigen, whose convolution gradients are far slower (docs/speed.md).
    TensorFlow reads the variable once, when it loads, so this must run before the first
    ``import tensorflow``; a value the user set (0 turns oneDNN off) is left as it is.
    """
    if "tensorflow" in sys.modules or platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    os.environ.setdefault(ONEDNN_VARIABLE, "1")
    return True


def prepare_process() -> None:
    prefer_onednn()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ start-up chatter buries the log; set it to see it
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_on_signal)


def finished(what: str) -> None:
    """From now on a signal says that ``what`` is complete (the process is only tidying up) and exits as one."""

    def exit_after_the_work(signum: int, frame) -> None:
        print(f"stopped by {signal.Signals(signum).name} after {what} was complete", file=sys.stderr)
        exit_at_once(128 + signum)  # a SystemExit raised inside an object's __del__ would be printed and ignored

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, exit_after_the_work)


def exit_at_once(code: int = 0) -> None:
    """Exit now, skipping the interpreter's teardown; only once every file is written and closed.

    With TensorFlow loaded the teardown takes about a second, and Python has put the
    signals' default actions back by then: a SIGTERM there ended the process with no line
    (killed, -15) though its work was complete.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@contextlib.contextmanager
def deferred_signals() -> Iterator[list[int]]:
    """SIGINT and SIGTERM recorded (in the list it gives), not acted on, until the block ends.

    For work that must end whole or not at all, such as an export: a signal that raised
    while TensorFlow traces would surface as TensorFlow's error, with a traceback.
    """
    received: list[int] = []

    def record(signum: int, frame) -> None:
        received.append(signum)

    previous = {s: signal.signal(s, record) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def onednn_enabled() -> bool:
    """Whether this process's TensorFlow runs its oneDNN kernels (it loads TensorFlow to ask)."""
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())
