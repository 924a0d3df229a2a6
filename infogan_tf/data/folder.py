"""``--dataset=folder --data_dir=DIR``: every image below a folder, of any size; one sub-folder per class gives labels.

Images are centre-cropped square and resized by area averaging to the size asked for
(default: the largest network size that every image covers), grey or colour as asked
(default: grey where every image is grey). Where every image lies in one of at least two
sub-folders, each sub-folder is a class (torchvision's ``ImageFolder`` convention) and the
evaluation scores the categorical code against those labels. A folder whose decoded
images would exceed ``ImageOptions.in_memory_limit_mb`` streams its training images from
disk. An ``images.npz`` in the folder is read instead of the image files.

The built-in CelebA, 3D chairs and 3D faces datasets are this loader with their size and
channels fixed, no classes and nothing held out (``ImageFolderDataset``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from infogan_tf.data.base import DataError, missing, resolve_data_dir
from infogan_tf.data.images import Listing, decode_files, list_folder, size_for, survey
from infogan_tf.data.options import DEFAULT_OPTIONS, ImageOptions
from infogan_tf.data.own import OwnImagesDataset, fingerprint, held_out, read_images_npz
from infogan_tf.data.registry import register_dataset
from infogan_tf.data.streaming import StreamedSplit


@register_dataset
class FolderDataset(OwnImagesDataset):
    """Every image below ``data_dir``, with classes from its sub-folders where there are any."""

    name = "folder"
    title = "image folder"
    ENV = "INFOGAN_FOLDER_DIR"
    classes_from_folders = True
    streamed = False
    """Whether the training images stream from disk (set per instance)."""

    def __init__(self, data_dir: str | None = None, options: ImageOptions = DEFAULT_OPTIONS):
        directory = self._directory(data_dir)
        npz = directory / "images.npz"
        if npz.is_file():
            self.load_npz(npz, options)
        else:
            self._from_files(directory, options)

    def _fix(self) -> str:
        return f"pass {{data_dir}}=DIR (or set {self.ENV}=DIR) for a folder of its images or an images.npz"

    def _directory(self, data_dir: str | None) -> Path:
        data_dir = resolve_data_dir(data_dir, self.ENV)
        if not data_dir:
            raise DataError(f"{self.title} is not in tensorflow-datasets; {self._fix()}")
        directory = Path(data_dir)
        if not directory.is_dir():
            raise DataError(f"{self.title} directory {directory} {missing(directory, True)}; {self._fix()}")
        return directory

    def _from_files(self, directory: Path, options: ImageOptions) -> None:
        listing = list_folder(directory, self.title, self._fix(), self.classes_from_folders)
        size, channels = self._size_and_channels(directory, listing, options)
        self.describe(size, channels, len(listing.class_names) or None)
        self.cache_name = f"{self.name}_{fingerprint(str(directory.resolve()), size, channels)}"
        train, test = held_out(len(listing.paths), options.test_share, self.shuffled_order)
        pick = (lambda ids: None) if listing.labels is None else (lambda ids: listing.labels[ids])
        held = None
        if len(test):
            held = (decode_files(tuple(listing.paths[i] for i in test), size, channels, self.title), pick(test))
        train_paths = tuple(listing.paths[i] for i in train)
        self.streamed = not fits_in_memory(len(listing.paths), size, channels, options)
        if self.streamed:
            split = StreamedSplit(train_paths, pick(train), self.image_shape, self.value_range, self.title)
            super().__init__(train=split, test=held)
        else:
            super().__init__(train=(decode_files(train_paths, size, channels, self.title), pick(train)), test=held)

    def _size_and_channels(self, directory: Path, listing: Listing, options: ImageOptions) -> tuple[int, int]:
        """The size and channels asked for; what is not asked for is read from the images (one decoding pass).

        A folder that streams is always surveyed: the pass checks that every file decodes
        before training starts, which loading it whole does otherwise.
        """
        size, channels = options.image_size, options.channels
        if size and channels and fits_in_memory(len(listing.paths), size, channels, options):
            return size, channels
        looked = survey(listing.paths, self.title)
        channels = options.channels or self._channels(directory, listing, looked.grey)
        return options.image_size or size_for(looked.smallest_side), channels

    def _channels(self, directory: Path, listing: Listing, grey: np.ndarray) -> int:
        if grey.all():
            return 1
        if not grey.any():
            return 3
        examples = (listing.paths[int(np.argmax(grey))], listing.paths[int(np.argmin(grey))])
        raise DataError(
            f"{self.title}: of the {len(grey)} images under {directory}, {int(grey.sum())} are grey and "
            f"{int((~grey).sum())} colour (e.g. {examples[0]} and {examples[1]}); "
            "pass {images.channels}=1 or {images.channels}=3 to convert them all"
        )


def fits_in_memory(count: int, size: int, channels: int, options: ImageOptions) -> bool:
    """Whether ``count`` decoded images stay within ``options.in_memory_limit_mb``."""
    return count * size * size * channels <= options.in_memory_limit_mb * 2**20


class ImageFolderDataset(FolderDataset):
    """A built-in dataset read from a folder: its ``image_shape`` fixes size and channels; no classes, no test split.

    Its ``images.npz`` must hold images of exactly that shape.
    """

    takes_options = False
    classes_from_folders = False
    shuffled_order = False
    """Their files in path order, as these datasets have always been trained."""

    def __init__(self, data_dir: str | None = None):
        height, _, channels = self.image_shape
        super().__init__(data_dir, ImageOptions(image_size=height, channels=channels, test_share=0.0))
        self.cache_name = None

    def load_npz(self, path: Path, options: ImageOptions) -> None:
        images, _ = read_images_npz(path, self.title)
        if images.shape[1:] != tuple(self.image_shape):
            raise DataError(
                f"{self.title} file {path} holds {images.dtype} images of shape {images.shape[1:]}, "
                f"expected uint8 {tuple(self.image_shape)}"
            )
        super(FolderDataset, self).__init__(train=(images, None))
