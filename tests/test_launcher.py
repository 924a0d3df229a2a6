"""The launcher as a user runs it: a subprocess with flags."""

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO

from infogan_tf.datasets import MnistDataset
from infogan_tf.evaluation import classifier


def run_launcher(*flags, timeout=600, env=None):
    return subprocess.run(
        [sys.executable, str(REPO / "launchers" / "run_mnist_exp.py"), *flags],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
    )


def test_tiny_run_end_to_end(tmp_path, mnist_dir):
    cache = tmp_path / "cache"
    model, accuracy = classifier.train_classifier(MnistDataset(str(mnist_dir)), epochs=1, limit=2000)
    cache.mkdir()
    model.save(cache / "mnist_classifier.keras")
    (cache / "mnist_classifier.json").write_text(json.dumps({"test_accuracy": accuracy}))
    result = run_launcher(
        f"--data_dir={mnist_dir}",
        "--eval_samples=200",
        f"--root_log_dir={tmp_path / 'logs'}",
        f"--root_checkpoint_dir={tmp_path / 'ckt'}",
        "--exp_name=tiny",
        "--batch_size=8",
        "--updates_per_epoch=3",
        "--max_epoch=2",
        "--leak=0.1",
        env=dict(os.environ, **{classifier.CACHE_ENV: str(cache)}),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("Epoch ") == 2 and "MI_disc" in result.stdout
    flags_file = (tmp_path / "logs" / "tiny" / "flags.txt").read_text()
    assert "--leak=0.1" in flags_file and "--batch_size=8" in flags_file
    assert (tmp_path / "ckt" / "tiny" / "checkpoint").is_file()
    assert len(list((tmp_path / "logs" / "tiny" / "images").glob("*.png"))) == 6
    results = json.loads((tmp_path / "logs" / "tiny" / "results.json").read_text())  # every run evaluates itself
    assert results["step"] == 6 and results["classifier_test_accuracy"] == accuracy
    assert "| Test error, categorical code, Hungarian map | 5% |" in result.stdout


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--batch_size=0", "batch_size"),
        ("--generator_learning_rate=5", "--generator_learning_rate must lie in (0, 1]"),
        ("--network_type=svhn", "network_type"),
        ("--latent_spec=uniform:62,categorcal:10:reg", "token 2 'categorcal:10:reg': unknown family"),
    ],
)
def test_bad_flags_exit_with_a_readable_message(flag, message):
    result = run_launcher(flag, timeout=120)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_data_is_one_clear_error(tmp_path):
    result = run_launcher(f"--data_dir={tmp_path}", f"--root_log_dir={tmp_path}", f"--root_checkpoint_dir={tmp_path}")
    assert result.returncode != 0
    assert "train-images-idx3-ubyte.gz is missing; pass --data_dir=DIR" in result.stderr
    assert "Traceback" not in result.stderr
