"""Two mirrored bfloat16 runs over 2 logical CPUs, with and without ``weight_copies``; prints how far apart they end.

Runs in its own process: the host CPU must be split before TensorFlow starts. Prints one
JSON line: the number of kernels copied, and the largest difference of any weight.
"""

import json

from infogan_tf.process import prefer_onednn

prefer_onednn()  # the kernels the launchers run, before TensorFlow loads

import numpy as np  # noqa: E402

from infogan_tf import strategies, weight_copies  # noqa: E402
from infogan_tf.config import TrainConfig  # noqa: E402
from infogan_tf.experiment import build_trainer  # noqa: E402
from infogan_tf.latent_spec import MNIST_LATENT_SPEC  # noqa: E402
from infogan_tf.models import ModelConfig  # noqa: E402

strategies.split_cpu(2)
BATCH = 8


def train(copies: bool) -> tuple[int, np.ndarray]:
    copyable = weight_copies.copyable
    if not copies:
        weight_copies.copyable = lambda models: []
    strategy = strategies.make_strategy("mirrored")
    config = ModelConfig(MNIST_LATENT_SPEC, (28, 28, 1), precision="mixed_bfloat16", layer_kit="fast")
    trainer = build_trainer(config, TrainConfig(batch_size=BATCH), seed=0, strategy=strategy)
    weight_copies.copyable = copyable
    images = np.random.default_rng(0).random((BATCH, 784), dtype=np.float32)
    rows = BATCH // strategy.num_replicas_in_sync
    batch = strategy.experimental_distribute_values_from_function(
        lambda context: images[context.replica_id_in_sync_group * rows : (context.replica_id_in_sync_group + 1) * rows]
    )
    for _ in range(2):
        trainer.update(batch)
    weights = [w.value for m in trainer.model.keras_models.values() for w in m.weights]
    return len(trainer.train_step.copied), np.concatenate([w.numpy().ravel() for w in weights])


(copied, with_copies), (_, without) = train(True), train(False)
print(json.dumps({"copied": copied, "max_difference": float(np.abs(with_copies - without).max())}))
