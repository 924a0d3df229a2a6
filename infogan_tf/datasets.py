"""Input data: MNIST from IDX files or tensorflow-datasets, batched with tf.data.

Port of ``infogan/misc/datasets.py``. Splits as the original (TF's old
``read_data_sets``): the first 5,000 training images are the validation split, the other
55,000 the training split; 10,000 test images; ``supervised_train`` holds 10 training
images per digit, picked with numpy seed 0 exactly as the original picked them.
Images are kept as uint8 in memory and scaled to [0, 1] per batch.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np
import tensorflow as tf

DATA_DIR_ENV = "INFOGAN_DATA_DIR"

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
VALIDATION_SIZE = 5000

_IDX_DTYPES = {0x08: np.uint8}
_FIX = (
    f"pass --data_dir=DIR (or set {DATA_DIR_ENV}=DIR) for a directory holding the four MNIST files "
    f"{', '.join(MNIST_FILES.values())}"
)


class DataError(RuntimeError):
    """Data that cannot be loaded; the message names the file and the fix."""


def read_idx(path: str | os.PathLike, expected_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Read one gzip-compressed IDX file (the MNIST format) into a numpy array.

    ``expected_shape`` checks every dimension but the first (the count) after parsing.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"MNIST file {path} is missing; {_FIX}")
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"MNIST file {path} is not a readable gzip file ({e}); replace it with an intact copy") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(
            f"MNIST file {path} does not start with an IDX magic number of unsigned bytes; is it the right file?"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"MNIST file {path} is truncated inside its header; replace it with an intact copy")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    size = int(np.prod(shape))
    if len(raw) - header != size:
        raise DataError(
            f"MNIST file {path} holds {len(raw) - header} data bytes but its header promises {size} "
            f"(shape {shape}); the file is truncated or corrupt"
        )
    if expected_shape is not None and shape[1:] != tuple(expected_shape):
        raise DataError(f"MNIST file {path} has items of shape {shape[1:]}, expected {tuple(expected_shape)}")
    return np.frombuffer(raw, dtype=_IDX_DTYPES[raw[2]], offset=header).reshape(shape)


def load_mnist_idx(data_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """The four MNIST arrays from a directory of IDX ``.gz`` files, checked for agreement."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"MNIST directory {data_dir} does not exist; {_FIX}")
    arrays = {}
    for key, name in MNIST_FILES.items():
        arrays[key] = read_idx(data_dir / name, expected_shape=(28, 28) if key.endswith("images") else ())
    for split in ("train", "test"):
        n_images, n_labels = len(arrays[f"{split}_images"]), len(arrays[f"{split}_labels"])
        if n_images != n_labels:
            raise DataError(f"MNIST {split} split in {data_dir} has {n_images} images but {n_labels} labels")
    return arrays


def load_mnist_tfds() -> dict[str, np.ndarray]:
    """The same arrays through tensorflow-datasets (needs a download or a local tfds copy)."""
    try:
        import tensorflow_datasets as tfds

        train, test = (_tfds_arrays(split) for split in tfds.load("mnist", split=["train", "test"], as_supervised=True))
    except Exception as e:  # tfds raises many types for no network, no copy, bad copy
        raise DataError(
            f"no MNIST directory was given and tensorflow-datasets could not load MNIST ({e}); {_FIX}"
        ) from e
    return {"train_images": train[0], "train_labels": train[1], "test_images": test[0], "test_labels": test[1]}


def _tfds_arrays(split: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Images [N, 28, 28] and labels of one tfds split, read in a few large batches."""
    images, labels = zip(*split.batch(10000).as_numpy_iterator())
    return np.concatenate(images)[..., 0], np.concatenate(labels)


class Dataset:
    """One split: uint8 images flattened per example, labels, and a tf.data pipeline."""

    def __init__(self, images: np.ndarray, labels: np.ndarray | None = None):
        self._images = np.ascontiguousarray(images.reshape(images.shape[0], -1))
        self._labels = labels

    @property
    def images(self) -> np.ndarray:
        """Images as float32 in [0, 1], flat, as the original exposed them."""
        return self._images.astype(np.float32) / 255.0

    @property
    def raw_images(self) -> np.ndarray:
        return self._images

    @property
    def labels(self) -> np.ndarray | None:
        return self._labels

    @property
    def num_examples(self) -> int:
        return self._images.shape[0]

    def batches(self, batch_size: int, seed: int = 0, start: int = 0, repeat: bool = True) -> tf.data.Dataset:
        """Shuffled float32 batches; each epoch reshuffles and drops its last partial batch.

        This is what the original's ``next_batch`` did, without a Python step per batch.
        Batch k of the stream depends only on (seed, k): epoch e is a stateless shuffle
        seeded by (seed, e), so a resumed run continues at batch ``start`` exactly.
        """
        n = self.num_examples
        if batch_size > n:
            raise ValueError(f"batch_size {batch_size} exceeds the {n} examples of this split")
        per_epoch = n // batch_size
        first_epoch, offset = divmod(start, per_epoch)
        images = tf.constant(self._images)

        def epoch_batches(epoch: tf.Tensor) -> tf.data.Dataset:
            order = tf.random.experimental.stateless_shuffle(
                tf.range(n), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
            )
            return tf.data.Dataset.from_tensor_slices(
                tf.reshape(order[: per_epoch * batch_size], [per_epoch, batch_size])
            )

        epochs = tf.data.Dataset.range(first_epoch, 2**62 if repeat else first_epoch + 1)
        ds = epochs.flat_map(epoch_batches).skip(offset)
        ds = ds.map(
            lambda ids: tf.cast(tf.gather(images, ids), tf.float32) * (1.0 / 255.0), num_parallel_calls=tf.data.AUTOTUNE
        )
        return ds.prefetch(tf.data.AUTOTUNE)


def resolve_data_dir(data_dir: str | None) -> str | None:
    """The flag if given, else the environment variable, else None (use tfds)."""
    return data_dir or os.environ.get(DATA_DIR_ENV) or None


class MnistDataset:
    """MNIST with the original's splits. ``data_dir=None`` falls back to the env var, then tfds."""

    image_dim = 28 * 28
    image_shape = (28, 28, 1)

    def __init__(self, data_dir: str | None = None):
        data_dir = resolve_data_dir(data_dir)
        arrays = load_mnist_idx(data_dir) if data_dir else load_mnist_tfds()
        train_x, train_y = arrays["train_images"], arrays["train_labels"]
        if len(train_x) <= VALIDATION_SIZE:
            raise DataError(
                f"MNIST training split has {len(train_x)} images; at least {VALIDATION_SIZE + 1} are needed"
            )
        self.validation = Dataset(train_x[:VALIDATION_SIZE], train_y[:VALIDATION_SIZE])
        self.train = Dataset(train_x[VALIDATION_SIZE:], train_y[VALIDATION_SIZE:])
        self.test = Dataset(arrays["test_images"], arrays["test_labels"])
        self.supervised_train = self._ten_per_class(self.train)

    @staticmethod
    def _ten_per_class(train: Dataset) -> Dataset:
        rng = np.random.RandomState(0)
        ids = []
        for digit in range(10):
            digit_ids = np.where(train.labels == digit)[0]
            rng.shuffle(digit_ids)
            ids.extend(digit_ids[:10])
        return Dataset(train.raw_images[ids], train.labels[ids])

    def transform(self, data: tf.Tensor) -> tf.Tensor:
        return data

    def inverse_transform(self, data: tf.Tensor) -> tf.Tensor:
        return data


DATASETS = {"mnist": MnistDataset}
