"""Fashion-MNIST: real files from ../shared, the tfds fallback, and the launcher end to end."""

import json
import os

import numpy as np
import pytest
from conftest import run_experiment

from infogan_tf.data import DATA_DIR_ENV, DATASETS, DataError, FashionMnistDataset
from infogan_tf.evaluation import classifier


@pytest.fixture(scope="module")
def fashion(fashion_mnist_dir):
    return FashionMnistDataset(str(fashion_mnist_dir))


def test_the_files_load_with_the_published_labels_and_the_original_splits(fashion):
    assert DATASETS["fashion_mnist"] is FashionMnistDataset
    assert (fashion.train.num_examples, fashion.validation.num_examples, fashion.test.num_examples) == (
        55000,
        5000,
        10000,
    )
    assert np.bincount(fashion.test.labels).tolist() == [1000] * 10  # balanced, as published
    assert fashion.validation.labels[:5].tolist() == [9, 0, 0, 3, 0] and fashion.test.labels[:5].tolist() == [
        9,
        2,
        1,
        1,
        6,
    ]
    images = fashion.test.images
    assert images.shape == (10000, 784) and images.min() >= 0 and images.max() <= 1
    assert abs(images.mean() - 0.2868) < 0.001  # the test-set mean pixel value, 73.1 of 255


def test_mnist_s_environment_variable_is_not_read_as_fashion_mnist(monkeypatch, mnist_dir, tmp_path):
    monkeypatch.setenv(DATA_DIR_ENV, str(mnist_dir))  # set for MNIST runs
    monkeypatch.setenv("INFOGAN_FASHION_MNIST_DIR", str(tmp_path / "missing"))
    with pytest.raises(
        DataError, match=r"Fashion-MNIST directory .*missing does not exist; .*INFOGAN_FASHION_MNIST_DIR"
    ):
        FashionMnistDataset()


def test_without_a_directory_tfds_is_used(monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.delenv("INFOGAN_FASHION_MNIST_DIR", raising=False)
    with tfds.testing.mock_data(num_examples=5100):
        fashion = FashionMnistDataset()
    assert fashion.train.num_examples == 100 and fashion.test.images.shape == (5100, 784)


def test_the_launcher_trains_and_evaluates_it(tmp_path, fashion, fashion_mnist_dir):
    model, accuracy = classifier.train_classifier(fashion, epochs=1, limit=2000)
    model.save(tmp_path / "fashion_mnist_classifier.keras")
    (tmp_path / "fashion_mnist_classifier.json").write_text(json.dumps({"test_accuracy": accuracy}))
    result = run_experiment(
        "run_fashion_mnist_exp.py",
        fashion_mnist_dir,
        tmp_path,
        "--batch_size=16",
        "--updates_per_epoch=3",
        "--max_epoch=2",
        "--eval_samples=200",
        env=dict(os.environ, INFOGAN_CACHE_DIR=str(tmp_path)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "logs" / "tiny" / "results.json").read_text())
    assert results["dataset"] == "fashion_mnist" and results["step"] == 6
    assert 0 <= results["unsupervised_error_hungarian"] <= 0.9 and results["classifier_test_accuracy"] == accuracy
    assert "| Test error, categorical code, Hungarian map | — |" in result.stdout  # the paper has no figure
    assert (tmp_path / "logs" / "tiny" / "confusion.png").is_file()
