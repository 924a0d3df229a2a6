"""``--dataset=tfds:NAME``: any image dataset of tensorflow-datasets, offline where its files are already prepared.

The image and label features are found from the dataset's features (its only image, its
only class label or the one named ``label``) unless ``ImageOptions`` names them. Images
are made grey or colour and centre-cropped and resized as the folder dataset's are; the
dataset's own ``test`` split is held out for the evaluation where it has one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from infogan_tf.data.base import DataError
from infogan_tf.data.images import size_for, square_resize
from infogan_tf.data.options import DEFAULT_OPTIONS, ImageOptions
from infogan_tf.data.own import HELD_OUT_LIMIT, OwnImagesDataset, fingerprint, split_arrays

PREFIX = "tfds:"


def _features_of(info: Any, kind: str) -> list[str]:
    import tensorflow_datasets as tfds

    wanted = {"image": tfds.features.Image, "label": tfds.features.ClassLabel}[kind]
    return sorted(key for key, feature in info.features.items() if isinstance(feature, wanted))


class TfdsDataset(OwnImagesDataset):
    """A tensorflow-datasets image dataset by name, read into memory."""

    title = "tensorflow-datasets"

    def __init__(self, dataset_name: str, options: ImageOptions = DEFAULT_OPTIONS):
        self.name = f"{PREFIX}{dataset_name}"
        builder = self._builder(dataset_name, options)
        image_key, label_key = self._keys(builder.info, options)
        feature_shape = builder.info.features[image_key].shape
        channels = options.channels or (1 if feature_shape[-1] == 1 else 3)
        train_split = self._load(builder, options.tfds_split, options)
        size = options.image_size or size_for(
            min(feature_shape[:2]) if None not in feature_shape[:2] else self._smallest_side(train_split, image_key)
        )
        num_classes = builder.info.features[label_key].num_classes if label_key else None
        self.describe(size, channels, num_classes)
        self.cache_name = f"tfds_{fingerprint(dataset_name, options.tfds_split, image_key, label_key, size, channels)}"
        images, labels = self._arrays(train_split, image_key, label_key, size, channels)
        test = None
        if options.tfds_split.split("[")[0] != "test":
            test_split = self._load(builder, "test", options, missing_ok=True)
            if test_split is not None:
                test = self._arrays(test_split.take(HELD_OUT_LIMIT), image_key, label_key, size, channels)
        (images, labels), held = split_arrays(images, labels, 0.0 if test is not None else options.test_share)
        test = test if test is not None else held
        super().__init__(train=(images, labels), test=test)

    def _builder(self, dataset_name: str, options: ImageOptions) -> Any:
        import tensorflow_datasets as tfds

        try:
            return tfds.builder(dataset_name, data_dir=options.tfds_data_dir)
        except tfds.core.registered.DatasetNotFoundError as e:
            raise DataError(
                f"tensorflow-datasets has no dataset {dataset_name!r} (tfds.list_builders() names them all); "
                "fix the name in {dataset}=tfds:NAME"
            ) from e
        except (ValueError, AssertionError) as e:  # a name tfds cannot parse, or a config or version it lacks
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise DataError(
                f"tensorflow-datasets cannot build {dataset_name!r}: {reason}; "
                "fix the name in {dataset}=tfds:NAME[/CONFIG][:VERSION]"
            ) from e

    def _keys(self, info: Any, options: ImageOptions) -> tuple[str, str | None]:
        features = ", ".join(sorted(info.features))
        for key in (options.tfds_image_key, options.tfds_label_key):
            if key and key not in info.features:
                raise DataError(f"{self.name} has no feature {key!r} (its features: {features})")
        images, labels = _features_of(info, "image"), _features_of(info, "label")
        image_key = options.tfds_image_key or (images[0] if len(images) == 1 else None)
        if image_key is None:
            if not images:
                raise DataError(f"{self.name} has no image feature (its features: {features}); it is no image dataset")
            raise DataError(
                f"{self.name} has several image features ({', '.join(images)}): name one with {{images.tfds_image_key}}"
            )
        if image_key not in images:
            raise DataError(f"{self.name}'s feature {image_key!r} is not an image (its images: {', '.join(images)})")
        label_key = options.tfds_label_key or (
            labels[0] if len(labels) == 1 else "label" if "label" in labels else None
        )
        if label_key and label_key not in labels:
            raise DataError(
                f"{self.name}'s feature {label_key!r} is not a class label (its labels: {', '.join(labels)})"
            )
        return image_key, label_key

    def _load(
        self, builder: Any, split: str, options: ImageOptions, missing_ok: bool = False
    ) -> tf.data.Dataset | None:
        try:
            return builder.as_dataset(split=split, shuffle_files=False)
        except (ValueError, KeyError) as e:  # a split the dataset does not have
            if missing_ok:
                return None
            raise DataError(f"{self.name} has no split {split!r} ({e}); choose one with {{images.tfds_split}}") from e
        except Exception as e:  # not prepared: tfds raises AssertionError, or its own types by version
            if missing_ok and "split" in str(e).lower():
                return None
            where = options.tfds_data_dir or "tensorflow-datasets' default directory (~/tensorflow_datasets)"
            raise DataError(
                f"{self.name} is not prepared in {where} ({str(e).splitlines()[0][:160]}); prepare it on a machine "
                f"with internet (tfds build {builder.name} --data_dir=DIR), copy DIR here and pass "
                "{images.tfds_data_dir}=DIR"
            ) from e

    @staticmethod
    def _smallest_side(split: tf.data.Dataset, image_key: str) -> int:
        sides = split.map(lambda example: tf.reduce_min(tf.shape(example[image_key])[:2]))
        return int(sides.reduce(tf.constant(2**31 - 1), tf.minimum))

    def _arrays(
        self, split: tf.data.Dataset, image_key: str, label_key: str | None, size: int, channels: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        def convert(example: dict) -> tuple[tf.Tensor, tf.Tensor]:
            image = example[image_key]
            if channels == 3:
                image = tf.image.grayscale_to_rgb(image) if image.shape[-1] == 1 else image[..., :3]
            elif image.shape[-1] != 1:
                grey = tf.image.rgb_to_grayscale(tf.cast(image[..., :3], tf.float32))
                image = tf.cast(tf.round(grey), tf.uint8)
            label = tf.cast(example[label_key], tf.int64) if label_key else tf.constant(-1, tf.int64)
            return square_resize(image, size), label

        images, labels = [], []
        for batch_images, batch_labels in split.map(convert, num_parallel_calls=tf.data.AUTOTUNE).batch(4096):
            images.append(batch_images.numpy())
            labels.append(batch_labels.numpy())
        if not images:
            raise DataError(f"{self.name} has no images in this split; choose another with {{images.tfds_split}}")
        return np.concatenate(images), (np.concatenate(labels) if label_key else None)
