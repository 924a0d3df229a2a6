"""Where the default update's time goes, op type by op type, from TensorFlow's profiler.

    python benchmarks/profile_step.py                 # this CPU as it is
    python benchmarks/profile_step.py --isa=avx2      # oneDNN and MKL capped at AVX2 (restarts itself)
    python benchmarks/profile_step.py --serial --peer --peer_python=/path/to/venv-with-torch/bin/python
    python benchmarks/profile_step.py --smoke         # seconds; what CI runs

Traces ``--updates`` compiled updates (batch ``--batch``, ``--precision``, synthetic batch) after
warm-up and sums each TensorFlow op type's time on the host threads. By default two
threads run ops side by side, so the per-op times add up to more than the wall time and
only the shares compare; ``--serial`` runs one op at a time (each on every core), so the
times add up to the wall time and compare with another program's. ``--peer`` then
profiles ../shared/bench's PyTorch step the same way (``torch.profiler``, self time per
aten op, the same cap).

Each side's time is also summed by family: matmuls, convolutions (both oneDNN's kernels on
either side) and everything else (with ``--serial``, the wall time the two leave). With
``--serial --peer`` the last line says how our matmuls and convolutions alone compare with
the peer's whole step: the most that speeding up everything else could give, so what a
speed goal against the peer asks of the kernels themselves.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
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
from train_step import (  # noqa: E402
    ISA_LIMITS,
    PEER_PRECISION,
    PEER_SCRIPT,
    PeerError,
    isa_line,
    peer_python_problem,
    start_peer,
)

from infogan_tf.networks import PRECISIONS  # noqa: E402

PEER_PROFILE = """
import sys, time, torch
sys.path.insert(0, sys.argv[1])
import peer_torch_step as p
from torch.profiler import profile, ProfilerActivity
batch, updates = (int(a) for a in sys.argv[2:4])
torch.set_num_threads(int(sys.argv[4])); torch.manual_seed(0)
dtype = getattr(torch, sys.argv[5])
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
for e in sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total):
    print(f"{e.key:38s} {e.self_cpu_time_total / 1000 / updates:10.2f}")
"""
"""The peer's step (as ../shared/bench/peer_torch_step.py runs it) under torch.profiler: self time of every op."""

PEER_WALL = re.compile(r"^peer: ([\d.]+) ms/step wall", re.M)
PEER_OP = re.compile(r"^(\S.*?)\s+(-?[\d.]+)$", re.M)

XLA_RUN = "CpuExecutable::ExecuteAsyncOnStream"
"""The trace's event for one run of an XLA-compiled cluster."""

FAMILIES = ("matmuls", "convolutions")
OTHERS = "everything else"


def family(op: str) -> str:
    """The family of a TensorFlow op type or a PyTorch op: one of ``FAMILIES``, else ``OTHERS``.

    PyTorch's autograd and optimiser events (``autograd::...: ConvolutionBackward0``) are its
    own bookkeeping around the kernels, not kernels, so they count as everything else.
    """
    if "::" in op and not op.startswith("aten::"):  # XLA_RUN, whose clusters here hold no matmul
        return OTHERS
    name = op.removeprefix("aten::").lower()
    if "conv" in name:
        return "convolutions"
    if "matmul" in name or name in ("mm", "addmm", "bmm", "baddbmm"):
        return "matmuls"
    return OTHERS


def by_family(ms_per_op: dict[str, float], wall_ms: float | None) -> dict[str, float]:
    """ms per family. Everything else is the wall time the two families leave where ops ran
    one at a time (``wall_ms`` given), else the other ops' summed time."""
    sums = {f: sum(ms for op, ms in ms_per_op.items() if family(op) == f) for f in (*FAMILIES, OTHERS)}
    if wall_ms is not None:
        sums[OTHERS] = wall_ms - sums["matmuls"] - sums["convolutions"]
    return sums


def op_times(trace_dir: Path) -> collections.Counter:
    """Total seconds per op type in the newest trace under ``trace_dir``.

    Kernel events are named ``node_name:OpType``; the executor's own events
    (``ExecutorState::Process``, ``EagerLocalExecute: ...``) span many kernels and are left out.
    A cluster compiled by XLA (mixed_bfloat16's Adam of the copied kernels) runs as an
    asynchronous op that leaves no kernel event; its executable's runs count as ``XLA_RUN``.
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
                elif name == XLA_RUN:
                    totals[XLA_RUN] += event.duration_ps / 1e12
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
    if args.peer and (problem := peer_python_problem(args.peer_python)):
        p.error(problem)
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
    ours = by_family(
        {op: 1000 * seconds / args.updates for op, seconds in totals.items()}, wall_ms if args.serial else None
    )
    note = "" if args.serial else " (summed over threads that overlap; --serial compares them with the wall time)"
    print(family_line("ours", ours) + note)
    if args.peer:
        try:
            peer_wall, peer_ms = run_peer(args)
        except PeerError as error:
            sys.exit(f"error: {error}")
        print(f"peer: {peer_wall:.1f} ms/step wall (profiler on)")
        for op, ms in sorted(peer_ms.items(), key=lambda item: -item[1])[: args.top]:
            print(f"{op:38s} {ms:10.2f}")
        print(family_line("peer", by_family(peer_ms, peer_wall)))  # PyTorch runs one op at a time
        if args.serial:
            kernels = sum(ours[f] for f in FAMILIES)
            print(
                f"ours / peer: whole step {peer_wall / wall_ms:.2f}x; ours' matmuls and convolutions alone "
                f"({kernels:.1f} ms) {peer_wall / kernels:.2f}x the peer's whole step"
            )


def family_line(side: str, families: dict[str, float]) -> str:
    return f"{side}, ms/update by family: " + ", ".join(f"{name} {ms:.1f}" for name, ms in families.items())


def run_peer(args: argparse.Namespace) -> tuple[float, dict[str, float]]:
    """The peer's wall ms/step and its self ms/step per op, under the same profiler settings."""
    argv = [str(PEER_SCRIPT.parent), str(args.batch), str(args.updates), str(args.threads)]
    argv.append(PEER_PRECISION[args.precision])
    process = start_peer(
        args.peer_python, ["-c", PEER_PROFILE, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    stdout, stderr = process.communicate()
    wall = PEER_WALL.search(stdout)
    if process.returncode != 0 or not wall:
        what = f"exited with status {process.returncode}" if process.returncode else "printed no timing"
        raise PeerError(f"the peer's profile ({args.peer_python}) {what}:\n" + (stdout + stderr)[-2000:])
    ops = {name: float(ms) for name, ms in PEER_OP.findall(stdout[wall.end() :])}
    return float(wall.group(1)), ops


if __name__ == "__main__":
    main()
