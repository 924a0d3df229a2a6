"""Input data: the dataset interface, its registry, and MNIST and Fashion-MNIST from IDX files or tfds.

Port of ``infogan/misc/datasets.py``. An ``ImageDataset`` says everything the layers
above need to know of its data (image shape, value range, the output distribution that
fits it, splits, labels), so nothing else names MNIST's shapes. Images are kept as uint8
in memory and scaled to the value range per batch.

MNIST's splits are the original's (TF's old ``read_data_sets``): the first 5,000
training images are the validation split, the other 55,000 the training split; 10,000
test images. Fashion-MNIST has MNIST's files, shapes and sizes, and gets the same splits.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import tensorflow as tf

DATA_DIR_ENV = "INFOGAN_DATA_DIR"
"""MNIST's directory when --data_dir is unset; every other dataset has its own variable (see ``data_dir_env``)."""

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
VALIDATION_SIZE = 5000

_IDX_DTYPES = {0x08: np.uint8}


def _fix(title: str, env: str) -> str:
    return (
        f"pass --data_dir=DIR (or set {env}=DIR) for a directory holding the four {title} files "
        f"{', '.join(MNIST_FILES.values())}"
    )


class DataError(RuntimeError):
    """Data that cannot be loaded; the message names the file and the fix."""


def read_idx(
    path: str | os.PathLike, expected_shape: tuple[int, ...] | None = None, title: str = "MNIST", fix: str = ""
) -> np.ndarray:
    """Read one gzip-compressed IDX file (the MNIST format) into a numpy array.

    ``expected_shape`` checks every dimension but the first (the count) after parsing;
    ``title`` names the dataset in errors, ``fix`` says what to do about a missing file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{title} file {path} is missing; {fix or _fix(title, DATA_DIR_ENV)}")
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{title} file {path} is not a readable gzip file ({e}); replace it with an intact copy") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(
            f"{title} file {path} does not start with an IDX magic number of unsigned bytes; is it the right file?"
        )
    ndim = raw[3]
    if ndim == 0:
        raise DataError(f"{title} file {path} declares no dimensions, so it holds no items; is it the right file?")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{title} file {path} is truncated inside its header; replace it with an intact copy")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    size = int(np.prod(shape))
    if len(raw) - header != size:
        raise DataError(
            f"{title} file {path} holds {len(raw) - header} data bytes but its header promises {size} "
            f"(shape {shape}); the file is truncated or corrupt"
        )
    if expected_shape is not None and shape[1:] != tuple(expected_shape):
        raise DataError(f"{title} file {path} has items of shape {shape[1:]}, expected {tuple(expected_shape)}")
    return np.frombuffer(raw, dtype=_IDX_DTYPES[raw[2]], offset=header).reshape(shape)


def load_idx_dir(data_dir: str | os.PathLike, title: str = "MNIST", env: str = DATA_DIR_ENV) -> dict[str, np.ndarray]:
    """The four arrays of an MNIST-format dataset from a directory of IDX ``.gz`` files, checked for agreement."""
    data_dir, fix = Path(data_dir), _fix(title, env)
    if not data_dir.is_dir():
        raise DataError(f"{title} directory {data_dir} does not exist; {fix}")
    arrays = {}
    for key, name in MNIST_FILES.items():
        shape = (28, 28) if key.endswith("images") else ()
        arrays[key] = read_idx(data_dir / name, expected_shape=shape, title=title, fix=fix)
    for split in ("train", "test"):
        n_images, n_labels = len(arrays[f"{split}_images"]), len(arrays[f"{split}_labels"])
        if n_images != n_labels:
            raise DataError(f"{title} {split} split in {data_dir} has {n_images} images but {n_labels} labels")
    return arrays


def load_tfds(tfds_name: str, title: str = "MNIST", env: str = DATA_DIR_ENV) -> dict[str, np.ndarray]:
    """The same arrays through tensorflow-datasets (needs a download or a local tfds copy)."""
    try:
        import tensorflow_datasets as tfds

        splits = tfds.load(tfds_name, split=["train", "test"], as_supervised=True)
        train, test = (_tfds_arrays(split) for split in splits)
    except Exception as e:  # tfds raises many types for no network, no copy, bad copy
        raise DataError(
            f"no {title} directory was given and tensorflow-datasets could not load {title} ({e}); {_fix(title, env)}"
        ) from e
    return {"train_images": train[0], "train_labels": train[1], "test_images": test[0], "test_labels": test[1]}


def _tfds_arrays(split: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Images [N, 28, 28] and labels of one tfds split, read in a few large batches."""
    images, labels = zip(*split.batch(10000).as_numpy_iterator())
    return np.concatenate(images)[..., 0], np.concatenate(labels)


class Dataset:
    """One split: uint8 images flattened per example, optional labels, and a tf.data pipeline.

    ``value_range`` is what 0 and 255 map to; every consumer sees images in that range.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray | None = None,
        value_range: tuple[float, float] = (0.0, 1.0),
        factors: np.ndarray | None = None,
    ):
        if images.dtype != np.uint8:
            raise DataError(f"a split's images must be uint8 (0-255), not {images.dtype}")
        for name, values in (("labels", labels), ("factor rows", factors)):
            if values is not None and len(values) != len(images):
                raise DataError(f"a split has {len(images)} images but {len(values)} {name}")
        self._images = np.ascontiguousarray(images.reshape(images.shape[0], -1))
        self._labels = labels
        self.factors = factors
        """Ground-truth generative factors ``[N, factors]`` as integers, where the dataset knows them."""
        self._low = float(value_range[0])
        self._scale = (float(value_range[1]) - self._low) / 255.0

    @property
    def images(self) -> np.ndarray:
        """Images as float32 in the value range, flat, as the original exposed them."""
        return self._images.astype(np.float32) * np.float32(self._scale) + np.float32(self._low)

    @property
    def labels(self) -> np.ndarray | None:
        return self._labels

    @property
    def num_examples(self) -> int:
        return self._images.shape[0]

    def batches(self, batch_size: int, seed: int = 0, start: int = 0, repeat: bool = True) -> tf.data.Dataset:
        """Shuffled float32 batches; each epoch reshuffles and drops its last partial batch.

        This is what the original's ``next_batch`` did, without a Python step per batch.
        Batch k of the stream depends only on (seed, k): epoch e is a stateless shuffle
        seeded by (seed, e), so a resumed run continues at batch ``start`` exactly.
        """
        _, per_epoch = self._epoch_size(batch_size)
        first_epoch, offset = divmod(start, per_epoch)
        images = tf.constant(self._images)
        scale, low = self._scale, self._low

        def epoch_batches(epoch: tf.Tensor) -> tf.data.Dataset:
            order = self._epoch_order(seed, epoch)
            return tf.data.Dataset.from_tensor_slices(
                tf.reshape(order[: per_epoch * batch_size], [per_epoch, batch_size])
            )

        epochs = tf.data.Dataset.range(first_epoch, 2**62 if repeat else first_epoch + 1)
        ds = epochs.flat_map(epoch_batches).skip(offset)
        ds = ds.map(
            lambda ids: tf.cast(tf.gather(images, ids), tf.float32) * scale + low, num_parallel_calls=tf.data.AUTOTUNE
        )
        return ds.prefetch(tf.data.AUTOTUNE)

    def device_batches(self, batch_size: int, seed: int = 0, start: int = 0) -> Iterator[tf.Tensor]:
        """The stream of ``batches`` (same batches, same order), gathered where TensorFlow computes.

        The split is copied once to the default device (a GPU where there is one; MNIST is
        47 MB as uint8) and each batch is gathered and scaled there, so an update waits for
        no host work and no host-to-device copy.
        """
        _, per_epoch = self._epoch_size(batch_size)
        epoch, offset = divmod(start, per_epoch)
        images = tf.identity(tf.constant(self._images))
        scale, low = self._scale, self._low
        gather = tf.function(lambda ids: tf.cast(tf.gather(images, ids), tf.float32) * scale + low)
        order_of = tf.function(lambda epoch: self._epoch_order(seed, epoch))
        while True:
            order = order_of(tf.constant(epoch, tf.int64))
            for k in range(offset, per_epoch):
                yield gather(order[k * batch_size : (k + 1) * batch_size])
            epoch, offset = epoch + 1, 0

    def _epoch_size(self, batch_size: int) -> tuple[int, int]:
        n = self.num_examples
        if batch_size > n:
            raise ValueError(f"batch_size {batch_size} exceeds the {n} examples of this split")
        return n, n // batch_size

    def _epoch_order(self, seed: int, epoch: tf.Tensor) -> tf.Tensor:
        """Epoch ``epoch``'s order of the examples: a stateless shuffle seeded by (seed, epoch)."""
        seeds = tf.stack([tf.constant(seed, tf.int64), epoch])
        return tf.random.experimental.stateless_shuffle(tf.range(self.num_examples), seed=seeds)


Arrays = tuple[np.ndarray, np.ndarray | None] | tuple[np.ndarray, np.ndarray | None, np.ndarray | None]
"""A split: uint8 images ``[N, H, W]`` or ``[N, H, W, C]``, labels ``[N]`` (or None) and optionally factors."""


class ImageDataset:
    """What the model, the trainer and the evaluation know of a dataset.

    A subclass sets the class attributes and hands its arrays to ``__init__``; its own
    ``__init__`` takes ``data_dir`` (None: its fallback, e.g. tensorflow-datasets), so the
    registry can build any of them from the ``--data_dir`` flag.
    """

    name: str = ""
    image_shape: tuple[int, int, int] = (0, 0, 0)
    value_range: tuple[float, float] = (0.0, 1.0)
    output_dist: str = "mean_bernoulli"
    """The distribution of G's output that fits these values (see ``models.OUTPUT_DISTRIBUTIONS``)."""
    num_classes: int | None = None
    """How many label values there are; None where the dataset has no labels."""
    factor_names: tuple[str, ...] = ()
    """The ground-truth factors' names, where the splits carry them (for disentanglement scores)."""

    def __init__(self, train: Arrays, test: Arrays | None = None, validation: Arrays | None = None):
        self.train = self._split(train)
        self.test = self._split(test) if test is not None else None
        self.validation = self._split(validation) if validation is not None else None

    def _split(self, arrays: Arrays) -> Dataset:
        images, labels, *factors = arrays
        if tuple(images.shape[1:]) not in (tuple(self.image_shape), tuple(self.image_shape[:2])):
            raise DataError(f"{self.name} images have shape {images.shape[1:]}, expected {tuple(self.image_shape)}")
        return Dataset(images, labels, self.value_range, factors[0] if factors else None)

    @property
    def image_dim(self) -> int:
        return int(np.prod(self.image_shape))

    @property
    def labelled(self) -> bool:
        """Whether train and test splits carry labels (what the sample-quality classifier and clustering need)."""
        return self.num_classes is not None and self.test is not None and self.test.labels is not None

    def to_unit_range(self, images: np.ndarray | tf.Tensor) -> np.ndarray:
        """Images in [0, 1], for PNGs and TensorBoard."""
        low, high = self.value_range
        return (np.asarray(images) - low) / (high - low)


DATASETS: dict[str, Callable[[str | None], ImageDataset]] = {}


def register_dataset(cls: type[ImageDataset]) -> type[ImageDataset]:
    """Make ``cls`` available as ``--dataset=<cls.name>``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a name to be registered")
    DATASETS[cls.name] = cls
    return cls


def resolve_data_dir(data_dir: str | None, env: str = DATA_DIR_ENV) -> str | None:
    """The flag if given, else the dataset's environment variable, else None (use tfds)."""
    return data_dir or os.environ.get(env) or None


class IdxDataset(ImageDataset):
    """An MNIST-format dataset (four IDX files of 28x28 grey images and labels 0-9) with the original's splits.

    ``data_dir=None`` falls back to the dataset's environment variable, then to tfds.
    """

    image_shape = (28, 28, 1)
    num_classes = 10
    title = "MNIST"
    tfds_name = "mnist"
    data_dir_env = DATA_DIR_ENV

    def __init__(self, data_dir: str | None = None):
        data_dir = resolve_data_dir(data_dir, self.data_dir_env)
        if data_dir:
            arrays = load_idx_dir(data_dir, self.title, self.data_dir_env)
        else:
            arrays = load_tfds(self.tfds_name, self.title, self.data_dir_env)
        train_x, train_y = arrays["train_images"], arrays["train_labels"]
        if len(train_x) <= VALIDATION_SIZE:
            raise DataError(
                f"{self.title} training split has {len(train_x)} images; at least {VALIDATION_SIZE + 1} are needed"
            )
        super().__init__(
            train=(train_x[VALIDATION_SIZE:], train_y[VALIDATION_SIZE:]),
            test=(arrays["test_images"], arrays["test_labels"]),
            validation=(train_x[:VALIDATION_SIZE], train_y[:VALIDATION_SIZE]),
        )


@register_dataset
class MnistDataset(IdxDataset):
    """MNIST (LeCun et al.), the paper's first experiment."""

    name = "mnist"


@register_dataset
class FashionMnistDataset(IdxDataset):
    """Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): ten kinds of clothing in MNIST's format; not in the paper."""

    name = "fashion_mnist"
    title = "Fashion-MNIST"
    tfds_name = "fashion_mnist"
    data_dir_env = "INFOGAN_FASHION_MNIST_DIR"
    label_names = (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"
    )  # fmt: skip


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
        return f"pass --data_dir=DIR (or set {self.ENV}=DIR) for a directory holding {self.FILE}"

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
        return images.astype(np.uint8), classes[:, 1:].astype(np.int64)  # column 0, the colour, never varies

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


def _tfds_or_fail(name: str, title: str, fix: str, split: str) -> tf.data.Dataset:
    try:
        import tensorflow_datasets as tfds

        return tfds.load(name, split=split)
    except Exception as e:  # tfds raises many types for no network, no copy, bad copy
        raise DataError(
            f"no {title} directory was given and tensorflow-datasets could not load {name} ({e}); {fix}"
        ) from e


def _tfds_images_labels(name: str, title: str, fix: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for batch in _tfds_or_fail(name, title, fix, split).batch(10000).as_numpy_iterator():
        images.append(batch["image"])
        labels.append(batch["label"])
    return np.concatenate(images), np.concatenate(labels).astype(np.int64)


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
        fix = f"pass --data_dir=DIR (or set {self.ENV}=DIR) for a directory holding {' and '.join(self.FILES.values())}"
        if data_dir:
            train, test = (self._from_mat(Path(data_dir) / self.FILES[s], fix) for s in ("train", "test"))
        else:
            train, test = (_tfds_images_labels("svhn_cropped", "SVHN", fix, s) for s in ("train", "test"))
        super().__init__(train=train, test=test)

    @staticmethod
    def _from_mat(path: Path, fix: str) -> tuple[np.ndarray, np.ndarray]:
        from scipy import io

        if not path.is_file():
            raise DataError(f"SVHN file {path} is missing; {fix}")
        try:
            mat = io.loadmat(path)
            images, labels = mat["X"], mat["y"].reshape(-1)
        except (OSError, ValueError, KeyError, TypeError, NotImplementedError) as e:
            raise DataError(f"SVHN file {path} is not a readable .mat with X and y ({e}); replace it") from e
        if images.ndim != 4 or images.shape[:3] != (32, 32, 3) or images.shape[3] != len(labels):
            raise DataError(
                f"SVHN file {path} holds X {images.shape} and y {labels.shape}, expected [32, 32, 3, N], [N]"
            )
        return np.ascontiguousarray(np.moveaxis(images, 3, 0)).astype(np.uint8), labels.astype(np.int64) % 10


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def load_image_folder(directory: Path, image_shape: tuple[int, int, int], title: str, fix: str) -> np.ndarray:
    """Every image file below ``directory`` (sorted by path), centre-cropped square and resized, as uint8."""
    paths = sorted(str(p) for p in directory.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise DataError(f"{title}: no image files ({', '.join(IMAGE_SUFFIXES)}) under {directory}; {fix}")
    height, width, channels = image_shape

    def decode(path: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        side = tf.minimum(tf.shape(image)[0], tf.shape(image)[1])
        image = tf.image.resize_with_crop_or_pad(image, side, side)
        return tf.cast(tf.round(tf.image.resize(image, (height, width), method="area")), tf.uint8)

    try:
        batches = tf.data.Dataset.from_tensor_slices(paths).map(decode, num_parallel_calls=tf.data.AUTOTUNE)
        return np.concatenate(list(batches.batch(4096).as_numpy_iterator()))
    except tf.errors.OpError as e:
        raise DataError(f"{title}: an image under {directory} cannot be decoded ({e.message[:200]}); remove it") from e


class ImageFolderDataset(ImageDataset):
    """Unlabelled images: a folder of files (any size; centre-cropped, resized) or an ``images.npz`` with ``images``."""

    title = ""
    ENV = ""

    def __init__(self, data_dir: str | None = None):
        data_dir = resolve_data_dir(data_dir, self.ENV)
        fix = f"pass --data_dir=DIR (or set {self.ENV}=DIR) for a folder of its images or an images.npz (see README)"
        if not data_dir:
            raise DataError(f"{self.title} is not in tensorflow-datasets; {fix}")
        directory = Path(data_dir)
        if not directory.is_dir():
            raise DataError(f"{self.title} directory {directory} does not exist; {fix}")
        npz = directory / "images.npz"
        super().__init__(train=(self._from_npz(npz) if npz.is_file() else self._from_folder(directory, fix), None))

    def _from_folder(self, directory: Path, fix: str) -> np.ndarray:
        return load_image_folder(directory, self.image_shape, self.title, fix)

    def _from_npz(self, path: Path) -> np.ndarray:
        try:
            with np.load(path) as archive:
                images = archive["images"]
        except (OSError, ValueError, KeyError, zlib.error) as e:
            raise DataError(f"{self.title} file {path} is not an .npz with an 'images' array ({e}); replace it") from e
        if images.dtype != np.uint8 or tuple(images.shape[1:3]) != tuple(self.image_shape[:2]):
            raise DataError(
                f"{self.title} file {path} holds {images.dtype} images of shape {images.shape[1:]}, "
                f"expected uint8 {tuple(self.image_shape)}"
            )
        return images


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
        fix = f"pass --data_dir=DIR (or set {self.ENV}=DIR) for the img_align_celeba folder"

        def small(batch: dict) -> np.ndarray:
            side = min(batch["image"].shape[1:3])
            square = tf.image.resize_with_crop_or_pad(batch["image"], side, side)
            return tf.cast(tf.round(tf.image.resize(square, self.image_shape[:2], method="area")), tf.uint8).numpy()

        batches = _tfds_or_fail("celeb_a", "CelebA", fix, "train").batch(4096).as_numpy_iterator()
        ImageDataset.__init__(self, train=(np.concatenate([small(b) for b in batches]), None))


@register_dataset
class ChairsDataset(ImageFolderDataset):
    """3D chairs (Aubry et al., 2014), renderings as 64x64 grey: the paper's third; not in tensorflow-datasets."""

    name = "chairs"
    title = "3D chairs"
    image_shape = (64, 64, 1)
    ENV = "INFOGAN_CHAIRS_DIR"


@register_dataset
class FacesDataset(ImageFolderDataset):
    """3D faces (Paysan et al., 2009), Basel face model renderings as 64x64 grey: the paper's; not in tfds."""

    name = "faces"
    title = "3D faces"
    image_shape = (64, 64, 1)
    ENV = "INFOGAN_FACES_DIR"
