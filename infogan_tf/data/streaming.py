"""A split read from its image files batch by batch, for a folder whose decoded images would not fit in memory."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import tensorflow as tf

from infogan_tf.data.base import DataError, Dataset
from infogan_tf.data.images import decode_files, decoder


class StreamedSplit(Dataset):
    """The same stream of batches as an in-memory ``Dataset`` of these images (same order, same values), decoded
    from disk as it goes; the images are never all in memory, so ``images`` is refused and ``head`` serves."""

    def __init__(
        self,
        paths: tuple[str, ...],
        labels: np.ndarray | None,
        image_shape: tuple[int, int, int],
        value_range: tuple[float, float],
        title: str,
    ):
        self.paths = paths
        self._labels = labels
        self.factors = None
        self.image_shape = image_shape
        self.title = title
        self._low = float(value_range[0])
        self._scale = (float(value_range[1]) - self._low) / 255.0

    @property
    def num_examples(self) -> int:
        return len(self.paths)

    @property
    def images(self) -> np.ndarray:
        raise DataError(
            f"{self.title}: the {self.num_examples} training images stream from disk and are never all in memory; "
            "raise {images.in_memory_limit_mb} to load them whole"
        )

    def head(self, count: int) -> np.ndarray:
        size, _, channels = self.image_shape
        first = decode_files(self.paths[:count], size, channels, self.title)
        return first.reshape(len(first), -1).astype(np.float32) * np.float32(self._scale) + np.float32(self._low)

    def batches(self, batch_size: int, seed: int = 0, start: int = 0, repeat: bool = True) -> tf.data.Dataset:
        _, per_epoch = self._epoch_size(batch_size)
        first_epoch, offset = divmod(start, per_epoch)
        paths = tf.constant(self.paths)
        size, _, channels = self.image_shape
        decode = decoder(size, channels)
        scale, low = self._scale, self._low

        def epoch_ids(epoch: tf.Tensor) -> tf.data.Dataset:
            return tf.data.Dataset.from_tensor_slices(self._epoch_order(seed, epoch)[: per_epoch * batch_size])

        epochs = tf.data.Dataset.range(first_epoch, 2**62 if repeat else first_epoch + 1)
        ids = epochs.flat_map(epoch_ids).skip(offset * batch_size)
        pixels = ids.map(lambda i: tf.reshape(decode(tf.gather(paths, i)), [-1]), num_parallel_calls=tf.data.AUTOTUNE)
        ds = pixels.batch(batch_size, drop_remainder=True)
        return ds.map(lambda x: tf.cast(x, tf.float32) * scale + low).prefetch(tf.data.AUTOTUNE)

    def device_batches(self, batch_size: int, seed: int = 0, start: int = 0) -> Iterator[tf.Tensor]:
        return iter(self.batches(batch_size, seed, start))
