"""CelebA aligned faces, 32x32 colour: the paper's fourth experiment."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from infogan_tf.data.base import ImageDataset, resolve_data_dir, tfds_or_fail
from infogan_tf.data.folder import ImageFolderDataset
from infogan_tf.data.registry import register_dataset


@register_dataset
class CelebADataset(ImageFolderDataset):
    """CelebA (Liu et al., 2015), aligned faces, centre-cropped and resized to 32x32 colour: the paper's fourth.

    ``data_dir``: the ``img_align_celeba`` folder of JPEGs (or an ``images.npz``); without
    one, tensorflow-datasets' ``celeb_a``, which needs its files downloaded by hand.
    """

    name = "celeba"
    title = "CelebA"
    image_shape = (32, 32, 3)
    value_range = (-1.0, 1.0)
    output_dist = "mean_tanh_gaussian"
    ENV = "INFOGAN_CELEBA_DIR"

    def __init__(self, data_dir: str | None = None):
        if resolve_data_dir(data_dir, self.ENV):
            super().__init__(data_dir)
            return
        fix = f"pass {{data_dir}}=DIR (or set {self.ENV}=DIR) for the img_align_celeba folder"

        def small(batch: dict) -> np.ndarray:
            side = min(batch["image"].shape[1:3])
            square = tf.image.resize_with_crop_or_pad(batch["image"], side, side)
            return tf.cast(tf.round(tf.image.resize(square, self.image_shape[:2], method="area")), tf.uint8).numpy()

        batches = tfds_or_fail("celeb_a", "CelebA", fix, "train").batch(4096).as_numpy_iterator()
        ImageDataset.__init__(self, train=(np.concatenate([small(b) for b in batches]), None))
