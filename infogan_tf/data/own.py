"""What the datasets made from a user's own images share: a shape and range that follow the images, a held-out split.

The ``folder``, ``npz`` and ``tfds:NAME`` datasets know their image size and channels only
once they have looked at the images, so they set ``image_shape``, ``value_range`` and
``output_dist`` per instance, as the built-in datasets do per class: grey images in
[0, 1] with G's Bernoulli-mean output (as MNIST), colour ones in [-1, 1] with a tanh
Gaussian mean (as SVHN and CelebA). Where the source has no test split, a fixed share of
the images (the same ones on every run) is held out for the evaluation.
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from pathlib import Path

import numpy as np
import tensorflow as tf

from infogan_tf.data.base import Arrays, DataError, ImageDataset
from infogan_tf.data.images import IMAGE_SIZES, size_for, square_resize
from infogan_tf.data.options import ImageOptions

HELD_OUT_LIMIT = 10_000
"""At most this many images are held out (the evaluation's measures need no more)."""

GREY = ((0.0, 1.0), "mean_bernoulli")
COLOUR = ((-1.0, 1.0), "mean_tanh_gaussian")


def held_out(count: int, share: float, shuffled: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and the held-out images: a fixed draw of ``share`` of ``count`` held out, in order.

    The training images keep a fixed shuffled order (``shuffled``), so that the first n of
    them are a fair sample of all (the evaluation's reference images are the first ones)
    even where the files come sorted by class.
    """
    order = np.random.default_rng(0).permutation(count)
    test_count = min(int(round(count * share)), HELD_OUT_LIMIT, count - 1)
    test = np.sort(order[:test_count])
    return (order[test_count:] if shuffled else np.setdiff1d(np.arange(count), test)), test


def split_arrays(images: np.ndarray, labels: np.ndarray | None, share: float) -> tuple[Arrays, Arrays | None]:
    """The train and held-out splits of ``images`` (with their labels); no held-out split where none fits."""
    train, test = held_out(len(images), share)
    pick = (lambda indices: None) if labels is None else (lambda indices: labels[indices])
    return (images[train], pick(train)), ((images[test], pick(test)) if len(test) else None)


def fingerprint(*parts: object) -> str:
    """A short stable name for a source (its path, size and channels), for caches kept per dataset."""
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:10]


class OwnImagesDataset(ImageDataset):
    """A dataset whose image shape and value range follow the images it was given."""

    takes_options = True
    """The registry builds it with ``(data_dir, ImageOptions)``."""
    shuffled_order = True
    """The training images in a fixed shuffled order (``held_out``), not the source's."""
    title = "images"

    def describe(self, size: int, channels: int, num_classes: int | None) -> None:
        """Set what the layers above read: shape, range, G's output distribution, classes."""
        if size not in IMAGE_SIZES:
            raise DataError(f"{{images.image_size}}={size} is not a network's size; use one of {IMAGE_SIZES}")
        if channels not in (1, 3):
            raise DataError(f"{{images.channels}}={channels}: images are grey (1) or colour (3)")
        self.image_shape = (size, size, channels)
        self.value_range, self.output_dist = GREY if channels == 1 else COLOUR
        self.num_classes = num_classes

    def load_npz(self, path: Path, options: ImageOptions) -> None:
        """Take ``path``'s arrays (``read_images_npz``), made to ``options``, with a share of them held out."""
        images, labels = read_images_npz(path, self.title)
        images, size, channels = fit_arrays(images, options)
        self.describe(size, channels, None if labels is None else int(labels.max()) + 1)
        self.cache_name = f"{self.name}_{fingerprint(str(path.resolve()), size, channels)}"
        train, test = split_arrays(images, labels, options.test_share)
        ImageDataset.__init__(self, train=train, test=test)


def to_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """``[N, H, W, C]`` uint8 images with ``channels`` channels (grey replicated, or colour's luma)."""
    if images.shape[-1] == channels:
        return images
    if channels == 3:
        return np.repeat(images[..., :1], 3, axis=-1)
    return tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(images[..., :3], tf.float32))), tf.uint8).numpy()


def resized(images: np.ndarray, size: int) -> np.ndarray:
    """``images`` centre-cropped square and resized to ``size`` (unchanged where they are that size already)."""
    if images.shape[1:3] == (size, size):
        return images
    return np.concatenate(
        [square_resize(tf.constant(images[i : i + 1024]), size).numpy() for i in range(0, len(images), 1024)]
    )


def read_images_npz(path: Path, title: str) -> tuple[np.ndarray, np.ndarray | None]:
    """An ``.npz``'s ``images`` (uint8, ``[N, H, W]`` or ``[N, H, W, C]``, as ``[N, H, W, C]``) and ``labels``."""
    if not zipfile.is_zipfile(path):  # np.load would try it as a pickle or a bare .npy
        raise DataError(f"{title} file {path} is not an .npz (a zip archive of arrays); replace it")
    try:
        with np.load(path) as archive:
            images = archive["images"]
            labels = archive["labels"] if "labels" in archive.files else None
    except (OSError, ValueError, KeyError, EOFError, zlib.error, zipfile.BadZipFile) as e:
        raise DataError(f"{title} file {path} is not an .npz with an 'images' array ({e}); replace it") from e
    if images.dtype != np.uint8 or images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[3] not in (1, 3)):
        raise DataError(
            f"{title} file {path} holds {images.dtype} images of shape {images.shape[1:]}, "
            "expected uint8 (N, H, W) or (N, H, W, 1 or 3)"
        )
    if not len(images):
        raise DataError(f"{title} file {path} holds no images; write them into its 'images' array")
    if labels is not None:
        if labels.shape != (len(images),) or labels.dtype.kind not in "iu" or (labels < 0).any():
            raise DataError(
                f"{title} file {path} holds 'labels' of {labels.dtype} and shape {labels.shape}, "
                f"expected {len(images)} integers from 0"
            )
        if labels.max() >= len(images):  # the classes are numbered 0, 1, 2, ...: the evaluation sizes its tables so
            raise DataError(
                f"{title} file {path} holds label {labels.max()} among {len(images)} images; "
                "number the classes 0, 1, 2, ... (fewer classes than images)"
            )
        labels = labels.astype(np.int64)
    return (images if images.ndim == 4 else images[..., None]), labels


def fit_arrays(images: np.ndarray, options: ImageOptions) -> tuple[np.ndarray, int, int]:
    """Arrays of any size and channels made to ``options`` (or kept as they are): the images, their size, channels."""
    channels = options.channels or images.shape[-1]
    size = options.image_size or (
        images.shape[1] if images.shape[1] == images.shape[2] and images.shape[1] in IMAGE_SIZES else None
    )
    size = size or size_for(min(images.shape[1:3]))
    return resized(to_channels(images, channels), size), size, channels
