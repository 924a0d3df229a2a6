"""``--dataset=npz --data_dir=FILE.npz``: an array of images (and, optionally, their labels) in one file."""

from __future__ import annotations

from pathlib import Path

from infogan_tf.data.base import DataError, missing
from infogan_tf.data.options import DEFAULT_OPTIONS, ImageOptions
from infogan_tf.data.own import OwnImagesDataset
from infogan_tf.data.registry import register_dataset


@register_dataset
class NpzDataset(OwnImagesDataset):
    """``images`` (uint8 ``[N, H, W]`` or ``[N, H, W, C]``, any size) and optional integer ``labels`` from an .npz.

    Images are centre-cropped and resized to the size asked for (default: their own where
    it is a network's size); a share is held out for the evaluation.
    """

    name = "npz"
    title = "npz"

    def __init__(self, data_dir: str | None = None, options: ImageOptions = DEFAULT_OPTIONS):
        fix = "pass {data_dir}=FILE.npz, a file with an 'images' array (uint8) and optionally 'labels'"
        if not data_dir:
            raise DataError(f"the npz dataset reads one file; {fix}")
        path = Path(data_dir)
        if not path.is_file():
            raise DataError(f"npz file {path} {missing(path, False)}; {fix}")
        self.load_npz(path, options)
