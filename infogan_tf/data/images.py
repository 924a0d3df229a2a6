"""Image files to uint8 arrays: find them, look at them, decode, centre-crop and resize them.

TensorFlow's own decoders (``tf.io.decode_image``: PNG, JPEG, BMP, GIF) in a ``tf.data``
pipeline decode in parallel and need no other package. Keras's
``image_dataset_from_directory`` does the sub-folder labels and the resizing too, but it
can neither name an undecodable file nor tell grey images stored as RGB from colour ones,
and both are what a user of a folder needs to hear about, so the folder loaders use this.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

from infogan_tf.data.base import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
IMAGE_SIZES = (28, 32, 64)
"""The sizes the networks are built for: 28 (the MNIST network), 32 (SVHN/CelebA's), 64 (conv64)."""


@dataclasses.dataclass(frozen=True)
class Listing:
    """The image files below a folder, in path order, and their classes where sub-folders give them."""

    paths: tuple[str, ...]
    labels: np.ndarray | None = None
    class_names: tuple[str, ...] = ()


def _visible(path: Path, root: Path) -> bool:
    return not any(part.startswith(".") for part in path.relative_to(root).parts)


def image_files(directory: Path, title: str) -> list[Path]:
    """Every image file below ``directory`` (hidden files and folders left out), sorted by path.

    A link to nothing that is named as an image is refused: left out, the run would train on fewer images than the
    folder seems to hold, without a word.
    """
    named = [p for p in directory.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and _visible(p, directory)]
    dangling = sorted(p for p in named if p.is_symlink() and not p.exists())
    if dangling:
        more = f" (and {len(dangling) - 1} more)" if len(dangling) > 1 else ""
        raise DataError(f"{title}: {dangling[0]}{more} is a link to nothing; remove it or restore what it points to")
    return sorted(p for p in named if p.is_file())


def list_folder(directory: Path, title: str, fix: str, classes_from_folders: bool = True) -> Listing:
    """The images below ``directory``; with ``classes_from_folders``, one class per sub-folder (torchvision's
    ``ImageFolder`` convention) where every image lies in one of at least two sub-folders."""
    files = image_files(directory, title)
    if not files:
        raise DataError(f"{title}: no image files ({', '.join(IMAGE_SUFFIXES)}) under {directory}; {fix}")
    paths = tuple(str(p) for p in files)
    folders = sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes_from_folders or len(folders) < 2 or any(p.parent == directory for p in files):
        return Listing(paths)
    class_of = {folder.name: index for index, folder in enumerate(folders)}
    counts = np.bincount([class_of[p.relative_to(directory).parts[0]] for p in files], minlength=len(folders))
    empty = [folders[i].name for i in np.flatnonzero(counts == 0)]
    if empty:
        more = f" (and {len(empty) - 1} more)" if len(empty) > 1 else ""
        raise DataError(
            f"{title}: the class folder {directory / empty[0]}{more} holds no images; "
            "add images to it or remove it (each sub-folder of the directory is a class)"
        )
    labels = np.array([class_of[p.relative_to(directory).parts[0]] for p in files], np.int64)
    return Listing(paths, labels, tuple(folder.name for folder in folders))


def _read(path: tf.Tensor, channels: int) -> tf.Tensor:
    return tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)


def square_resize(image: tf.Tensor, size: int) -> tf.Tensor:
    """The image's (or a batch's images') centre square, resized to ``size`` by area averaging, as uint8."""
    side = tf.minimum(tf.shape(image)[-3], tf.shape(image)[-2])
    image = tf.image.resize_with_crop_or_pad(image, side, side)
    return tf.cast(tf.round(tf.image.resize(image, (size, size), method="area")), tf.uint8)


def decoder(size: int, channels: int) -> Callable[[tf.Tensor], tf.Tensor]:
    """A path to its image: decoded with ``channels`` channels, centre-cropped square, resized to ``size``."""
    return lambda path: square_resize(_read(path, channels), size)


def _decoding_errors(paths: tuple[str, ...], decode: Callable, title: str, error: tf.errors.OpError) -> DataError:
    bad = undecodable(list(paths), decode)
    if not bad:
        return DataError(f"{title}: the images cannot be decoded ({error.message[:200]})")
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    return DataError(f"{title}: {bad[0]}{more} cannot be decoded as an image; remove or replace it")


def undecodable(paths: list[str], decode: Callable[[tf.Tensor], tf.Tensor]) -> list[str]:
    """The files of ``paths`` that ``decode`` fails on, in order (decoded in parallel, errors skipped)."""
    indices = tf.data.Dataset.from_tensor_slices((tf.range(len(paths)), paths))
    decoded = indices.map(lambda i, path: (i, decode(path)), num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    good = {int(i) for i, _ in decoded.as_numpy_iterator()}
    return [path for i, path in enumerate(paths) if i not in good]


@dataclasses.dataclass(frozen=True)
class Survey:
    """What the files are: the smallest side of any image, and which are grey (one channel, or R = G = B)."""

    smallest_side: int
    grey: np.ndarray


def survey(paths: tuple[str, ...], title: str) -> Survey:
    """Decode every image once at its own size (a pass over the folder) to learn its sides and colour."""

    def look(path: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = _read(path, 0)
        colour = image[..., :3]
        grey = tf.logical_or(tf.shape(image)[-1] < 3, tf.reduce_all(tf.equal(colour, colour[..., :1])))
        return tf.reduce_min(tf.shape(image)[:2]), grey

    looks = tf.data.Dataset.from_tensor_slices(list(paths)).map(look, num_parallel_calls=tf.data.AUTOTUNE)
    try:
        sides, greys = zip(*looks.as_numpy_iterator())
    except tf.errors.OpError as e:
        raise _decoding_errors(paths, lambda p: _read(p, 0), title, e) from e
    return Survey(int(min(sides)), np.array(greys, bool))


def size_for(smallest_side: int) -> int:
    """The largest network size that the smallest image covers without enlarging it (28 for smaller images)."""
    fitting = [size for size in IMAGE_SIZES if size <= smallest_side]
    return fitting[-1] if fitting else IMAGE_SIZES[0]


def decode_files(paths: tuple[str, ...], size: int, channels: int, title: str) -> np.ndarray:
    """Every file of ``paths`` as a ``[N, size, size, channels]`` uint8 array, in order."""
    decode = decoder(size, channels)
    batches = tf.data.Dataset.from_tensor_slices(list(paths)).map(decode, num_parallel_calls=tf.data.AUTOTUNE)
    try:
        return np.concatenate(list(batches.batch(4096).as_numpy_iterator()))
    except tf.errors.OpError as e:
        raise _decoding_errors(paths, decode, title, e) from e
