"""3D chairs renderings, 64x64 grey: one of the paper's experiments."""

from __future__ import annotations

from infogan_tf.data.folder import ImageFolderDataset
from infogan_tf.data.registry import register_dataset


@register_dataset
class ChairsDataset(ImageFolderDataset):
    """3D chairs (Aubry et al., 2014), renderings as 64x64 grey: the paper's third; not in tensorflow-datasets."""

    name = "chairs"
    title = "3D chairs"
    image_shape = (64, 64, 1)
    ENV = "INFOGAN_CHAIRS_DIR"
