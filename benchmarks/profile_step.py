"""Where the default update's time goes, op type by op type, from TensorFlow's profiler.

    python benchmarks/profile_step.py                 # this CPU as it is
    python benchmarks/profile_step.py --isa=avx2      # oneDNN and MKL capped at AVX2 (restarts itself)
    python benchmarks/profile_step.py --smoke         # seconds; what CI runs

Traces ``--updates`` compiled updates (batch ``--batch``, float32, synthetic batch) after
warm-up and sums each TensorFlow op type's time on the host threads. Two threads run ops
side by side, so the per-op times add up to more than the wall time; the shares tell
which kernels to look at.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from infogan_tf.process import prefer_onednn

prefer_onednn()  # before TensorFlow loads

import tensorflow as tf  # noqa: E402
from common import make_trainer, random_batch  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402
from train_step import ISA_LIMITS, isa_line  # noqa: E402


def op_times(trace_dir: Path) -> collections.Counter:
    """Total seconds per op type in the newest trace under ``trace_dir``.

    Kernel events are named ``node_name:OpType``; the executor's own events
    (``ExecutorState::Process``, ``EagerLocalExecute: ...``) span many kernels and are left out.
    """
    path = sorted(trace_dir.rglob("*.xplane.pb"), key=lambda p: p.stat().st_mtime)[-1]
    space = xplane_pb2.XSpace()
    space.ParseFromString(path.read_bytes())
    totals: collections.Counter = collections.Counter()
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                name = names.get(event.metadata_id, "")
                if ":" in name and "::" not in name and ": " not in name:
                    totals[name.rsplit(":", 1)[1]] += event.duration_ps / 1e12
    return totals


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--updates", type=int, default=8)
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--isa", default="native", choices=sorted(ISA_LIMITS))
    p.add_argument("--smoke", action="store_true", help="batch 8, 2 updates")
    args = p.parse_args(argv)
    if args.smoke:
        args.batch, args.updates = 8, 2
    limits = ISA_LIMITS[args.isa]
    if any(os.environ.get(k) != v for k, v in limits.items()):  # the libraries read the cap when they load
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **limits})
    print(isa_line(args.isa))
    trainer = make_trainer(args.batch)
    batch = random_batch(args.batch)
    for _ in range(3):
        trainer.update(batch)
    trainer.step.numpy()
    trace_dir = Path(tempfile.mkdtemp(prefix="infogan_profile_"))  # a trace is tens of MB: removed at the end
    tf.profiler.experimental.start(
        str(trace_dir), options=tf.profiler.experimental.ProfilerOptions(host_tracer_level=2)
    )
    start = time.perf_counter()
    for _ in range(args.updates):
        trainer.update(batch)
    trainer.step.numpy()
    wall_ms = 1000 * (time.perf_counter() - start) / args.updates
    tf.profiler.experimental.stop()
    totals = op_times(trace_dir)
    shutil.rmtree(trace_dir)
    total = sum(totals.values())
    print(f"batch {args.batch}, {args.updates} updates traced: {wall_ms:.1f} ms/update wall (profiler on)")
    print(f"{'op type':38s} {'ms/update':>10s} {'share':>7s}")
    for op, seconds in totals.most_common(args.top):
        print(f"{op:38s} {1000 * seconds / args.updates:10.2f} {100 * seconds / total:6.1f}%")


if __name__ == "__main__":
    main()
