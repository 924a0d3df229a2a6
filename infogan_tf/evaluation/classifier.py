"""A small MNIST classifier that scores generated digits, as TF-GAN scores MNIST GANs.

Trained once on the training split (about a minute or two on two CPU cores) and cached;
its 128-unit penultimate layer is the feature space of the Fréchet distance.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np

from infogan_tf.datasets import MnistDataset

CACHE_ENV = "INFOGAN_CACHE_DIR"
FEATURES_LAYER = "features"


def default_path() -> Path:
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "infogan_tf"
    return Path(root) / "mnist_classifier.keras"


def build_classifier() -> keras.Model:
    inputs = keras.Input((784,))
    x = keras.layers.Reshape((28, 28, 1))(inputs)
    x = keras.layers.Conv2D(32, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.3)(x)
    features = keras.layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Dropout(0.3)(features))
    return keras.Model(inputs, outputs, name="mnist_classifier")


class DigitClassifier:
    """Class probabilities and features of flat [0, 1] MNIST-shaped images."""

    def __init__(self, model: keras.Model, test_accuracy: float):
        self.model = model
        self.test_accuracy = test_accuracy
        self._both = keras.Model(model.inputs, [model.outputs[0], model.get_layer(FEATURES_LAYER).output])

    def predict(self, images: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        """(class probabilities, features)."""
        probs, features = self._both.predict(np.asarray(images, np.float32), batch_size=batch_size, verbose=0)
        return probs, features


def train_classifier(
    dataset: MnistDataset, epochs: int = 5, seed: int = 0, limit: int | None = None
) -> tuple[keras.Model, float]:
    """Fit on the training split (its first ``limit`` images if given); return it and its test accuracy."""
    keras.utils.set_random_seed(seed)
    model = build_classifier()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = dataset.train.images[:limit], dataset.train.labels[:limit]
    model.fit(x, y, batch_size=128, epochs=epochs, verbose=2)
    _, accuracy = model.evaluate(dataset.test.images, dataset.test.labels, batch_size=1000, verbose=0)
    return model, float(accuracy)


def load_or_train(dataset: MnistDataset, path: str | os.PathLike | None = None, **train_kwargs) -> DigitClassifier:
    """The cached classifier at ``path``, trained and saved there first if missing."""
    path = Path(path) if path else default_path()
    info = path.with_suffix(".json")
    if path.is_file() and info.is_file():
        return DigitClassifier(keras.models.load_model(path), json.loads(info.read_text())["test_accuracy"])
    model, accuracy = train_classifier(dataset, **train_kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    info.write_text(json.dumps({"test_accuracy": accuracy}) + "\n")
    print(f"MNIST classifier: {100 * accuracy:.2f}% test accuracy; cached at {path}")
    return DigitClassifier(model, accuracy)
