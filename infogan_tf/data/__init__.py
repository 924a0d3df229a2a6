"""Input data: the dataset interface (``base``), the registry (``registry``), and one module per dataset.

Importing this package registers the built-in datasets; a new one is a module with an
``ImageDataset`` subclass decorated with ``register_dataset`` (docs/architecture.md).
"""

from infogan_tf.data import celeba, chairs, dsprites, faces, fashion_mnist, mnist, svhn  # noqa: F401  (registers them)
from infogan_tf.data.base import Arrays, DataError, Dataset, ImageDataset, resolve_data_dir
from infogan_tf.data.celeba import CelebADataset
from infogan_tf.data.chairs import ChairsDataset
from infogan_tf.data.dsprites import DSpritesDataset
from infogan_tf.data.faces import FacesDataset
from infogan_tf.data.fashion_mnist import FashionMnistDataset
from infogan_tf.data.folder import ImageFolderDataset
from infogan_tf.data.idx import DATA_DIR_ENV, MNIST_FILES, IdxDataset, read_idx
from infogan_tf.data.mnist import MnistDataset
from infogan_tf.data.registry import DATASETS, register_dataset
from infogan_tf.data.svhn import SvhnDataset

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
    "IdxDataset",
    "ImageDataset",
    "ImageFolderDataset",
    "MnistDataset",
    "SvhnDataset",
    "read_idx",
    "register_dataset",
    "resolve_data_dir",
]
