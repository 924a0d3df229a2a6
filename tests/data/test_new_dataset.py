"""Adding a dataset as the README says: a module with an ImageDataset and a launcher, nothing else.

The test writes both files into a fresh directory, runs the launcher as a user would, and
checks that training and the evaluation (clustering against labels, sample quality with
a classifier built for these images, traversals, the L_I curve) ran on it.
"""

import json
import os
import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import run_command

DATASET_MODULE = '''
"""Bars: 16x16 images of a horizontal bar, a vertical bar or a square, at random places."""

import numpy as np

from infogan_tf.data import ImageDataset, register_dataset


def draw(rng, n):
    labels = rng.integers(0, 3, n)
    images = np.zeros((n, 16, 16), np.uint8)
    for image, label in zip(images, labels):
        r, c = rng.integers(1, 11, 2)
        if label == 0:
            image[r : r + 3, 1:15] = 255
        elif label == 1:
            image[1:15, c : c + 3] = 255
        else:
            image[r : r + 5, c : c + 5] = 255
    return images, labels


@register_dataset
class Bars(ImageDataset):
    name = "bars"
    image_shape = (16, 16, 1)
    num_classes = {num_classes}

    def __init__(self, data_dir=None):
        rng = np.random.default_rng(0)
        train, test = draw(rng, 192), draw(rng, 96)
        if self.num_classes is None:
            train, test = (train[0], None), (test[0], None)
        super().__init__(train=train, test=test)
'''

LAUNCHER = '''
"""The bars experiment: a 3-way code for the shape and one continuous code."""

import bars  # noqa: F401  (registers the dataset)

from infogan_tf_launchers.command import launch

SETTINGS = dict(
    dataset="bars",
    network_type="mnist",
    latent_spec="uniform:8,categorical:3:reg,uniform:1:reg:fix_std",
    batch_size=16,
    updates_per_epoch=4,
    max_epoch=2,
    root_log_dir="logs/bars",
    root_checkpoint_dir="ckt/bars",
)

if __name__ == "__main__":
    launch(SETTINGS)
'''


@pytest.mark.parametrize("labelled", [True, False])
def test_a_new_dataset_trains_and_is_evaluated(tmp_path, labelled):
    (tmp_path / "bars.py").write_text(DATASET_MODULE.format(num_classes=3 if labelled else None))
    (tmp_path / "run_bars_exp.py").write_text(LAUNCHER)
    env = dict(os.environ, INFOGAN_CACHE_DIR=str(tmp_path / "cache"))
    result = run_command(
        [sys.executable, "run_bars_exp.py", "--exp_name=toy", "--eval_samples=300"], cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log_dir = tmp_path / "logs" / "bars" / "toy"
    records = [json.loads(line) for line in (log_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [4, 8] and all(np.isfinite(r["MI_disc"]) for r in records)
    results = json.loads((log_dir / "results.json").read_text())
    assert results["dataset"] == "bars" and results["step"] == 8
    traversal = tf.io.decode_png(tf.io.read_file(str(log_dir / "traversal_image_0_Categorical.png"))).numpy()
    assert traversal.shape == (10 * 16, 3 * 16, 1)
    assert (log_dir / "mutual_information.png").is_file()
    model_json = json.loads((tmp_path / "ckt" / "bars" / "toy" / "model.json").read_text())
    assert model_json["image_shape"] == [16, 16, 1] and model_json["output_dist"] == "mean_bernoulli"
    if labelled:
        assert 0 <= results["unsupervised_error_hungarian"] <= 2 / 3  # the best map gets a third right at worst
        assert sorted(results["category_to_digit"].values()) == [0, 1, 2]
        assert 0 < results["classifier_test_accuracy"] <= 1 and 1 <= results["classifier_score"] <= 3
        assert (tmp_path / "cache" / "bars_classifier.keras").is_file() and (log_dir / "confusion.png").is_file()
        assert "| Test error, categorical code, Hungarian map | — |" in result.stdout  # the paper has no figure
    else:
        assert "unsupervised_error_hungarian" not in results and "classifier_score" not in results
        assert not (tmp_path / "cache").exists()
        assert "Fréchet distance and code→label agreement skipped: bars has no labels" in result.stdout
