"""GFLOP/s of the update's large matmuls, shape by shape, in TensorFlow and in the PyTorch peer.

    python benchmarks/matmul_shapes.py                        # this CPU as it is
    python benchmarks/matmul_shapes.py --isa=avx2             # both capped at AVX2 (restarts itself)
    python benchmarks/matmul_shapes.py --peer_python=/path/to/venv-with-torch/bin/python
    python benchmarks/matmul_shapes.py --smoke                # seconds; what CI runs

The dense layers 1024 <-> 6272 of G and D make most of the update's matmul FLOPs, as
forward products and as the two gradients (transposed operands). A matmul ceiling measured
on square matrices hides that one library may be slow on one of these shapes: this prints
each shape's rate for TensorFlow's kernels (oneDNN where ``process.prefer_onednn`` turns it
on) and, with ``--peer_python``, for torch's (MKL), under the same cap.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from infogan_tf.process import prefer_onednn

prefer_onednn()  # before TensorFlow loads

import tensorflow as tf  # noqa: E402
from common import at_least, summary  # noqa: E402
from train_step import ISA_LIMITS, isa_line  # noqa: E402

SHAPES = [
    (256, 6272, 1024, False, False),
    (128, 6272, 1024, False, False),
    (128, 1024, 6272, False, False),
    (256, 1024, 6272, False, True),
    (6272, 256, 1024, True, False),
    (1024, 128, 6272, True, False),
]
"""(m, k, n, transpose_a, transpose_b): D's forward on 256 and 128 rows, G's forward, D's input and weight
gradients, G's weight gradient."""

PEER_TIMING = """
import sys, time, statistics, torch
torch.set_num_threads(int(sys.argv[1])); reps = int(sys.argv[2])
for shape in sys.argv[3:]:
    m, k, n, ta, tb = (int(v) for v in shape.split(","))
    a = torch.randn(k, m).t() if ta else torch.randn(m, k)
    b = torch.randn(n, k).t() if tb else torch.randn(k, n)
    torch.mm(a, b)
    times = []
    for _ in range(reps):
        start = time.perf_counter(); torch.mm(a, b); times.append(time.perf_counter() - start)
    print(1000 * statistics.median(times))
"""


def time_tf(m: int, k: int, n: int, transpose_a: bool, transpose_b: bool, reps: int) -> float:
    """Median ms of one TF matmul of that shape, in a compiled function."""
    a = tf.random.normal([k, m] if transpose_a else [m, k])
    b = tf.random.normal([n, k] if transpose_b else [k, n])
    product = tf.function(lambda a, b: tf.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b))
    product(a, b).numpy()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        product(a, b).numpy()
        times.append(time.perf_counter() - start)
    return 1000 * summary(times)["median"]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=at_least(1), default=20)
    p.add_argument("--isa", default="native", choices=sorted(ISA_LIMITS))
    p.add_argument("--peer_python", default=None, help="a Python with torch, to time the same shapes in torch")
    p.add_argument("--threads", type=at_least(1), default=2, help="threads the peer is told to use")
    p.add_argument("--smoke", action="store_true", help="two repetitions")
    args = p.parse_args(argv)
    if args.smoke:
        args.reps = 2
    limits = ISA_LIMITS[args.isa]
    if any(os.environ.get(k) != v for k, v in limits.items()):  # the libraries read the cap when they load
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **limits})
    print(isa_line(args.isa))
    tf.get_logger().setLevel("ERROR")  # one compiled function per shape is the point, not a retracing accident
    peer = [None] * len(SHAPES)
    if args.peer_python:
        shapes = [",".join(str(int(v)) for v in shape) for shape in SHAPES]
        out = subprocess.run(
            [args.peer_python, "-c", PEER_TIMING, str(args.threads), str(args.reps), *shapes],
            capture_output=True,
            text=True,
            check=True,
        )
        peer = [float(line) for line in out.stdout.split()]
    print(f"{'m x k x n':>18} {'transposed':>10} {'TF ms':>8} {'GFLOP/s':>8} {'peer ms':>8} {'GFLOP/s':>8}")
    for (m, k, n, ta, tb), peer_ms in zip(SHAPES, peer):
        ms = time_tf(m, k, n, ta, tb, args.reps)
        gflop = 2 * m * k * n / 1e9
        transposed = "a" if ta else "b" if tb else "-"
        peer_cols = f" {peer_ms:8.2f} {gflop / peer_ms * 1e3:8.1f}" if peer_ms else ""
        print(f"{f'{m}x{k}x{n}':>18} {transposed:>10} {ms:8.2f} {gflop / ms * 1e3:8.1f}{peer_cols}")


if __name__ == "__main__":
    main()
