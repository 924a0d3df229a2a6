"""SVHN cropped digits, 32x32 colour: the paper's second experiment."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from infogan_tf.data.base import DataError, ImageDataset, resolve_data_dir, tfds_images_labels
from infogan_tf.data.registry import register_dataset


@register_dataset
class SvhnDataset(ImageDataset):
    """SVHN (Netzer et al., 2011), cropped digits, 32x32 colour: the paper's second experiment.

    ``data_dir`` holds the distributed ``train_32x32.mat`` and ``test_32x32.mat`` (or set
    ``$INFOGAN_SVHN_DIR``); without one, tensorflow-datasets' ``svhn_cropped``. The
    ``.mat`` files label the digit 0 as 10; here it is 0. Values in [-1, 1] for G's tanh.
    """

    name = "svhn"
    image_shape = (32, 32, 3)
    value_range = (-1.0, 1.0)
    output_dist = "mean_tanh_gaussian"
    num_classes = 10
    ENV = "INFOGAN_SVHN_DIR"
    FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat"}

    def __init__(self, data_dir: str | None = None):
        data_dir = resolve_data_dir(data_dir, self.ENV)
        files = " and ".join(self.FILES.values())
        fix = f"pass {{data_dir}}=DIR (or set {self.ENV}=DIR) for a directory holding {files}"
        if data_dir:
            train, test = (self._from_mat(Path(data_dir) / self.FILES[s], fix) for s in ("train", "test"))
        else:
            train, test = (tfds_images_labels("svhn_cropped", "SVHN", fix, s) for s in ("train", "test"))
        super().__init__(train=train, test=test)

    @staticmethod
    def _from_mat(path: Path, fix: str) -> tuple[np.ndarray, np.ndarray]:
        from scipy import io

        if not path.is_file():
            raise DataError(f"SVHN file {path} is missing; {fix}")
        try:
            mat = io.loadmat(path)
            images, labels = mat["X"], mat["y"].reshape(-1)
        except (OSError, ValueError, KeyError, TypeError, NotImplementedError, io.matlab.MatReadError) as e:
            reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            raise DataError(f"SVHN file {path} is not a readable .mat with X and y ({reason}); replace it") from e
        if images.ndim != 4 or images.shape[:3] != (32, 32, 3) or images.shape[3] != len(labels):
            raise DataError(
                f"SVHN file {path} holds X {images.shape} and y {labels.shape}, expected [32, 32, 3, N], [N]"
            )
        if images.dtype != np.uint8:
            raise DataError(
                f"SVHN file {path} holds X as {images.dtype}, expected the distributed uint8 pixels (0 to 255); "
                "replace it with the original file"
            )
        integral = np.issubdtype(labels.dtype, np.integer) or (
            np.issubdtype(labels.dtype, np.floating) and np.all(np.mod(labels, 1) == 0)
        )
        if not integral or labels.size and not np.all((labels >= 0) & (labels <= 10)):
            raise DataError(
                f"SVHN file {path} holds labels y that are not digits 1 to 10 ({labels.dtype}); "
                "replace it with the original file"
            )
        return np.ascontiguousarray(np.moveaxis(images, 3, 0)), labels.astype(np.int64) % 10
