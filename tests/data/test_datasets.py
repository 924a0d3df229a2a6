import gzip
import shutil

import numpy as np
import pytest
import tensorflow as tf

from infogan_tf import data as datasets
from infogan_tf.data import DATA_DIR_ENV, MNIST_FILES, DataError, Dataset, MnistDataset, read_idx

# Published per-digit counts of the MNIST files.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return MnistDataset(str(mnist_dir))


def test_idx_files_parse_to_the_published_shapes_and_counts(mnist_dir):
    train_labels = read_idx(mnist_dir / MNIST_FILES["train_labels"])
    test_labels = read_idx(mnist_dir / MNIST_FILES["test_labels"])
    test_images = read_idx(mnist_dir / MNIST_FILES["test_images"])
    assert train_labels.shape == (60000,) and test_images.shape == (10000, 28, 28)
    assert np.bincount(train_labels).tolist() == TRAIN_COUNTS
    assert np.bincount(test_labels).tolist() == TEST_COUNTS
    assert train_labels[:5].tolist() == [5, 0, 4, 1, 9] and test_labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert test_images.dtype == np.uint8 and test_images.max() == 255
    assert abs(test_images.mean() - 33.79) < 0.05  # the published test-set mean pixel value


def test_splits_follow_the_original(mnist):
    assert (mnist.train.num_examples, mnist.validation.num_examples, mnist.test.num_examples) == (55000, 5000, 10000)
    assert mnist.image_dim == 784 and mnist.image_shape == (28, 28, 1)
    assert mnist.validation.labels[:5].tolist() == [5, 0, 4, 1, 9]
    images = mnist.train.images[:3]
    assert images.shape == (3, 784) and images.dtype == np.float32 and images.min() >= 0 and images.max() <= 1


def test_batches_are_shuffled_scaled_and_drop_the_remainder():
    images = np.arange(10, dtype=np.uint8).repeat(784).reshape(10, 28, 28)
    ds = Dataset(images, np.arange(10))
    batches = list(ds.batches(4, seed=0, repeat=False))
    assert len(batches) == 2 and all(b.shape == (4, 784) and b.dtype == tf.float32 for b in batches)
    ids = np.concatenate([np.round(b.numpy()[:, 0] * 255).astype(int) for b in batches])
    assert len(set(ids)) == 8 and ids.tolist() != sorted(ids.tolist())
    first_epochs = [b.numpy()[:, 0] for b in ds.batches(4, seed=0).take(4)]
    assert not np.array_equal(np.concatenate(first_epochs[:2]), np.concatenate(first_epochs[2:]))
    with pytest.raises(ValueError, match="exceeds the 10 examples"):
        ds.batches(11)


def test_the_stream_resumes_at_any_batch():
    ds = Dataset(np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8))
    stream = [b.numpy() for b in ds.batches(8, seed=3).take(15)]
    for start in (0, 4, 6, 13):
        resumed = [b.numpy() for b in ds.batches(8, seed=3, start=start).take(15 - start)]
        np.testing.assert_array_equal(np.stack(resumed), np.stack(stream[start:]))
    other_seed = next(iter(ds.batches(8, seed=4))).numpy()
    assert not np.array_equal(other_seed, stream[0])


def copy_mnist(src, dst):
    dst.mkdir()
    for name in MNIST_FILES.values():
        shutil.copy(src / name, dst / name)
    return dst


def test_missing_file_is_named(mnist_dir, tmp_path):
    data = copy_mnist(mnist_dir, tmp_path / "m")
    (data / MNIST_FILES["test_labels"]).unlink()
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz is missing; pass data_dir"):
        MnistDataset(str(data))


def test_missing_directory_is_named(tmp_path):
    with pytest.raises(DataError, match=r"nowhere does not exist"):
        MnistDataset(str(tmp_path / "nowhere"))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda raw: raw[: len(raw) // 2], "truncated or corrupt"),
        (lambda raw: raw[:6], "truncated inside its header"),
        (lambda raw: b"\x00\x00\x0d\x01" + raw[4:], "IDX magic number"),
    ],
)
def test_damaged_files_are_refused_with_their_name(mnist_dir, tmp_path, damage, message):
    path = tmp_path / MNIST_FILES["test_labels"]
    raw = gzip.decompress((mnist_dir / MNIST_FILES["test_labels"]).read_bytes())
    path.write_bytes(gzip.compress(damage(raw)))
    with pytest.raises(DataError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_a_file_that_is_not_gzip_is_refused(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(b"not a gzip file at all")
    with pytest.raises(DataError, match="not a readable gzip file"):
        read_idx(path)


def test_wrong_item_shape_is_refused(tmp_path):
    path = tmp_path / "images.gz"
    header = bytes([0, 0, 8, 3]) + np.array([2, 14, 14], ">u4").tobytes()
    path.write_bytes(gzip.compress(header + bytes(2 * 14 * 14)))
    with pytest.raises(DataError, match=r"items of shape \(14, 14\), expected \(28, 28\)"):
        read_idx(path, expected_shape=(28, 28))


def test_environment_variable_names_the_directory(mnist_dir, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(mnist_dir))
    assert MnistDataset().test.num_examples == 10000


def test_without_a_directory_tfds_is_used(monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    with tfds.testing.mock_data(num_examples=5200):
        mnist = MnistDataset()
    assert mnist.train.num_examples == 200 and mnist.validation.num_examples == 5000
    assert mnist.train.images.shape == (200, 784) and mnist.test.labels.shape == (5200,)


def test_when_neither_works_one_clear_error(monkeypatch):
    import tensorflow_datasets as tfds

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(tfds, "load", offline)
    with pytest.raises(DataError, match=r"tensorflow-datasets could not load MNIST \(no network\); pass data_dir=DIR"):
        MnistDataset()
    assert datasets.resolve_data_dir(None, DATA_DIR_ENV) is None


class Signed(datasets.ImageDataset):
    name = "signed"
    image_shape = (2, 2, 1)
    value_range = (-1.0, 1.0)
    num_classes = 2


def test_a_dataset_says_its_value_range_and_every_consumer_sees_it():
    pixels = np.array([[[0, 255], [51, 128]]] * 4, np.uint8)
    signed = Signed(train=(pixels, np.array([0, 1, 0, 1])), test=(pixels, None))
    expected = pixels.reshape(4, 4).astype(np.float64) / 255 * 2 - 1
    np.testing.assert_allclose(signed.train.images, expected, atol=1e-6)
    batch = next(iter(signed.train.batches(4, repeat=False))).numpy()
    np.testing.assert_allclose(np.sort(batch, axis=0), np.sort(expected, axis=0), atol=1e-6)
    np.testing.assert_allclose(signed.to_unit_range(signed.train.images), pixels.reshape(4, 4) / 255, atol=1e-6)
    assert signed.image_dim == 4 and not signed.labelled  # test labels missing: nothing to score against
    assert Signed(train=(pixels, None), test=(pixels, np.zeros(4, int))).labelled


def test_mnist_batches_are_the_original_scaling_bit_for_bit():
    """What the data stream was before the interface: uint8 * float32(1/255)."""
    pixels = np.arange(256, dtype=np.uint8).repeat(4).reshape(256, 2, 2)
    batch = next(iter(Dataset(pixels).batches(256, repeat=False))).numpy()
    reference = np.sort(pixels.reshape(256, 4).astype(np.float32) * np.float32(1.0 / 255.0), axis=0)
    np.testing.assert_array_equal(np.sort(batch, axis=0), reference)


def test_bad_splits_are_refused_with_the_problem_named():
    pixels = np.zeros((4, 3, 3), np.uint8)
    with pytest.raises(DataError, match=r"signed images have shape \(3, 3\), expected \(2, 2, 1\)"):
        Signed(train=(pixels, None))
    with pytest.raises(DataError, match="4 images but 3 labels"):
        Dataset(pixels, np.zeros(3))
    with pytest.raises(DataError, match="must be uint8"):
        Dataset(pixels.astype(np.float32))


def test_registered_datasets_are_found_by_name():
    assert datasets.DATASETS["mnist"] is MnistDataset
    datasets.register_dataset(Signed)
    try:
        assert datasets.DATASETS["signed"] is Signed
    finally:
        del datasets.DATASETS["signed"]
    with pytest.raises(ValueError, match="needs a name"):
        datasets.register_dataset(type("Nameless", (datasets.ImageDataset,), {}))


def test_the_tfds_fallback_gets_as_far_as_the_download(monkeypatch, tmp_path):
    """Offline, the fallback must fail at the download (one clear line), not on a missing module."""
    import tensorflow_datasets as tfds

    def offline(self, *args, **kwargs):
        raise ConnectionError("no network here")

    monkeypatch.setattr(tfds.download.DownloadManager, "download_and_extract", offline)
    monkeypatch.setattr(tfds.download.DownloadManager, "download", offline)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    with pytest.raises(DataError, match=r"could not load MNIST \(.*no network here.*\); pass data_dir=DIR"):
        MnistDataset()


def test_batches_gathered_on_the_device_are_the_tf_data_pipelines(tmp_path):
    """Same images in the same order, from any start (a resumed run), across an epoch boundary."""
    split = datasets.Dataset(np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8))
    for start in (0, 3, 7):
        expected = list(split.batches(8, seed=5, start=start).take(10).as_numpy_iterator())
        stream = split.device_batches(8, seed=5, start=start)
        got = [next(stream).numpy() for _ in range(10)]
        assert all(np.array_equal(a, b) for a, b in zip(expected, got))
