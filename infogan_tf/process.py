"""What a launcher sets up first, before TensorFlow is imported: a quiet start and signals that end in one line.

Until the trainer takes SIGINT and SIGTERM over (it finishes the update and saves), and
again after it hands them back (during evaluation), either signal ends the process with
one line and exit code 128 + the signal number instead of a traceback or silence: there
is nothing unsaved then, and rerunning the command continues (a finished run is not
trained again).
"""

from __future__ import annotations

import os
import signal
import sys


def _exit_on_signal(signum: int, frame) -> None:
    name = signal.Signals(signum).name
    print(f"stopped by {name} outside training (nothing unsaved); rerun the same command to continue", file=sys.stderr)
    sys.exit(128 + signum)


def prepare_process() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ start-up chatter buries the log; set it to see it
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_on_signal)
