"""Transposed convolutions: TensorFlow's op against ``fast_layers.transposed_conv_by_phases``.

    python benchmarks/phase_conv.py            # batch 128, about a minute
    python benchmarks/phase_conv.py --smoke    # seconds; what CI runs

Prints the median ms of each (best of two rounds) for the shapes that decide where
``fast_layers`` uses phases: MNIST's last G layer (14x14x64 -> 28x28x1) with 1 to 8
output channels, G's first transposed convolution (64 channels), and stride 1.
"""

from __future__ import annotations

import argparse
import statistics
import time

from infogan_tf.process import prefer_onednn

prefer_onednn()  # before TensorFlow loads

import tensorflow as tf  # noqa: E402
from common import at_least  # noqa: E402

from infogan_tf.fast_layers import transposed_conv_by_phases  # noqa: E402

# (input height/width, input channels, output channels, stride); kernel 4 for stride 2, 3 for stride 1
SHAPES = [(14, 64, 1, 2), (14, 64, 3, 2), (14, 64, 4, 2), (14, 64, 8, 2), (7, 128, 64, 2), (28, 64, 1, 1)]


def median_ms(fn, args, reps: int) -> float:
    for _ in range(3):
        fn(*args).numpy()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn(*args).numpy()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=at_least(1), default=128)
    p.add_argument("--reps", type=at_least(1), default=30)
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    batch, reps, shapes = (2, 2, SHAPES[:2]) if args.smoke else (args.batch, args.reps, SHAPES)
    print(f"batch {batch}: median ms, best of two rounds")
    for size, c_in, c_out, stride in shapes:
        k = 4 if stride == 2 else 3
        x = tf.random.normal([batch, size, size, c_in])
        kernel = tf.random.normal([k, k, c_out, c_in])
        out = size * stride
        ours = tf.function(lambda x, w, s=stride, o=out: transposed_conv_by_phases(x, w, s, (o, o)))
        theirs = tf.function(
            lambda x, w, s=stride, o=out, c=c_out: tf.nn.conv2d_transpose(x, w, [batch, o, o, c], s, "SAME")
        )
        tf_ms = min(median_ms(theirs, (x, kernel), reps) for _ in range(2))
        phase_ms = min(median_ms(ours, (x, kernel), reps) for _ in range(2))
        print(
            f"{size}x{size}x{c_in} -> {out}x{out}x{c_out}, stride {stride}: "
            f"conv2d_transpose {tf_ms:.2f} ms, phases {phase_ms:.2f} ms ({tf_ms / phase_ms:.2f}x)",
            flush=True,
        )


if __name__ == "__main__":
    main()
