"""Unlabelled images from a folder of files (any size; centre-cropped, resized) or an ``images.npz``."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

from infogan_tf.data.base import DataError, ImageDataset, resolve_data_dir

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def load_image_folder(directory: Path, image_shape: tuple[int, int, int], title: str, fix: str) -> np.ndarray:
    """Every image file below ``directory`` (sorted by path), centre-cropped square and resized, as uint8."""
    paths = sorted(str(p) for p in directory.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise DataError(f"{title}: no image files ({', '.join(IMAGE_SUFFIXES)}) under {directory}; {fix}")
    height, width, channels = image_shape

    def decode(path: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        side = tf.minimum(tf.shape(image)[0], tf.shape(image)[1])
        image = tf.image.resize_with_crop_or_pad(image, side, side)
        return tf.cast(tf.round(tf.image.resize(image, (height, width), method="area")), tf.uint8)

    try:
        batches = tf.data.Dataset.from_tensor_slices(paths).map(decode, num_parallel_calls=tf.data.AUTOTUNE)
        return np.concatenate(list(batches.batch(4096).as_numpy_iterator()))
    except tf.errors.OpError as e:
        bad = undecodable(paths, decode)
        if not bad:
            raise DataError(f"{title}: the images under {directory} cannot be decoded ({e.message[:200]})") from e
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise DataError(f"{title}: {bad[0]}{more} cannot be decoded as an image; remove or replace it") from e


def undecodable(paths: list[str], decode: Callable[[tf.Tensor], tf.Tensor]) -> list[str]:
    """The files of ``paths`` that ``decode`` fails on, in order (decoded in parallel, errors skipped)."""
    indices = tf.data.Dataset.from_tensor_slices((tf.range(len(paths)), paths))
    decoded = indices.map(lambda i, path: (i, decode(path)), num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    good = {int(i) for i, _ in decoded.as_numpy_iterator()}
    return [path for i, path in enumerate(paths) if i not in good]


class ImageFolderDataset(ImageDataset):
    """Unlabelled images: a folder of files (any size; centre-cropped, resized) or an ``images.npz`` with ``images``."""

    title = ""
    ENV = ""

    def __init__(self, data_dir: str | None = None):
        data_dir = resolve_data_dir(data_dir, self.ENV)
        fix = f"pass {{data_dir}}=DIR (or set {self.ENV}=DIR) for a folder of its images or an images.npz"
        if not data_dir:
            raise DataError(f"{self.title} is not in tensorflow-datasets; {fix}")
        directory = Path(data_dir)
        if not directory.is_dir():
            raise DataError(f"{self.title} directory {directory} does not exist; {fix}")
        npz = directory / "images.npz"
        super().__init__(train=(self._from_npz(npz) if npz.is_file() else self._from_folder(directory, fix), None))

    def _from_folder(self, directory: Path, fix: str) -> np.ndarray:
        return load_image_folder(directory, self.image_shape, self.title, fix)

    def _from_npz(self, path: Path) -> np.ndarray:
        try:
            with np.load(path) as archive:
                images = archive["images"]
        except (OSError, ValueError, KeyError, zlib.error) as e:
            raise DataError(f"{self.title} file {path} is not an .npz with an 'images' array ({e}); replace it") from e
        height, width, channels = self.image_shape
        shape_fits = images.shape[1:3] == (height, width) and images.shape[3:] in ((), (channels,))
        if images.dtype != np.uint8 or images.ndim not in (3, 4) or not shape_fits:
            raise DataError(
                f"{self.title} file {path} holds {images.dtype} images of shape {images.shape[1:]}, "
                f"expected uint8 {tuple(self.image_shape)}"
            )
        if not len(images):
            raise DataError(f"{self.title} file {path} holds no images; write them into its 'images' array")
        return images.reshape((len(images), height, width, channels))
