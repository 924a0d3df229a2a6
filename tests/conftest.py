import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from infogan_tf.process import prefer_onednn

prefer_onednn()  # the kernels the launchers run, before TensorFlow loads

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from infogan_tf import experiment  # noqa: E402
from infogan_tf.config import RunConfig, TrainConfig  # noqa: E402
from infogan_tf.data import ImageDataset, MnistDataset  # noqa: E402
from infogan_tf.evaluation import classifier  # noqa: E402
from infogan_tf.experiment import Run, build_trainer  # noqa: E402
from infogan_tf.latent_spec import MNIST_LATENT_SPEC  # noqa: E402
from infogan_tf.models import ModelConfig  # noqa: E402
from infogan_tf.terms import build_terms  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"
SHARED_FASHION_MNIST = REPO.parent / "shared" / "data" / "fashion_mnist"


@pytest.fixture
def tmp_path(tmp_path: Path):
    """pytest's ``tmp_path``, removed once its test ends.

    A checkpoint of the MNIST model weighs about 156 MB with its Adam slots, and
    pytest keeps every test's directory until the session ends: the suite used
    to hold 14 GB at its end, which filled a CI disk.
    """
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The shared offline MNIST copy (or $INFOGAN_DATA_DIR)."""
    path = Path(os.environ.get("INFOGAN_DATA_DIR", SHARED_MNIST))
    if not (path / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"no MNIST IDX files at {path}; set INFOGAN_DATA_DIR")
    return path


@pytest.fixture(scope="session")
def fashion_mnist_dir() -> Path:
    """The shared offline Fashion-MNIST copy (or $INFOGAN_FASHION_MNIST_DIR)."""
    path = Path(os.environ.get("INFOGAN_FASHION_MNIST_DIR", SHARED_FASHION_MNIST))
    if not (path / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"no Fashion-MNIST IDX files at {path}; set INFOGAN_FASHION_MNIST_DIR")
    return path


@pytest.fixture(scope="session")
def tiny_classifier_cache(mnist_dir, tmp_path_factory):
    """A quickly trained classifier where $INFOGAN_CACHE_DIR points, so evaluation skips the real one."""
    cache = tmp_path_factory.mktemp("cache")
    model, accuracy = classifier.train_classifier(MnistDataset(str(mnist_dir)), epochs=1, limit=2000)
    model.save(cache / "mnist_classifier.keras")
    (cache / "mnist_classifier.json").write_text(json.dumps({"test_accuracy": accuracy}))
    return dict(os.environ, **{classifier.CACHE_ENV: str(cache)}), accuracy


class RandomImages(ImageDataset):
    """64 random 28x28 images and no labels: for tests that need no real data."""

    name = "random"
    image_shape = (28, 28, 1)

    def __init__(self, data_dir=None):
        super().__init__(train=(np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8), None))


def make_run(
    tmp_path: Path,
    dataset: ImageDataset | None = None,
    batch_size: int = 8,
    seed: int = 0,
    snapshot_interval: int = 1000,
    latent_spec: str = MNIST_LATENT_SPEC,
    config_overrides: dict | None = None,
    **trainer_kwargs,
) -> Run:
    """A run of the original MNIST model on ``dataset`` (random images by default), writing under ``tmp_path``.

    ``trainer_kwargs``: ``TrainConfig`` fields, ``strategy``, and ``invariance`` (its settings).
    """
    dataset = dataset or RandomImages()
    strategy = trainer_kwargs.pop("strategy", None)
    invariance = trainer_kwargs.pop("invariance", None)
    trainer = build_trainer(
        ModelConfig.for_dataset(dataset, latent_spec, **(config_overrides or {})),
        TrainConfig(batch_size=batch_size, **trainer_kwargs),
        lambda start: dataset.train.batches(batch_size, seed=seed, start=start),
        seed=seed,
        strategy=strategy,
        terms=build_terms({"invariance": invariance} if invariance else {}),
    )
    directories = (tmp_path / "logs", tmp_path / "ckt")
    run_config = RunConfig(snapshot_interval=snapshot_interval)
    return experiment.make_run(trainer, dataset, "experiment", directories, seed=seed, run=run_config)


def real_batch(n: int = 8) -> tf.Tensor:
    return tf.constant(np.random.default_rng(1).random((n, 784), dtype=np.float32))


def snapshot(variables) -> list[np.ndarray]:
    return [v.numpy().copy() for v in variables]


def changed(before, variables) -> list[bool]:
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


IMPORT_TIME_VARIABLES = re.compile(r"(TF_(?!CONFIG$)|ONEDNN_|MKL_|OMP_|KMP_|CUDA_|XLA_|PYTHON)")
"""Environment variables that TensorFlow or Python read as they start, so a forked launcher cannot honour a change."""


class LaunchServer:
    """The client of ``scripts/launch_server.py``: one per test process, started on first use."""

    def __init__(self):
        self.env = dict(os.environ)
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "scripts" / "launch_server.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=REPO,
        )

    def serves(self, command: list[str], env: dict[str, str]) -> bool:
        """Whether ``command`` is a Python script that a fork of the server runs exactly as a new process would."""
        if self.process.poll() is not None or len(command) < 2 or command[0] != sys.executable:
            return False
        if not command[1].endswith(".py") or command[1].startswith("-"):
            return False
        keys = {k for k in {*env, *self.env} if IMPORT_TIME_VARIABLES.match(k)}
        return all(env.get(k) == self.env.get(k) for k in keys)

    def run(self, command: list[str], timeout: float, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
        with tempfile.TemporaryDirectory() as scratch:
            out, err = Path(scratch) / "stdout", Path(scratch) / "stderr"
            request = {"argv": command[1:], "cwd": str(cwd), "env": env, "stdout": str(out), "stderr": str(err)}
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            pid = json.loads(self.process.stdout.readline())["pid"]
            killed = threading.Event()
            timer = threading.Timer(timeout, _kill, (pid, killed))  # the reply waits for the child: kill it then
            timer.start()
            status = json.loads(self.process.stdout.readline())["status"]
            timer.cancel()
            stdout, stderr = out.read_text(errors="replace"), err.read_text(errors="replace")
        if killed.is_set():
            raise subprocess.TimeoutExpired(command, timeout, stdout, stderr)
        return subprocess.CompletedProcess(command, os.waitstatus_to_exitcode(status), stdout, stderr)


def _kill(pid: int, killed: threading.Event) -> None:
    """Kill a child of the launch server that ran past its time limit."""
    killed.set()
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


_server: LaunchServer | None = None


def run_command(
    command: list[str], timeout: float = 600, cwd: Path = REPO, env: dict | None = None, check: bool = False
) -> subprocess.CompletedProcess:
    """``subprocess.run(command, capture_output=True, text=True, ...)``; a Python script runs in a fork of a
    process that has TensorFlow loaded already (``scripts/launch_server.py``), unless $INFOGAN_TEST_FORK=0."""
    global _server
    env = dict(os.environ if env is None else env)
    if os.environ.get("INFOGAN_TEST_FORK", "1") != "0":
        if _server is None or _server.process.poll() is not None:
            _server = LaunchServer()
        if _server.serves(command, env):
            result = _server.run(command, timeout, Path(cwd), env)
            if check:
                result.check_returncode()
            return result
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env, check=check)


def run_experiment(script: str, data_dir: Path, out: Path, *flags: str, env: dict | None = None):
    """``launchers/<script>`` as a user runs it: a tiny run named "tiny" on ``data_dir``, writing under ``out``."""
    command = [sys.executable, str(REPO / "launchers" / script), f"--data_dir={data_dir}"]
    command += [f"--root_log_dir={out / 'logs'}", f"--root_checkpoint_dir={out / 'ckt'}", "--exp_name=tiny", *flags]
    return run_command(command, env=env)
