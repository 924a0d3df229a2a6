"""What a launcher sets up before TensorFlow loads: oneDNN's kernels on every x86-64 CPU, unless the user says no."""

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
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


def test_a_launcher_process_runs_onednn_kernels_whatever_the_cpu():
    result = run_python(ASK_THEN_LOAD)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["1", "True"]


def test_the_user_can_keep_eigen_kernels():
    result = run_python(ASK_THEN_LOAD, TF_ENABLE_ONEDNN_OPTS="0")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["0", "False"]


def test_asking_after_tensorflow_loaded_changes_nothing():
    result = run_python(
        "import os\n"
        "import tensorflow\n"
        "from infogan_tf.process import prefer_onednn\n"
        "print(prefer_onednn(), os.environ.get('TF_ENABLE_ONEDNN_OPTS'))\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False", "None"]
