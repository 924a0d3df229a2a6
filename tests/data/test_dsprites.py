"""dSprites: the distributed .npz and tfds loaders, the 64x64 network, and a short run whose evaluation has MIG."""

import json

import numpy as np
import pytest
from conftest import run_experiment

from infogan_tf.data import DataError, DSpritesDataset
from infogan_tf.models import ModelConfig


def write_npz(directory, n=10240, seed=0):
    """A small file in the distributed format: 0/1 images, six factor columns (colour first, always 0)."""
    rng = np.random.default_rng(seed)
    classes = np.stack(
        [np.zeros(n, int), rng.integers(0, 3, n), rng.integers(0, 6, n), rng.integers(0, 40, n)]
        + [rng.integers(0, 32, n), rng.integers(0, 32, n)],
        axis=1,
    )
    images = np.zeros((n, 64, 64), np.uint8)
    for image, (_, shape, scale, _, x, y) in zip(images, classes):
        size = 4 + scale + 2 * shape
        image[y + 8 : y + 8 + size, x + 8 : x + 8 + size] = 1
    directory.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(directory / DSpritesDataset.FILE, imgs=images, latents_classes=classes)
    return images, classes


def test_the_distributed_file_loads_with_a_fixed_held_out_split(tmp_path):
    images, classes = write_npz(tmp_path)
    data = DSpritesDataset(str(tmp_path))
    assert (data.train.num_examples, data.test.num_examples) == (240, 10000)
    order = np.random.RandomState(0).permutation(len(images))
    np.testing.assert_array_equal(data.test.factors, classes[order[-10000:], 1:])
    np.testing.assert_array_equal(data.train.images[0], images[order[0]].reshape(-1).astype(np.float32))
    assert data.test.images.max() == 1.0 and data.labelled is False and data.factor_names[0] == "shape"


def test_a_bad_file_is_one_clear_error(tmp_path):
    with pytest.raises(DataError, match=r"dsprites_ndarray.*npz is missing; pass data_dir=DIR"):
        DSpritesDataset(str(tmp_path))
    (tmp_path / DSpritesDataset.FILE).write_bytes(b"not an npz")
    with pytest.raises(DataError, match="is not the distributed .npz"):
        DSpritesDataset(str(tmp_path))
    np.savez(tmp_path / DSpritesDataset.FILE, imgs=np.zeros((5, 32, 32), np.uint8), latents_classes=np.zeros((5, 6)))
    with pytest.raises(DataError, match=r"expected \[N, 64, 64\] and \[N, 6\]"):
        DSpritesDataset(str(tmp_path))


def test_without_a_directory_tfds_is_used(monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.delenv(DSpritesDataset.ENV, raising=False)
    with tfds.testing.mock_data(num_examples=10100):
        data = DSpritesDataset()
    assert data.train.num_examples == 100 and data.test.factors.shape == (10000, 5)
    assert data.test.factors[:, 0].max() < 3 and data.test.factors[:, 2].max() < 40  # each label within its classes


def trainable(m):
    return sum(int(np.prod(v.shape)) for v in m.trainable_variables)


def test_the_64x64_network_has_the_parameters_its_layers_say():
    model = ModelConfig(
        "uniform:62,categorical:3:reg,uniform:1:reg:fix_std", (64, 64, 1), network_type="conv64"
    ).build()
    nets = model.networks

    def conv(c_in, c_out):
        return 16 * c_in * c_out + c_out

    def dense(n_in, n_out):
        return n_in * n_out + n_out

    assert trainable(nets.d_body) == (
        conv(1, 64) + conv(64, 128) + 2 * 128 + conv(128, 256) + 2 * 256 + dense(8 * 8 * 256, 1024) + 2 * 1024
    )
    assert trainable(nets.q_head) == dense(1024, 128) + 2 * 128 + dense(128, 3 + 2)
    assert trainable(nets.generator) == (
        dense(66, 1024) + 2 * 1024 + dense(1024, 8 * 8 * 256) + 2 * 8 * 8 * 256
        + conv(256, 128) + 2 * 128 + conv(128, 64) + 2 * 64 + conv(64, 1)
    )  # fmt: skip
    x = model.generate_mean(model.latent_dist.sample_prior(2))
    assert x.shape == (2, 64 * 64)


def test_the_launcher_trains_and_reports_mig(tmp_path):
    write_npz(tmp_path / "data")
    result = run_experiment(
        "run_dsprites_exp.py", tmp_path / "data", tmp_path, "--batch_size=16", "--updates_per_epoch=3", "--max_epoch=2"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "logs" / "tiny" / "results.json").read_text())
    assert 0 <= results["mig"] <= 1 and set(results["mig_per_factor"]) == set(DSpritesDataset.factor_names)
    assert "classifier_score" not in results  # no labels: no sample classifier
    assert "MIG per factor" in result.stdout
    names = set(results["figures"])
    assert {"traversal_image_0_Categorical.png", "traversal_image_4_Uniform.png"} <= names
