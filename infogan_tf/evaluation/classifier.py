"""A small classifier that scores generated images of a labelled dataset, as TF-GAN scores MNIST GANs.

Built for the dataset's image shape and class count, trained once on its training split
(for MNIST about a minute or two on two CPU cores) and cached per dataset; its 128-unit
penultimate layer is the feature space of the Fréchet distance.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import keras
import numpy as np

from infogan_tf.data.base import ImageDataset
from infogan_tf.errors import ConfigError

CACHE_ENV = "INFOGAN_CACHE_DIR"
FEATURES_LAYER = "features"


def default_path(dataset_name: str) -> Path:
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "infogan_tf"
    return Path(root) / f"{dataset_name}_classifier.keras"


def build_classifier(image_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """Two 3x3 convolutions with pooling, then a 128-unit feature layer; images enter flat (at least 10x10)."""
    if min(image_shape[:2]) < 10:
        raise ValueError(f"the sample classifier needs images of at least 10x10 pixels, not {tuple(image_shape)}")
    inputs = keras.Input((math.prod(image_shape),))
    x = keras.layers.Reshape(tuple(image_shape))(inputs)
    x = keras.layers.Conv2D(32, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.3)(x)
    features = keras.layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(keras.layers.Dropout(0.3)(features))
    return keras.Model(inputs, outputs, name="classifier")


class SampleClassifier:
    """Class probabilities and features of flat images in the dataset's value range."""

    def __init__(self, model: keras.Model, test_accuracy: float):
        self.model = model
        self.test_accuracy = test_accuracy
        self._both = keras.Model(model.inputs, [model.outputs[0], model.get_layer(FEATURES_LAYER).output])

    def predict(self, images: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        """(class probabilities, features)."""
        probs, features = self._both.predict(np.asarray(images, np.float32), batch_size=batch_size, verbose=0)
        return probs, features


def train_classifier(
    dataset: ImageDataset, epochs: int = 5, seed: int = 0, limit: int | None = None
) -> tuple[keras.Model, float]:
    """Fit on the training split (its first ``limit`` images if given); return it and its test accuracy."""
    if not dataset.labelled:
        raise ValueError(f"the {dataset.name} dataset has no labels to train a sample classifier on")
    keras.utils.set_random_seed(seed)
    model = build_classifier(dataset.image_shape, dataset.num_classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = dataset.train.head(limit), dataset.train.labels[:limit]
    model.fit(x, y, batch_size=128, epochs=epochs, verbose=2)
    _, accuracy = model.evaluate(dataset.test.images, dataset.test.labels, batch_size=1000, verbose=0)
    return model, float(accuracy)


class ClassifierError(ConfigError):
    """A cached classifier that cannot be used or written; the message names the file and the fix."""


def cache_path(dataset: ImageDataset, path: str | os.PathLike | None = None) -> Path:
    """Where ``dataset``'s classifier is cached (``path`` if given), checked to be usable before any training."""
    path = Path(path) if path else default_path(dataset.cache_name or dataset.name)
    if path.exists() and not path.is_file():
        raise ClassifierError(f"{{evaluation.classifier_path}}={path} is a directory; name a .keras file in it instead")
    if path.suffix != ".keras":
        raise ClassifierError(
            f"{{evaluation.classifier_path}}={path} must end in .keras (the format Keras saves it in)"
        )
    if any(parent.exists() and not parent.is_dir() for parent in path.parents):
        raise ClassifierError(
            f"{{evaluation.classifier_path}}={path} lies under a file, not a directory; choose another path"
        )
    return path


def load_cached(dataset: ImageDataset, path: str | os.PathLike | None = None) -> SampleClassifier | None:
    """The classifier cached for ``dataset`` (at ``path`` if given), None if there is none; refuses an unusable one."""
    path = cache_path(dataset, path)
    info = path.with_suffix(".json")
    if not (path.is_file() and info.is_file()):
        return None
    try:
        model = keras.models.load_model(path)
        accuracy = float(json.loads(info.read_text())["test_accuracy"])
    except Exception as e:  # Keras raises many types for a damaged file; JSON errors, KeyError, TypeError
        raise ClassifierError(
            f"the classifier cached at {path} (or {info.name}) is unreadable ({str(e).splitlines()[0][:200]}); "
            "delete both files to retrain it, or pass another {evaluation.classifier_path}"
        ) from e
    expected = ((None, dataset.image_dim), (None, dataset.num_classes))
    if (tuple(model.input_shape), tuple(model.output_shape)) != expected:
        raise ClassifierError(
            f"the classifier cached at {path} maps {model.input_shape} to {model.output_shape}, but {dataset.name} "
            f"needs {expected[0]} to {expected[1]}; delete it or pass another {{evaluation.classifier_path}}"
        )
    return SampleClassifier(model, accuracy)


def load_or_train(dataset: ImageDataset, path: str | os.PathLike | None = None, **train_kwargs) -> SampleClassifier:
    """The cached classifier at ``path`` (default: one per dataset), trained and saved there first if missing."""
    cached = load_cached(dataset, path)
    if cached is not None:
        return cached
    path = cache_path(dataset, path)
    model, accuracy = train_classifier(dataset, **train_kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    path.with_suffix(".json").write_text(json.dumps({"test_accuracy": accuracy}) + "\n")
    print(f"{dataset.name} classifier: {100 * accuracy:.2f}% test accuracy; cached at {path}")
    return SampleClassifier(model, accuracy)
