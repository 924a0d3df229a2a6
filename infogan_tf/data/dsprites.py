"""dSprites: 64x64 sprites with five known factors, for a disentanglement score; not in the paper."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from infogan_tf.data.base import DataError, ImageDataset, resolve_data_dir
from infogan_tf.data.registry import register_dataset


@register_dataset
class DSpritesDataset(ImageDataset):
    """dSprites (Matthey et al., 2017): 737,280 64x64 binary sprites, every combination of five known factors.

    Not in the paper; with its factors known, a disentanglement score (MIG) can be put
    beside the traversals. ``data_dir`` holds the file DeepMind distributes,
    ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` (or set ``$INFOGAN_DSPRITES_DIR``);
    without one, tensorflow-datasets' ``dsprites``. There is no official split: a fixed
    permutation (numpy seed 0) holds out the last 10,000 images as the test split.
    """

    name = "dsprites"
    image_shape = (64, 64, 1)
    factor_names = ("shape", "scale", "orientation", "x_position", "y_position")
    FILE = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
    ENV = "INFOGAN_DSPRITES_DIR"
    TEST_SIZE = 10000

    def __init__(self, data_dir: str | None = None):
        data_dir = resolve_data_dir(data_dir, self.ENV)
        images, factors = self._from_npz(Path(data_dir) / self.FILE) if data_dir else self._from_tfds()
        if len(images) <= self.TEST_SIZE:
            raise DataError(f"dSprites has {len(images)} images; more than {self.TEST_SIZE} are needed")
        if images.max() <= 1:  # the distributed arrays hold 0 and 1
            images = images * np.uint8(255)
        order = np.random.RandomState(0).permutation(len(images))
        train, test = order[: -self.TEST_SIZE], order[-self.TEST_SIZE :]
        super().__init__(train=(images[train], None, factors[train]), test=(images[test], None, factors[test]))

    def _fix(self) -> str:
        return f"pass {{data_dir}}=DIR (or set {self.ENV}=DIR) for a directory holding {self.FILE}"

    def _from_npz(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        if not path.is_file():
            raise DataError(f"dSprites file {path} is missing; {self._fix()}")
        try:
            with np.load(path) as archive:
                images, classes = archive["imgs"], archive["latents_classes"]
        except (OSError, ValueError, KeyError, zlib.error) as e:
            raise DataError(
                f"dSprites file {path} is not the distributed .npz with 'imgs' and 'latents_classes' ({e}); "
                "replace it with an intact copy"
            ) from e
        if images.ndim != 3 or images.shape[1:] != (64, 64) or classes.shape != (len(images), 6):
            raise DataError(
                f"dSprites file {path} holds images {images.shape} and factors {classes.shape}, "
                f"expected [N, 64, 64] and [N, 6]"
            )
        if images.dtype != np.uint8 or not np.issubdtype(classes.dtype, np.integer):
            raise DataError(
                f"dSprites file {path} holds imgs as {images.dtype} and latents_classes as {classes.dtype}, "
                "expected the distributed uint8 images and integer factors; replace it with an intact copy"
            )
        return images, classes[:, 1:].astype(np.int64)  # column 0, the colour, never varies

    def _from_tfds(self) -> tuple[np.ndarray, np.ndarray]:
        keys = [f"label_{name}" for name in self.factor_names]
        try:
            import tensorflow_datasets as tfds

            images, factors = [], []
            for batch in tfds.load("dsprites", split="train").batch(20000).as_numpy_iterator():
                images.append(batch["image"][..., 0])
                factors.append(np.stack([batch[k] for k in keys], axis=1))
        except Exception as e:  # tfds raises many types for no network, no copy, bad copy
            raise DataError(
                f"no dSprites directory was given and tensorflow-datasets could not load dsprites ({e}); {self._fix()}"
            ) from e
        return np.concatenate(images), np.concatenate(factors).astype(np.int64)
