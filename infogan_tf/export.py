"""G and Q for other tools: a SavedModel that needs only TensorFlow, and ``.keras`` files that need only Keras.

Both are made from copies of the networks built of TensorFlow's own Keras layers (the
layer kit's layers have the same configuration and weights), in float32, in inference
mode (BatchNorm's moving averages). The SavedModel's signatures:

- ``generate`` (also ``serving_default``): ``noise`` ``[N, noise width]`` and one input per
  regularised code, ``code_<i>`` ``[N, width]`` (one-hot for a categorical code) →
  ``images`` ``[N, H, W, C]``, G's mean image, in the output range (MNIST: [0, 1]).
- ``encode``: ``images`` ``[N, H, W, C]`` → Q's posterior, one output per parameter:
  ``code_<i>_prob`` (categorical), ``code_<i>_mean`` and ``code_<i>_stddev`` (continuous),
  ``code_<i>_p`` (Bernoulli).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import keras
import tensorflow as tf
from keras import layers

from infogan_tf.checkpoints import LoadedModel
from infogan_tf.errors import ConfigError
from infogan_tf.models import RegularizedGAN

_STOCK = (layers.Conv2DTranspose, layers.Conv2D, layers.BatchNormalization, layers.LeakyReLU, layers.Dense)


def stock_copy(network: keras.Model) -> keras.Model:
    """``network`` rebuilt from TensorFlow's own Keras layers, in float32, with its weights."""

    def clone(layer: layers.Layer) -> layers.Layer:
        config = {**layer.get_config(), "dtype": "float32"}
        cls = next((c for c in _STOCK if isinstance(layer, c)), type(layer))
        return cls.from_config(config)

    copy = keras.models.clone_model(network, clone_function=clone)
    copy.set_weights(network.get_weights())
    return copy


class ExportedInfoGAN(tf.Module):
    """What the SavedModel holds: the stock copies and the two signature functions."""

    def __init__(self, model: RegularizedGAN):
        super().__init__()
        self.generator = stock_copy(model.networks.generator)
        self.d_body = stock_copy(model.networks.d_body)
        self.q_head = stock_copy(model.networks.q_head)
        self._model = model
        self._image_shape = list(model.image_shape)
        reg_dims = model.reg_latent_dist.dims
        noise = tf.TensorSpec([None, model.nonreg_latent_dist.dim], tf.float32, name="noise")
        codes = [tf.TensorSpec([None, d], tf.float32, name=f"code_{i}") for i, d in enumerate(reg_dims)]
        self.generate = tf.function(self._generate, input_signature=[noise, *codes])
        images = tf.TensorSpec([None, *model.image_shape], tf.float32, name="images")
        self.encode = tf.function(self._encode, input_signature=[images])

    def _generate(self, noise: tf.Tensor, *codes: tf.Tensor) -> dict[str, tf.Tensor]:
        model = self._model
        z = model.combine_reg_nonreg_z(model.reg_latent_dist.join_vars(list(codes)), noise)
        info = model.output_dist.activate_dist(self.generator(z, training=False))
        return {"images": tf.reshape(model.output_dist.mean(info), [-1, *self._image_shape])}

    def _encode(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        flat = tf.reshape(images, [tf.shape(images)[0], -1])
        info = self._model.reg_latent_dist.activate_dist(self.q_head(self.d_body(flat, training=False), training=False))
        return {key.replace("id_", "code_", 1): value for key, value in info.items()}


class ExportError(ConfigError):
    """An export that would overwrite what is not an export; the message names the folder."""


def is_export(directory: Path) -> bool:
    """Whether ``directory`` holds an export (its ``model.json`` and ``saved_model/``), which a new one may replace."""
    return (directory / "model.json").is_file() and (directory / "saved_model").is_dir()


def export(loaded: LoadedModel, out_dir: str | Path) -> dict[str, Path]:
    """Write ``saved_model/``, ``<network>.keras`` for each network (and any extra head), and ``model.json``.

    Whole or not at all: everything is written to ``.<name>.partial`` beside ``out_dir``
    and then takes its place, so an export stopped half-way leaves no partial folder at
    ``out_dir``, and a re-export leaves the previous one there until the new one is whole.
    """
    out_dir = Path(out_dir)
    if out_dir.name in ("", ".", ".."):
        out_dir = out_dir.resolve()
    partial, previous = (out_dir.with_name(f".{out_dir.name}.{kind}") for kind in ("partial", "previous"))
    if not out_dir.exists() and previous.is_dir():  # a swap was cut between its two renames: put the old one back
        os.rename(previous, out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "it is a file, not a folder", str(out_dir))
    if out_dir.is_dir() and any(out_dir.iterdir()) and not is_export(out_dir):
        raise ExportError(
            f"{out_dir} holds files that are not an export, and an export replaces its folder whole; "
            "choose a new or empty folder, or an earlier export"
        )
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        names = _write(loaded, partial)
        if out_dir.exists():
            shutil.rmtree(previous, ignore_errors=True)
            os.rename(out_dir, previous)
        os.rename(partial, out_dir)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(previous, ignore_errors=True)
    return {name: out_dir / name for name in names}


def _write(loaded: LoadedModel, out_dir: Path) -> list[str]:
    """The export's files in ``out_dir``; returns their names."""
    module = ExportedInfoGAN(loaded.model)
    generate = module.generate.get_concrete_function()
    signatures = {"generate": generate, "serving_default": generate, "encode": module.encode.get_concrete_function()}
    tf.saved_model.save(module, str(out_dir / "saved_model"), signatures=signatures)
    written = ["saved_model", "model.json"]
    for name, network in loaded.model.keras_models.items():
        stock_copy(network).save(out_dir / f"{name}.keras")
        written.append(f"{name}.keras")
    (out_dir / "model.json").write_text(
        json.dumps(
            {
                **loaded.model.config.to_json(),
                "checkpoint": loaded.checkpoint_path,
                "step": loaded.step,
                "generator_average_updates": loaded.average_updates,
            }
        )
        + "\n"
    )
    return written
