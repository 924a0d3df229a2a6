"""The paper's other experiments: SVHN, CelebA, 3D chairs and 3D faces, on small files in their real formats."""

import json

import numpy as np
import pytest
import tensorflow as tf
from conftest import run_experiment
from scipy import io

from infogan_tf.data import CelebADataset, ChairsDataset, DataError, FacesDataset, SvhnDataset
from infogan_tf.distributions import MeanTanhGaussian
from infogan_tf.latent_spec import SVHN_LATENT_SPEC, SVHN_MAIN_TEXT_LATENT_SPEC, parse_latent_spec
from infogan_tf.models import ModelConfig


def test_the_tanh_output_is_a_unit_gaussian_around_tanh():
    dist = MeanTanhGaussian(3)
    flat = np.array([[-2.0, 0.0, 0.5]], np.float32)
    info = dist.activate_dist(flat)
    np.testing.assert_allclose(info["mean"], np.tanh(flat), rtol=1e-6)
    np.testing.assert_array_equal(dist.sample(info), info["mean"])
    x = np.array([[0.1, -0.2, 0.3]], np.float32)
    expected = np.sum(-0.5 * np.log(2 * np.pi) - 0.5 * (x - np.tanh(flat)) ** 2)
    np.testing.assert_allclose(dist.logli(x, info), [expected], rtol=1e-5)
    assert dist.dist_flat_dim == 3


def write_svhn(directory, n=(64, 32)):
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    for name, count in zip(("train_32x32.mat", "test_32x32.mat"), n):
        io.savemat(
            directory / name,
            {"X": rng.integers(0, 256, (32, 32, 3, count), dtype=np.uint8), "y": rng.integers(1, 11, (count, 1))},
        )


def test_svhn_loads_the_distributed_mat_files(tmp_path):
    write_svhn(tmp_path)
    raw = io.loadmat(tmp_path / "test_32x32.mat")
    svhn = SvhnDataset(str(tmp_path))
    assert (svhn.train.num_examples, svhn.test.num_examples) == (64, 32)
    np.testing.assert_array_equal(svhn.test.labels, raw["y"][:, 0] % 10)  # the files' 10 is the digit 0
    first = raw["X"][..., 0].astype(np.float64) / 255 * 2 - 1
    np.testing.assert_allclose(svhn.test.images[0], first.reshape(-1), atol=1e-6)
    assert svhn.test.images.min() >= -1 and svhn.test.images.max() <= 1 and svhn.output_dist == "mean_tanh_gaussian"
    (tmp_path / "test_32x32.mat").unlink()
    with pytest.raises(DataError, match="SVHN file .*test_32x32.mat is missing; pass data_dir=DIR"):
        SvhnDataset(str(tmp_path))


def test_svhn_without_a_directory_uses_tfds(monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.delenv(SvhnDataset.ENV, raising=False)
    with tfds.testing.mock_data(num_examples=20):
        svhn = SvhnDataset()
    assert svhn.train.images.shape == (20, 32 * 32 * 3) and svhn.test.labels.max() < 10


def test_folders_of_images_become_centre_cropped_resized_grey_or_colour(tmp_path):
    rng = np.random.default_rng(1)
    for i, (h, w) in enumerate([(80, 60), (64, 64), (100, 120)]):
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        encoded = tf.io.encode_png(pixels) if i % 2 else tf.io.encode_jpeg(pixels)
        (tmp_path / "nested").mkdir(exist_ok=True)
        tf.io.write_file(str(tmp_path / "nested" / f"im{i}.{'png' if i % 2 else 'jpg'}"), encoded)
    (tmp_path / "notes.txt").write_text("not an image")
    chairs = ChairsDataset(str(tmp_path))
    assert chairs.train.images.shape == (3, 64 * 64) and chairs.test is None and not chairs.labelled
    celeba = CelebADataset(str(tmp_path))
    assert celeba.train.images.shape == (3, 32 * 32 * 3) and celeba.train.images.min() >= -1
    square = tf.io.decode_png(tf.io.read_file(str(tmp_path / "nested" / "im1.png")))
    expected = tf.image.resize(tf.image.rgb_to_grayscale(square), (64, 64), method="area")
    np.testing.assert_allclose(chairs.train.images[1].reshape(64, 64, 1) * 255, np.round(expected), atol=1.01)


def test_an_images_npz_and_the_errors_of_image_folders(tmp_path):
    with pytest.raises(DataError, match="3D faces is not in tensorflow-datasets; pass data_dir=DIR"):
        FacesDataset()
    with pytest.raises(DataError, match="no image files"):
        FacesDataset(str(tmp_path))
    images = np.random.default_rng(2).integers(0, 256, (10, 64, 64), dtype=np.uint8)
    np.savez(tmp_path / "images.npz", images=images)
    np.testing.assert_allclose(FacesDataset(str(tmp_path)).train.images * 255, images.reshape(10, -1), atol=1e-3)
    np.savez(tmp_path / "images.npz", images=images[:, :32, :32])
    with pytest.raises(DataError, match=r"expected uint8 \(64, 64, 1\)"):
        FacesDataset(str(tmp_path))
    (tmp_path / "images.npz").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"images.npz is not an .npz \(a zip archive of arrays\); replace it"):
        FacesDataset(str(tmp_path))


def trainable(m):
    return sum(int(np.prod(v.shape)) for v in m.trainable_variables)


def test_the_svhn_network_has_the_papers_layers():
    model = ModelConfig(SVHN_LATENT_SPEC, (32, 32, 3), network_type="svhn", output_dist="mean_tanh_gaussian").build()
    nets = model.networks

    def conv(c_in, c_out):
        return 16 * c_in * c_out + c_out

    def dense(n_in, n_out):
        return n_in * n_out + n_out

    assert trainable(nets.d_body) == conv(3, 64) + conv(64, 128) + 2 * 128 + conv(128, 256) + 2 * 256
    assert trainable(nets.d_head) == dense(4 * 4 * 256, 1)
    assert trainable(nets.q_head) == dense(4096, 128) + 2 * 128 + dense(128, 4 * 10 + 4 * 2)
    assert trainable(nets.generator) == (
        dense(124 + 40 + 4, 2 * 2 * 448) + 2 * 2 * 2 * 448 + conv(448, 256) + 2 * 256
        + conv(256, 128) + conv(128, 64) + conv(64, 3)
    )  # fmt: skip
    x = model.generate_mean(model.latent_dist.sample_prior(2))
    assert x.shape == (2, 32 * 32 * 3) and np.abs(x.numpy()).max() <= 1
    assert len(parse_latent_spec(SVHN_MAIN_TEXT_LATENT_SPEC)) == 1 + 4 + 2


def launch(script, data_dir, tmp_path, *flags):
    common = ["--batch_size=8", "--updates_per_epoch=2", "--max_epoch=2", "--eval_samples=200"]
    env = {"INFOGAN_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    result = run_experiment(script, data_dir, tmp_path, *common, *flags, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for line in (tmp_path / "logs" / "tiny" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4] and all(np.isfinite(r["discriminator_loss"]) for r in records)
    return json.loads((tmp_path / "logs" / "tiny" / "results.json").read_text())


def test_every_launcher_trains_on_its_data_format(tmp_path):
    write_svhn(tmp_path / "svhn")
    svhn = launch("run_svhn_exp.py", tmp_path / "svhn", tmp_path / "run_svhn")
    assert svhn["dataset"] == "svhn" and "unsupervised_error_hungarian" in svhn and "classifier_score" in svhn
    images = np.random.default_rng(3).integers(0, 256, (16, 64, 64), dtype=np.uint8)
    (tmp_path / "grey").mkdir()
    np.savez(tmp_path / "grey" / "images.npz", images=images)
    for script in ("run_chairs_exp.py", "run_faces_exp.py"):
        results = launch(script, tmp_path / "grey", tmp_path / script)
        assert results["step"] == 4 and results["figures"]
    (tmp_path / "faces").mkdir()
    for i in range(16):
        tf.io.write_file(
            str(tmp_path / "faces" / f"{i:06d}.jpg"), tf.io.encode_jpeg(np.full((218, 178, 3), 9 * i, np.uint8))
        )
    celeba = launch("run_celeba_exp.py", tmp_path / "faces", tmp_path / "run_celeba")
    assert len([f for f in celeba["figures"] if f.startswith("traversal_")]) == 10  # one grid per ten-way code
