"""What a launcher sets up before TensorFlow loads: oneDNN's kernels on every x86-64 CPU (unless the user says no),
and one-line exits on a signal."""

import os
import platform
import signal
import subprocess
import sys

import pytest

x86_only = pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"), reason="oneDNN is asked for on x86-64 CPUs only"
)


def run_python(code: str, **env_changes: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    env.update({k: v for k, v in env_changes.items() if v is not None})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)


ASK_THEN_LOAD = (
    "import os\n"
    "from infogan_tf.process import onednn_enabled, prepare_process\n"
    "prepare_process()\n"
    "import tensorflow\n"
    "print(os.environ['TF_ENABLE_ONEDNN_OPTS'], onednn_enabled())\n"
)


@x86_only
def test_a_launcher_process_runs_onednn_kernels_whatever_the_cpu():
    result = run_python(ASK_THEN_LOAD)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["1", "True"]


@x86_only
def test_the_user_can_keep_eigen_kernels():
    result = run_python(ASK_THEN_LOAD, TF_ENABLE_ONEDNN_OPTS="0")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["0", "False"]


@x86_only
def test_asking_after_tensorflow_loaded_changes_nothing():
    result = run_python(
        "import os\n"
        "import tensorflow\n"
        "from infogan_tf.process import prefer_onednn\n"
        "print(prefer_onednn(), os.environ.get('TF_ENABLE_ONEDNN_OPTS'))\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False", "None"]


FREED_UNRESTORED = """
import os, signal, sys
from infogan_tf import process
process.prepare_process()
import tensorflow as tf
path = tf.train.Checkpoint(a=tf.Variable(1.0), b=tf.Variable(2.0)).write(sys.argv[1])
status = tf.train.Checkpoint(a=tf.Variable(0.0)).read(path)  # b unrestored: TensorFlow warns when it is freed
if sys.argv[2] == "signal":
    os.kill(os.getpid(), signal.SIGTERM)
sys.exit(143)
"""


def test_a_signal_exit_says_one_line_and_nothing_torn_down_after_it_speaks(tmp_path):
    """As a SIGTERM during the restarts' scoring: a checkpoint read cut short would warn once per variable."""
    script = tmp_path / "freed.py"
    script.write_text(FREED_UNRESTORED)
    runs = {
        how: subprocess.run(
            [sys.executable, str(script), str(tmp_path / "ckpt"), how], capture_output=True, text=True, timeout=300
        )
        for how in ("signal", "plain")
    }
    assert "could not be found in the restored object" in runs["plain"].stderr  # what a signal exit silences
    signalled = runs["signal"]
    assert signalled.returncode == 128 + signal.SIGTERM
    assert "stopped by SIGTERM outside training" in signalled.stderr
    assert "could not be found" not in signalled.stderr and "WARNING:tensorflow" not in signalled.stderr


FINISHED = """
import os, signal
from infogan_tf import process
process.prepare_process()
process.finished("the evaluation (its results are written)")
os.kill(os.getpid(), signal.SIGTERM)
"""


def test_a_signal_after_the_work_is_done_says_the_work_is_complete():
    result = subprocess.run([sys.executable, "-c", FINISHED], capture_output=True, text=True, timeout=300)
    assert result.returncode == 128 + signal.SIGTERM
    assert result.stderr.strip().splitlines()[-1] == (
        "stopped by SIGTERM after the evaluation (its results are written) was complete"
    )
