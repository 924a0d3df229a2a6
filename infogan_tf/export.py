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

import json
from pathlib import Path

import keras
import tensorflow as tf
from keras import layers

from infogan_tf.checkpoints import LoadedModel
from infogan_tf.models import RegularizedGAN

_STOCK = (layers.Conv2DTranspose, layers.Conv2D, layers.BatchNormalization, layers.LeakyReLU)


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


def export(loaded: LoadedModel, out_dir: str | Path) -> dict[str, Path]:
    """Write ``saved_model/``, ``<network>.keras`` for G, D's body and head and Q's head (and the over-clustering
    head where the model has one), and ``model.json``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    module = ExportedInfoGAN(loaded.model)
    generate = module.generate.get_concrete_function()
    signatures = {"generate": generate, "serving_default": generate, "encode": module.encode.get_concrete_function()}
    tf.saved_model.save(module, str(out_dir / "saved_model"), signatures=signatures)
    written = {"saved_model": out_dir / "saved_model", "model.json": out_dir / "model.json"}
    for name, network in loaded.model.keras_models.items():
        path = out_dir / f"{name}.keras"
        stock_copy(network).save(path)
        written[path.name] = path
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
