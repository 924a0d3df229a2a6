"""How a dataset built from the user's own images is read: its size, its channels, its tensorflow-datasets source."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ImageOptions:
    """Settings of the ``folder``, ``npz`` and ``tfds:NAME`` datasets (the built-in datasets fix their own)."""

    image_size: int | None = None
    """28, 32 or 64 (the networks' sizes); unset: the largest that every image covers."""
    channels: int | None = None
    """1 (grey) or 3 (colour); unset: grey where every image is grey, colour where every one is."""
    test_share: float = 0.1
    """The share of the images held out for the evaluation, where the source has no test split of its own."""
    in_memory_limit_mb: int = 4096
    """A folder whose decoded images would take more than this streams from disk instead."""
    tfds_split: str = "train"
    tfds_data_dir: str | None = None
    """Where tensorflow-datasets keeps its prepared files; unset: its default (~/tensorflow_datasets)."""
    tfds_image_key: str | None = None
    """The image feature; unset: the dataset's only image feature."""
    tfds_label_key: str | None = None
    """The label feature; unset: its only class label (or the one named ``label``); none: no labels."""


DEFAULT_OPTIONS = ImageOptions()
