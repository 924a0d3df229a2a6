"""A few updates on one device, then mirrored over 2 logical CPUs; writes both runs' checks and weights to an .npz.

Runs in its own process: the host CPU must be split before TensorFlow starts. The first
argument is the .npz to write (keys ``<case>|<one|mirrored>|<checks|weights|replicas|copies_spread>``);
each further one is a case, ``<optimizer: adam|sgd>,<sync_batch_norm: 0|1>,<reuse_fake_batch: 0|1>,<updates>``.

"adam" is the training setup of ``experiment.build_trainer``. "sgd" puts plain SGD in
the same step: Adam's first updates are nearly independent of the gradient's scale, so
they would hide a wrongly scaled gradient, which SGD passes straight into the weights.
"""

import sys

from infogan_tf.process import prefer_onednn

prefer_onednn()  # the kernels the launchers run, before TensorFlow loads

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from infogan_tf import strategies  # noqa: E402
from infogan_tf.config import TrainConfig  # noqa: E402
from infogan_tf.data import ImageDataset  # noqa: E402
from infogan_tf.experiment import build_trainer  # noqa: E402
from infogan_tf.latent_spec import MNIST_LATENT_SPEC  # noqa: E402
from infogan_tf.models import ModelConfig  # noqa: E402
from infogan_tf.speed.reused_batch import step_class  # noqa: E402
from infogan_tf.step import Optimizers  # noqa: E402
from infogan_tf.trainer import InfoGANTrainer  # noqa: E402

strategies.split_cpu(2)
BATCH = 8


class Images(ImageDataset):
    name = "random"
    image_shape = (28, 28, 1)

    def __init__(self):
        super().__init__(train=(np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8), None))


def sgd_trainer(config: ModelConfig, strategy: tf.distribute.Strategy, reuse: bool) -> InfoGANTrainer:
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = config.build()
        optimizers = Optimizers(keras.optimizers.SGD(0.01), keras.optimizers.SGD(0.01))
        train = TrainConfig(batch_size=BATCH, reuse_fake_batch=reuse)
        step = step_class(train)(model, optimizers, tf.random.Generator.from_seed(0), train, strategy)
        return InfoGANTrainer(step, None)


def train(strategy: tf.distribute.Strategy, optimizer: str, sync: bool, reuse: bool, updates: int) -> dict:
    dataset = Images()
    stream = dataset.train.batches(BATCH, seed=0)
    if strategies.is_distributed(strategy):
        stream = strategies.distribute_batches(strategy, lambda: dataset.train.batches(BATCH, seed=0), BATCH)
    config = ModelConfig.for_dataset(dataset, MNIST_LATENT_SPEC, sync_batch_norm=sync, layer_kit="fast")
    if optimizer == "sgd":
        trainer = sgd_trainer(config, strategy, reuse)
    else:
        trainer = build_trainer(
            config, TrainConfig(batch_size=BATCH, reuse_fake_batch=reuse), seed=0, strategy=strategy
        )
    batches, checks = iter(stream), []
    for _ in range(updates):
        trainer.update(next(batches))
        checks.append(trainer._last_checks.numpy().tolist())
    variables = [w.value for m in trainer.model.keras_models.values() for w in m.weights]
    spread = max(
        float(np.abs(copy.numpy() - v.numpy()).max())
        for v in variables
        for copy in strategy.experimental_local_results(v)
    )
    return {
        "replicas": strategy.num_replicas_in_sync,
        "checks": np.array(checks),
        "weights": np.concatenate([v.numpy().ravel() for v in variables]),
        "copies_spread": spread,
    }


mirrored_strategy = strategies.make_strategy("mirrored")
results = {}
for case in sys.argv[2:]:
    optimizer, sync, reuse, updates = case.split(",")
    settings = (optimizer, bool(int(sync)), bool(int(reuse)), int(updates))
    for side, strategy in (("one", tf.distribute.get_strategy()), ("mirrored", mirrored_strategy)):
        for key, value in train(strategy, *settings).items():
            results[f"{case}|{side}|{key}"] = value
np.savez(sys.argv[1], **results)
