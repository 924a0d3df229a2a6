"""The mixed_bfloat16 update with ``weight_copies`` against Keras's cast at every read, in one process.

Two trainers of the default MNIST update at one batch size, one built with copies and one
without, run alternating blocks of updates, so that a host whose speed drifts slows both
alike; each block's wall and CPU time are printed, then the medians of the per-block
ratios. Then Adam alone on bfloat16 gradients of the same variables: compiled with the
cast (what copies use) against a ``Cast`` and ``ResourceApplyAdam`` (what Keras's
gradients take). Figures in docs/speed.md.
"""

from __future__ import annotations

import argparse
import statistics
import time

from infogan_tf.process import prefer_onednn

prefer_onednn()  # before TensorFlow loads

import tensorflow as tf  # noqa: E402
from common import at_least, make_trainer, random_batch  # noqa: E402

from infogan_tf import optimizers, weight_copies  # noqa: E402
from infogan_tf.trainer import InfoGANTrainer  # noqa: E402
from infogan_tf.weight_copies import COPIED_DTYPE  # noqa: E402


def trainer_without_copies(batch: int) -> InfoGANTrainer:
    """The same trainer, every kernel cast by Keras where it is read."""
    copyable = weight_copies.copyable
    weight_copies.copyable = lambda models: []
    try:
        return make_trainer(batch, precision="mixed_bfloat16")
    finally:
        weight_copies.copyable = copyable


def block(trainer: InfoGANTrainer, batch: tf.Tensor, updates: int) -> tuple[float, float]:
    """Wall and CPU milliseconds per update over ``updates`` updates."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(updates):
        trainer.update(batch)
    trainer.step.numpy()
    return 1000 * (time.perf_counter() - wall) / updates, 1000 * (time.process_time() - cpu) / updates


def adam_alone(trainer: InfoGANTrainer, repeats: int) -> dict[str, float]:
    """ms for one Adam update of every weight from bfloat16 gradients, each way (the variables are scratch copies)."""
    weights = [tf.Variable(v.value) for v in trainer.model.generator_variables + trainer.model.discriminator_variables]
    gradients = [tf.cast(tf.random.normal(w.shape, stddev=1e-3), COPIED_DTYPE) for w in weights]
    optimizer = optimizers.original_adam(1e-3)
    optimizer.build(weights)

    @tf.function
    def compiled():
        optimizer.apply_gradients(zip(gradients, weights))

    @tf.function
    def cast_first():
        optimizer.apply_gradients((tf.cast(g, tf.float32), w) for g, w in zip(gradients, weights))

    times: dict[str, list[float]] = {"compiled with the cast": [], "Cast, then ResourceApplyAdam": []}
    for _ in range(2):
        compiled(), cast_first()
    for _ in range(repeats):
        for name, update in zip(times, (compiled, cast_first)):
            start = time.perf_counter()
            for _ in range(5):
                update()
            weights[0].numpy()
            times[name].append(1000 * (time.perf_counter() - start) / 5)
    return {name: statistics.median(ms) for name, ms in times.items()}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=at_least(1), default=128)
    p.add_argument("--rounds", type=at_least(1), default=12, help="blocks per trainer")
    p.add_argument("--updates", type=at_least(1), default=8, help="updates per block")
    p.add_argument("--smoke", action="store_true", help="batch 8, 2 rounds of 1 update")
    args = p.parse_args(argv)
    if args.smoke:
        args.batch, args.rounds, args.updates = 8, 2, 1
    with_copies = make_trainer(args.batch, precision="mixed_bfloat16")
    without = trainer_without_copies(args.batch)
    print(f"batch {args.batch}, mixed_bfloat16: {len(with_copies.train_step.copied)} kernels copied")
    batch = random_batch(args.batch)
    for trainer in (with_copies, without):
        block(trainer, batch, 3)
    wall_ratios, cpu_ratios = [], []
    for r in range(args.rounds):
        order = (with_copies, without) if r % 2 == 0 else (without, with_copies)
        times = {id(t): block(t, batch, args.updates) for t in order}
        (wall, cpu), (wall_without, cpu_without) = times[id(with_copies)], times[id(without)]
        wall_ratios.append(wall / wall_without)
        cpu_ratios.append(cpu / cpu_without)
        print(
            f"block {r}: with copies {wall:.1f} ms/update ({cpu:.1f} CPU), "
            f"without {wall_without:.1f} ({cpu_without:.1f} CPU), ratio {wall_ratios[-1]:.3f}"
        )
    print(
        f"with copies / without, median of {args.rounds} blocks: wall {statistics.median(wall_ratios):.3f}, "
        f"CPU {statistics.median(cpu_ratios):.3f}"
    )
    adam = adam_alone(with_copies, 3 if args.smoke else 7)
    print("Adam of every weight from bfloat16 gradients: " + ", ".join(f"{k} {v:.2f} ms" for k, v in adam.items()))


if __name__ == "__main__":
    main()
