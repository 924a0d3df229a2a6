"""Input data: the dataset interface (``base``), the registry (``registry``), and one module per dataset.

Importing this package registers the built-in datasets; a new one is a module with an
``ImageDataset`` subclass decorated with ``register_dataset`` (docs/architecture.md).
``make_dataset`` builds one by name: a registered one, or ``tfds:NAME``.
"""

from infogan_tf.data import (  # noqa: F401  (registers them)
    celeba,
    chairs,
    dsprites,
    faces,
    fashion_mnist,
    folder,
    mnist,
    npz,
    svhn,
)
from infogan_tf.data.base import Arrays, DataError, Dataset, ImageDataset, resolve_data_dir
from infogan_tf.data.celeba import CelebADataset
from infogan_tf.data.chairs import ChairsDataset
from infogan_tf.data.dsprites import DSpritesDataset
from infogan_tf.data.faces import FacesDataset
from infogan_tf.data.fashion_mnist import FashionMnistDataset
from infogan_tf.data.folder import FolderDataset, ImageFolderDataset
from infogan_tf.data.idx import DATA_DIR_ENV, MNIST_FILES, IdxDataset, read_idx
from infogan_tf.data.mnist import MnistDataset
from infogan_tf.data.npz import NpzDataset
from infogan_tf.data.options import DEFAULT_OPTIONS, ImageOptions
from infogan_tf.data.registry import DATASETS, register_dataset
from infogan_tf.data.svhn import SvhnDataset
from infogan_tf.data.tfds_named import PREFIX as TFDS_PREFIX
from infogan_tf.data.tfds_named import TfdsDataset


def make_dataset(name: str, data_dir: str | None = None, options: ImageOptions = DEFAULT_OPTIONS) -> ImageDataset:
    """The dataset called ``name``: a registered one (those of the user's own images take ``options``), or
    ``tfds:NAME``, a tensorflow-datasets image dataset."""
    if name.startswith(TFDS_PREFIX):
        return TfdsDataset(name.removeprefix(TFDS_PREFIX), options)
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}, or tfds:NAME")
    dataset = DATASETS[name]
    return dataset(data_dir, options) if getattr(dataset, "takes_options", False) else dataset(data_dir)


__all__ = [
    "DATASETS",
    "DATA_DIR_ENV",
    "MNIST_FILES",
    "Arrays",
    "CelebADataset",
    "ChairsDataset",
    "DSpritesDataset",
    "DataError",
    "Dataset",
    "FacesDataset",
    "FashionMnistDataset",
    "FolderDataset",
    "IdxDataset",
    "ImageDataset",
    "ImageFolderDataset",
    "ImageOptions",
    "MnistDataset",
    "NpzDataset",
    "TFDS_PREFIX",
    "TfdsDataset",
    "SvhnDataset",
    "make_dataset",
    "read_idx",
    "register_dataset",
    "resolve_data_dir",
]
