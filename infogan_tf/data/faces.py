"""3D faces (Basel face model) renderings, 64x64 grey: one of the paper's experiments."""

from __future__ import annotations

from infogan_tf.data.folder import ImageFolderDataset
from infogan_tf.data.registry import register_dataset


@register_dataset
class FacesDataset(ImageFolderDataset):
    """3D faces (Paysan et al., 2009), Basel face model renderings as 64x64 grey: the paper's; not in tfds."""

    name = "faces"
    title = "3D faces"
    image_shape = (64, 64, 1)
    ENV = "INFOGAN_FACES_DIR"
