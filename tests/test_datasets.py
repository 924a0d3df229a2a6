import gzip
import shutil

import numpy as np
import pytest
import tensorflow as tf

from infogan_tf import datasets
from infogan_tf.datasets import DATA_DIR_ENV, MNIST_FILES, DataError, Dataset, MnistDataset, read_idx

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


def test_supervised_split_picks_ten_per_digit_as_the_original(mnist):
    labels = mnist.supervised_train.labels
    assert labels.tolist() == [d for d in range(10) for _ in range(10)]
    rng_state = np.random.get_state()
    np.random.seed(0)  # the original's selection, replayed with the global numpy RNG
    expected = []
    for digit in range(10):
        ids = np.where(mnist.train.labels == digit)[0]
        np.random.shuffle(ids)
        expected.extend(ids[:10])
    np.random.set_state(rng_state)
    np.testing.assert_array_equal(mnist.supervised_train.raw_images, mnist.train.raw_images[expected])


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
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz is missing; pass --data_dir"):
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
    assert mnist.train.raw_images.shape == (200, 784) and mnist.test.labels.shape == (5200,)


def test_when_neither_works_one_clear_error(monkeypatch):
    import tensorflow_datasets as tfds

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(tfds, "load", offline)
    with pytest.raises(
        DataError, match=r"tensorflow-datasets could not load MNIST \(no network\); pass --data_dir=DIR"
    ):
        MnistDataset()
    assert datasets.resolve_data_dir(None) is None
