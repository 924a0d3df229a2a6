"""Where the default update's time goes, op type by op type, from TensorFlow's profiler.

    python benchmarks/profile_step.py                 # this CPU as it is
    python benchmarks/profile_step.py --isa=avx2      # oneDNN and MKL capped at AVX2 (restarts itself)
    python benchmarks/profile_step.py --serial --peer --peer_python=/path/to/venv-with-torch/bin/python
    python benchmarks/profile_step.py --smoke         # seconds; what CI runs

Traces ``--updates`` compiled updates (batch ``--batch``, float32, synthetic batch) after
warm-up and sums each TensorFlow op type's time on the host threads. By default two
threads run ops side by side, so the per-op times add up to more than the wall time and
only the shares compare; ``--serial`` runs one op at a time (each on every core), so the
times add up to the wall time and compare with another program's. ``--peer`` then
profiles ../shared/bench's PyTorch step the same way (``torch.profiler``, self time per
aten op, the same cap).
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from infogan_tf.process import prefer_onednn

prefer_onednn()  # before TensorFlow loads

import tensorflow as tf  # noqa: E402
from common import at_least, make_trainer, random_batch  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402
from train_step import ISA_LIMITS, PEER_PRECISION, PEER_SCRIPT, isa_line  # noqa: E402

from infogan_tf.networks import PRECISIONS  # noqa: E402

PEER_PROFILE = """
import sys, time, torch
sys.path.insert(0, sys.argv[1])
import peer_torch_step as p
from torch.profiler import profile, ProfilerActivity
batch, updates, top = (int(a) for a in sys.argv[2:5])
torch.set_num_threads(int(sys.argv[5])); torch.manual_seed(0)
dtype = getattr(torch, sys.argv[6])
cast = lambda: torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32)
G, D = p.Generator(), p.Discriminator()
opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=True)
opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999), fused=True)
x = torch.rand(batch, 1, 28, 28)
def step():
    opt_d.zero_grad(set_to_none=True)
    with cast():
        loss = p.d_loss_fn(G, D, x, batch)
    loss.backward(); opt_d.step()
    opt_g.zero_grad(set_to_none=True); D.requires_grad_(False)
    with cast():
        loss = p.g_loss_fn(G, D, batch)
    loss.backward(); D.requires_grad_(True); opt_g.step()
for _ in range(3):
    step()
with profile(activities=[ProfilerActivity.CPU]) as prof:
    start = time.perf_counter()
    for _ in range(updates):
        step()
    wall = 1000 * (time.perf_counter() - start) / updates
print(f"peer: {wall:.1f} ms/step wall (profiler on)")
events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:top]
for e in events:
    print(f"{e.key:38s} {e.self_cpu_time_total / 1000 / updates:10.2f}")
"""
"""The peer's step (as ../shared/bench/peer_torch_step.py runs it) under torch.profiler: self time per aten op."""


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
    p.add_argument("--batch", type=at_least(1), default=128)
    p.add_argument("--updates", type=at_least(1), default=8)
    p.add_argument("--top", type=at_least(1), default=15)
    p.add_argument("--isa", default="native", choices=sorted(ISA_LIMITS))
    p.add_argument("--precision", default="float32", choices=PRECISIONS, help="ours; the peer runs its autocast match")
    p.add_argument("--serial", action="store_true", help="one op at a time, so the times add up to the wall time")
    p.add_argument("--peer", action="store_true", help="then profile the PyTorch peer's step the same way")
    p.add_argument("--peer_python", default=sys.executable, help="a Python with torch 2.13.0 for the peer")
    p.add_argument("--threads", type=at_least(1), default=2, help="threads the peer is told to use")
    p.add_argument("--smoke", action="store_true", help="batch 8, 2 updates")
    args = p.parse_args(argv)
    if args.smoke:
        args.batch, args.updates = 8, 2
    limits = ISA_LIMITS[args.isa]
    if any(os.environ.get(k) != v for k, v in limits.items()):  # the libraries read the cap when they load
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **limits})
    print(isa_line(args.isa) + f"; {args.precision}" + ("; one op at a time" if args.serial else ""))
    if args.serial:
        tf.config.threading.set_inter_op_parallelism_threads(1)
    trainer = make_trainer(args.batch, precision=args.precision)
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
    if args.peer:
        peer = [str(PEER_SCRIPT.parent), str(args.batch), str(args.updates), str(args.top), str(args.threads)]
        peer.append(PEER_PRECISION[args.precision])
        out = subprocess.run(
            [args.peer_python, "-c", PEER_PROFILE, *peer], capture_output=True, text=True, check=True, env=os.environ
        )
        print(out.stdout, end="")


if __name__ == "__main__":
    main()
