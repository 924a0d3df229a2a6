"""The dataset interface: what the model, the trainer and the evaluation know of a dataset, and its errors.

An ``ImageDataset`` says everything the layers above need to know of its data (image
shape, value range, the output distribution that fits it, splits, labels), so nothing
else names a dataset's shapes. Images are kept as uint8 in memory and scaled to the value
range per batch. Each dataset is a module of its own beside this one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tensorflow as tf

from infogan_tf.errors import ConfigError


class DataError(ConfigError):
    """Data that cannot be loaded; the message names the file and the fix."""


class Dataset:
    """One split: uint8 images flattened per example, optional labels, and a tf.data pipeline.

    ``value_range`` is what 0 and 255 map to; every consumer sees images in that range.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray | None = None,
        value_range: tuple[float, float] = (0.0, 1.0),
        factors: np.ndarray | None = None,
    ):
        if images.dtype != np.uint8:
            raise DataError(f"a split's images must be uint8 (0-255), not {images.dtype}")
        for name, values in (("labels", labels), ("factor rows", factors)):
            if values is not None and len(values) != len(images):
                raise DataError(f"a split has {len(images)} images but {len(values)} {name}")
        self._images = np.ascontiguousarray(images.reshape(images.shape[0], -1))
        self._labels = labels
        self.factors = factors
        """Ground-truth generative factors ``[N, factors]`` as integers, where the dataset knows them."""
        self._low = float(value_range[0])
        self._scale = (float(value_range[1]) - self._low) / 255.0

    @property
    def images(self) -> np.ndarray:
        """Images as float32 in the value range, flat, as the original exposed them."""
        return self._images.astype(np.float32) * np.float32(self._scale) + np.float32(self._low)

    @property
    def labels(self) -> np.ndarray | None:
        return self._labels

    @property
    def num_examples(self) -> int:
        return self._images.shape[0]

    def head(self, count: int | None = None) -> np.ndarray:
        """The first ``count`` images (all for None) as ``images`` gives them, without scaling the rest."""
        first = self._images[:count]
        return first.astype(np.float32) * np.float32(self._scale) + np.float32(self._low)

    def batches(self, batch_size: int, seed: int = 0, start: int = 0, repeat: bool = True) -> tf.data.Dataset:
        """Shuffled float32 batches; each epoch reshuffles and drops its last partial batch.

        This is what the original's ``next_batch`` did, without a Python step per batch.
        Batch k of the stream depends only on (seed, k): epoch e is a stateless shuffle
        seeded by (seed, e), so a resumed run continues at batch ``start`` exactly.
        """
        _, per_epoch = self._epoch_size(batch_size)
        first_epoch, offset = divmod(start, per_epoch)
        images = tf.constant(self._images)
        scale, low = self._scale, self._low

        def epoch_batches(epoch: tf.Tensor) -> tf.data.Dataset:
            order = self._epoch_order(seed, epoch)
            return tf.data.Dataset.from_tensor_slices(
                tf.reshape(order[: per_epoch * batch_size], [per_epoch, batch_size])
            )

        epochs = tf.data.Dataset.range(first_epoch, 2**62 if repeat else first_epoch + 1)
        ds = epochs.flat_map(epoch_batches).skip(offset)
        ds = ds.map(
            lambda ids: tf.cast(tf.gather(images, ids), tf.float32) * scale + low, num_parallel_calls=tf.data.AUTOTUNE
        )
        return ds.prefetch(tf.data.AUTOTUNE)

    def device_batches(self, batch_size: int, seed: int = 0, start: int = 0) -> Iterator[tf.Tensor]:
        """The stream of ``batches`` (same batches, same order), gathered where TensorFlow computes.

        The split is copied once to the default device (a GPU where there is one; MNIST is
        47 MB as uint8) and each batch is gathered and scaled there, so an update waits for
        no host work and no host-to-device copy.
        """
        _, per_epoch = self._epoch_size(batch_size)
        epoch, offset = divmod(start, per_epoch)
        images = tf.identity(tf.constant(self._images))
        scale, low = self._scale, self._low
        gather = tf.function(lambda ids: tf.cast(tf.gather(images, ids), tf.float32) * scale + low)
        order_of = tf.function(lambda epoch: self._epoch_order(seed, epoch))
        while True:
            order = order_of(tf.constant(epoch, tf.int64))
            for k in range(offset, per_epoch):
                yield gather(order[k * batch_size : (k + 1) * batch_size])
            epoch, offset = epoch + 1, 0

    def _epoch_size(self, batch_size: int) -> tuple[int, int]:
        n = self.num_examples
        if batch_size > n:
            raise ValueError(f"batch_size {batch_size} exceeds the {n} examples of this split")
        return n, n // batch_size

    def _epoch_order(self, seed: int, epoch: tf.Tensor) -> tf.Tensor:
        """Epoch ``epoch``'s order of the examples: a stateless shuffle seeded by (seed, epoch)."""
        seeds = tf.stack([tf.constant(seed, tf.int64), epoch])
        return tf.random.experimental.stateless_shuffle(tf.range(self.num_examples), seed=seeds)


Arrays = tuple[np.ndarray, np.ndarray | None] | tuple[np.ndarray, np.ndarray | None, np.ndarray | None]
"""A split: uint8 images ``[N, H, W]`` or ``[N, H, W, C]``, labels ``[N]`` (or None) and optionally factors."""


class ImageDataset:
    """What the model, the trainer and the evaluation know of a dataset.

    A subclass sets the class attributes and hands its arrays to ``__init__``; its own
    ``__init__`` takes ``data_dir`` (None: its fallback, e.g. tensorflow-datasets), so the
    registry can build any of them from the ``--data_dir`` flag.
    """

    name: str = ""
    image_shape: tuple[int, int, int] = (0, 0, 0)
    value_range: tuple[float, float] = (0.0, 1.0)
    output_dist: str = "mean_bernoulli"
    """The distribution of G's output that fits these values (see ``models.OUTPUT_DISTRIBUTIONS``)."""
    num_classes: int | None = None
    """How many label values there are; None where the dataset has no labels."""
    factor_names: tuple[str, ...] = ()
    """The ground-truth factors' names, where the splits carry them (for disentanglement scores)."""
    cache_name: str | None = None
    """The name its sample classifier is cached under; None: ``name`` (a dataset of the user's own images
    names its source, so that two folders never share one)."""

    def __init__(self, train: Arrays | Dataset, test: Arrays | Dataset | None = None, validation: Arrays | None = None):
        self.train = self._split(train)
        self.test = self._split(test) if test is not None else None
        self.validation = self._split(validation) if validation is not None else None

    def _split(self, arrays: Arrays | Dataset) -> Dataset:
        if isinstance(arrays, Dataset):
            return arrays
        images, labels, *factors = arrays
        if tuple(images.shape[1:]) not in (tuple(self.image_shape), tuple(self.image_shape[:2])):
            raise DataError(f"{self.name} images have shape {images.shape[1:]}, expected {tuple(self.image_shape)}")
        return Dataset(images, labels, self.value_range, factors[0] if factors else None)

    @property
    def image_dim(self) -> int:
        return int(np.prod(self.image_shape))

    @property
    def labelled(self) -> bool:
        """Whether train and test splits carry labels (what the sample-quality classifier and clustering need)."""
        return self.num_classes is not None and self.test is not None and self.test.labels is not None

    def to_unit_range(self, images: np.ndarray | tf.Tensor) -> np.ndarray:
        """Images in [0, 1], for PNGs and TensorBoard."""
        low, high = self.value_range
        return (np.asarray(images) - low) / (high - low)


def missing(path: os.PathLike, directory: bool) -> str:
    """Why ``path`` cannot be read as a directory (``directory``) or a file: the words after its name."""
    path = Path(path)
    if path.is_symlink() and not path.exists():
        return "is a link to nothing"
    if not path.exists():
        return "does not exist"
    return "is a file, not a directory" if directory else "is a directory, not a file"


def resolve_data_dir(data_dir: str | None, env: str) -> str | None:
    """The flag if given, else the dataset's environment variable, else None (use tfds)."""
    return data_dir or os.environ.get(env) or None


def tfds_or_fail(name: str, title: str, fix: str, split: str) -> tf.data.Dataset:
    """tensorflow-datasets' split, or a ``DataError`` that says what failed and ``fix``."""
    try:
        import tensorflow_datasets as tfds

        return tfds.load(name, split=split)
    except Exception as e:  # tfds raises many types for no network, no copy, bad copy
        raise DataError(
            f"no {title} directory was given and tensorflow-datasets could not load {name} ({e}); {fix}"
        ) from e


def tfds_images_labels(name: str, title: str, fix: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """A labelled tfds split's ``image`` and ``label`` arrays."""
    images, labels = [], []
    for batch in tfds_or_fail(name, title, fix, split).batch(10000).as_numpy_iterator():
        images.append(batch["image"])
        labels.append(batch["label"])
    return np.concatenate(images), np.concatenate(labels).astype(np.int64)
