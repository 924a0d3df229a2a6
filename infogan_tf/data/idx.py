"""MNIST-format datasets: four IDX files of 28x28 grey images and labels, with the original's splits.

Port of ``infogan/misc/datasets.py``. The splits are the original's (TF's old
``read_data_sets``): the first 5,000 training images are the validation split, the other
55,000 the training split; 10,000 test images.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np
import tensorflow as tf

from infogan_tf.data.base import DataError, ImageDataset, missing, resolve_data_dir

DATA_DIR_ENV = "INFOGAN_DATA_DIR"
"""MNIST's directory when --data_dir is unset; every other dataset has its own variable (see ``data_dir_env``)."""

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
VALIDATION_SIZE = 5000

_IDX_DTYPES = {0x08: np.uint8}


def _fix(title: str, env: str) -> str:
    return (
        f"pass {{data_dir}}=DIR (or set {env}=DIR) for a directory holding the four {title} files "
        f"{', '.join(MNIST_FILES.values())}"
    )


def read_idx(
    path: str | os.PathLike, expected_shape: tuple[int, ...] | None = None, title: str = "MNIST", fix: str = ""
) -> np.ndarray:
    """Read one gzip-compressed IDX file (the MNIST format) into a numpy array.

    ``expected_shape`` checks every dimension but the first (the count) after parsing;
    ``title`` names the dataset in errors, ``fix`` says what to do about a missing file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{title} file {path} is missing; {fix or _fix(title, DATA_DIR_ENV)}")
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{title} file {path} is not a readable gzip file ({e}); replace it with an intact copy") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(
            f"{title} file {path} does not start with an IDX magic number of unsigned bytes; is it the right file?"
        )
    ndim = raw[3]
    if ndim == 0:
        raise DataError(f"{title} file {path} declares no dimensions, so it holds no items; is it the right file?")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{title} file {path} is truncated inside its header; replace it with an intact copy")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    size = int(np.prod(shape))
    if len(raw) - header != size:
        raise DataError(
            f"{title} file {path} holds {len(raw) - header} data bytes but its header promises {size} "
            f"(shape {shape}); the file is truncated or corrupt"
        )
    if expected_shape is not None and shape[1:] != tuple(expected_shape):
        raise DataError(f"{title} file {path} has items of shape {shape[1:]}, expected {tuple(expected_shape)}")
    return np.frombuffer(raw, dtype=_IDX_DTYPES[raw[2]], offset=header).reshape(shape)


def load_idx_dir(data_dir: str | os.PathLike, title: str = "MNIST", env: str = DATA_DIR_ENV) -> dict[str, np.ndarray]:
    """The four arrays of an MNIST-format dataset from a directory of IDX ``.gz`` files, checked for agreement."""
    data_dir, fix = Path(data_dir), _fix(title, env)
    if not data_dir.is_dir():
        raise DataError(f"{title} directory {data_dir} {missing(data_dir, True)}; {fix}")
    arrays = {}
    for key, name in MNIST_FILES.items():
        shape = (28, 28) if key.endswith("images") else ()
        arrays[key] = read_idx(data_dir / name, expected_shape=shape, title=title, fix=fix)
    for split in ("train", "test"):
        n_images, n_labels = len(arrays[f"{split}_images"]), len(arrays[f"{split}_labels"])
        if n_images != n_labels:
            raise DataError(f"{title} {split} split in {data_dir} has {n_images} images but {n_labels} labels")
    return arrays


def load_tfds(tfds_name: str, title: str = "MNIST", env: str = DATA_DIR_ENV) -> dict[str, np.ndarray]:
    """The same arrays through tensorflow-datasets (needs a download or a local tfds copy)."""
    try:
        import tensorflow_datasets as tfds

        splits = tfds.load(tfds_name, split=["train", "test"], as_supervised=True)
        train, test = (_tfds_arrays(split) for split in splits)
    except Exception as e:  # tfds raises many types for no network, no copy, bad copy
        raise DataError(
            f"no {title} directory was given and tensorflow-datasets could not load {title} ({e}); {_fix(title, env)}"
        ) from e
    return {"train_images": train[0], "train_labels": train[1], "test_images": test[0], "test_labels": test[1]}


def _tfds_arrays(split: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Images [N, 28, 28] and labels of one tfds split, read in a few large batches."""
    images, labels = zip(*split.batch(10000).as_numpy_iterator())
    return np.concatenate(images)[..., 0], np.concatenate(labels)


class IdxDataset(ImageDataset):
    """An MNIST-format dataset (four IDX files of 28x28 grey images and labels 0-9) with the original's splits.

    ``data_dir=None`` falls back to the dataset's environment variable, then to tfds.
    """

    image_shape = (28, 28, 1)
    num_classes = 10
    title = "MNIST"
    tfds_name = "mnist"
    data_dir_env = DATA_DIR_ENV

    def __init__(self, data_dir: str | None = None):
        data_dir = resolve_data_dir(data_dir, self.data_dir_env)
        if data_dir:
            arrays = load_idx_dir(data_dir, self.title, self.data_dir_env)
        else:
            arrays = load_tfds(self.tfds_name, self.title, self.data_dir_env)
        train_x, train_y = arrays["train_images"], arrays["train_labels"]
        if len(train_x) <= VALIDATION_SIZE:
            raise DataError(
                f"{self.title} training split has {len(train_x)} images; at least {VALIDATION_SIZE + 1} are needed"
            )
        super().__init__(
            train=(train_x[VALIDATION_SIZE:], train_y[VALIDATION_SIZE:]),
            test=(arrays["test_images"], arrays["test_labels"]),
            validation=(train_x[:VALIDATION_SIZE], train_y[:VALIDATION_SIZE]),
        )
