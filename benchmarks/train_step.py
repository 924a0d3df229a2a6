"""Images/s of the project's own train step, against the machine's ceiling and the PyTorch peer.

    python benchmarks/train_step.py                          # the full sweep (about 15 minutes)
    python benchmarks/train_step.py --peer --peer_python=/path/to/venv-with-torch/bin/python
    python benchmarks/train_step.py --smoke                  # seconds; what CI runs
    python benchmarks/train_step.py --strategy=mirrored --cpu_devices=2   # 2 logical CPUs, mirrored
    python benchmarks/train_step.py --device=gpu --peer ...   # on a GPU, the peer with --device cuda
    python benchmarks/train_step.py --invariance_coeff=1      # the step with the invariance term
    python benchmarks/train_step.py --invariance_coeff=1 --invariance_elastic=34   # its copies distorted too

One update is the trainer's real one (a D/Q step on a real and a fake batch, then a G
step on fresh latents; one row per precision with --reuse_fake_batch); images/s counts
the real batch, as the peer does. Reports the median and min/max ms/update over
repetitions after warm-up, FLOP/s (the shared bench's "3x" count, computed from the
model's layers) and its fraction of a TF matmul's GFLOP/s measured in the same run.
With --peer, ours and ../shared/bench/peer_torch_step.py are timed in pairs, one right after
the other (which goes first alternates), and each pair's ratio is printed: both stay warm in
their processes for the whole comparison, so a pair's two timings are seconds apart.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from infogan_tf.process import ONEDNN_VARIABLE, onednn_enabled, prefer_onednn

prefer_onednn()  # before TensorFlow loads

import tensorflow as tf  # noqa: E402
from common import make_trainer, matmul_peak_gflops, random_batch, step_flops, summary, time_updates  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from infogan_tf import strategies  # noqa: E402
from infogan_tf.data import DATA_DIR_ENV, MnistDataset, resolve_data_dir  # noqa: E402
from infogan_tf.invariance.term import Invariance  # noqa: E402
from infogan_tf.networks import PRECISIONS  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ISA_LIMITS = {
    "native": {},
    "avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"},
}
"""Environment that caps the kernels' instruction set; read by the libraries at start-up, so set before TF loads."""


def isa_line(isa: str) -> str:
    """The CPU, the vector extensions it has, and the cap this run puts on the kernels."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    model = re.search(r"model name\s*:\s*(.+)", info)
    flags = set(re.search(r"flags\s*:\s*(.+)", info).group(1).split()) if "flags" in info else set()
    present = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    cap = ", ".join(f"{k}={v}" for k, v in ISA_LIMITS[isa].items()) or "none"
    kernels = "oneDNN" if onednn_enabled() else f"Eigen ({ONEDNN_VARIABLE}=0 or not x86)"
    return (
        f"CPU: {model.group(1) if model else 'unknown'}; has {' '.join(present) or 'none of avx2..amx'}; "
        f"cap: {cap}; TF kernels: {kernels}"
    )


PEER_SCRIPT = REPO.parent / "shared" / "bench" / "peer_torch_step.py"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch_sizes", default="32,64,128,256,512,1024", help="the sweep's batch sizes")
    p.add_argument(
        "--sweep_mode", default="function", choices=["eager", "function", "xla"], help="compile mode of the sweep"
    )
    p.add_argument("--modes", default="eager,function,xla", help="compile modes compared at --mode_batch")
    p.add_argument("--mode_batch", type=int, default=128)
    p.add_argument("--precisions", default="float32,mixed_bfloat16")
    p.add_argument("--steps", type=int, default=10, help="timed updates per repetition")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument(
        "--data_dir", default=None, help="MNIST IDX directory for the real-pipeline rows (or $INFOGAN_DATA_DIR)"
    )
    p.add_argument("--peer", action="store_true", help="alternate with the PyTorch peer at --mode_batch")
    p.add_argument("--peer_pairs", type=int, default=3)
    p.add_argument("--peer_python", default=sys.executable, help="a Python with torch 2.13.0 for the peer")
    p.add_argument("--peer_script", default=str(PEER_SCRIPT))
    p.add_argument("--threads", type=int, default=2, help="threads the peer is told to use")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results"), help="directory for train_step.json and .png")
    p.add_argument(
        "--isa",
        default="native",
        choices=sorted(ISA_LIMITS),
        help="avx2: cap oneDNN/MKL (ours) and ATen (the peer) at AVX2, to measure an AVX2-only CPU on this one",
    )
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "gpu"], help="cpu hides GPUs; gpu requires one")
    p.add_argument("--strategy", default="auto", choices=strategies.STRATEGIES, help="tf.distribute strategy")
    p.add_argument("--cpu_devices", type=int, default=1, help="logical CPU devices (for --strategy=mirrored)")
    p.add_argument("--sync_batch_norm", action="store_true", help="BatchNorm statistics over the global batch")
    p.add_argument("--invariance_coeff", type=float, default=0.0, help="time the step with the invariance term")
    p.add_argument("--invariance_copies", type=int, default=1, help="the invariance term's copies per real image")
    p.add_argument("--invariance_elastic", type=float, default=0.0, help="the copies' elastic distortion (alpha)")
    p.add_argument("--smoke", action="store_true", help="a few tiny updates of every kind, to keep the script alive")
    args = p.parse_args(argv)
    if args.smoke:
        args.batch_sizes, args.modes, args.mode_batch = "8", "eager,function", 8
        args.sweep_mode, args.steps, args.reps, args.warmup = "function", 2, 1, 1
    problem = check_args(args)
    if problem:
        sys.exit(f"error: {problem}")
    return args


MODES = ("eager", "function", "xla")


def check_args(args: argparse.Namespace) -> str | None:
    """What is wrong with the arguments, in one line naming the flag and what it takes; None when nothing is."""
    for precision in args.precisions.split(","):
        if precision not in PRECISIONS:
            hint = f" (did you mean mixed_{precision}?)" if f"mixed_{precision}" in PRECISIONS else ""
            return f"--precisions: unknown precision {precision!r}{hint}; known: {', '.join(PRECISIONS)}"
    for mode in args.modes.split(","):
        if mode not in MODES:
            return f"--modes: unknown mode {mode!r}; known: {', '.join(MODES)}"
    sizes = args.batch_sizes.split(",")
    if not all(s.isascii() and s.isdigit() and int(s) > 0 for s in sizes):
        return f"--batch_sizes={args.batch_sizes}: give positive whole numbers separated by commas"
    for name, least in (("mode_batch", 1), ("steps", 1), ("reps", 1), ("warmup", 0), ("peer_pairs", 1), ("threads", 1)):
        if getattr(args, name) < least:
            return f"--{name}={getattr(args, name)}: at least {least}"
    if args.peer and not Path(args.peer_script).is_file():
        return f"--peer_script={args.peer_script}: no such file; give the path of ../shared/bench/peer_torch_step.py"
    return peer_python_problem(args.peer_python) if args.peer else None


class Setup:
    """One configuration's trainer, built and traced once, timed as often as asked."""

    def __init__(self, batch: int, mode: str, precision: str, args, dataset=None, reuse_fake_batch: bool = False):
        trainer = make_trainer(
            batch,
            precision=precision,
            jit_compile=mode == "xla",
            dataset=dataset,
            reuse_fake_batch=reuse_fake_batch,
            strategy=args.strategy_object,
            sync_batch_norm=args.sync_batch_norm,
            invariance=Invariance(
                args.invariance_coeff, copies=args.invariance_copies, elastic=args.invariance_elastic
            ),
        )
        update = trainer.eager_update if mode == "eager" else trainer.update
        distributed = strategies.is_distributed(args.strategy_object)
        if dataset is not None and distributed:
            stream = lambda: dataset.train.batches(batch)  # noqa: E731
            batches = iter(strategies.distribute_batches(args.strategy_object, stream, batch))
            self.step = lambda: update(next(batches))
        elif dataset is not None:
            batches = iter(dataset.train.batches(batch))
            self.step = lambda: update(next(batches))
        else:
            fixed = random_batch(batch, args.strategy_object)
            self.step = lambda: update(fixed)
        self.sync = lambda: trainer.step.numpy()
        copies = args.invariance_copies if args.invariance_coeff > 0 else 0
        self.flops = step_flops(trainer.model, batch, reuse_fake_batch, invariance_copies=copies)
        self.tags = {
            "batch": batch,
            "mode": mode,
            "precision": precision,
            "pipeline": "real" if dataset is not None else "synthetic",
            "variant": "reuse_fake" if reuse_fake_batch else "default",
            "replicas": args.strategy_object.num_replicas_in_sync,
            "invariance_coeff": args.invariance_coeff,
            "invariance_copies": copies,
            "invariance_elastic": args.invariance_elastic if copies else 0.0,
        }

    def time(self, steps: int, reps: int, warmup: int) -> dict:
        """ms/update over ``reps`` repetitions of ``steps`` updates, images/s and FLOP/s."""
        stats = summary(time_updates(self.step, self.sync, steps, reps, warmup))
        return {
            **self.tags,
            "ms_per_update": stats,
            "images_per_s": 1000 * self.tags["batch"] / stats["median"],
            "gflops_per_s": self.flops / stats["median"] / 1e6,
            "gflop_per_update": self.flops / 1e9,
        }


def measure(batch: int, mode: str, precision: str, args, dataset=None, reuse_fake_batch: bool = False) -> dict:
    """One configuration, on a fresh trainer: ms/update, images/s and FLOP/s; real data when ``dataset`` is given."""
    return Setup(batch, mode, precision, args, dataset, reuse_fake_batch).time(args.steps, args.reps, args.warmup)


PEER_PRECISION = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}
"""The peer's autocast precision that matches each of ours (fp32 master weights and losses on both sides)."""


PEER_DRIVER = """
import os, runpy, sys
script = sys.argv[1]
sys.path.insert(0, os.path.dirname(script))
for line in sys.stdin:
    sys.argv = [script, *line.split()]
    runpy.run_path(script, run_name="__main__")
    print("\\n[peer run done]", flush=True)
"""
"""Runs the peer's own script again in one process for every line of arguments it reads."""

PEER_MEDIAN = re.compile(r"ms/step min/median/max: [\d.]+ / ([\d.]+) / [\d.]+")


class PeerError(RuntimeError):
    """The peer could not be run or timed; the message carries its output."""


def peer_python_problem(python: str) -> str | None:
    """What is wrong with ``--peer_python``, in one line; None when it names an executable."""
    if shutil.which(python) is None:
        return f"--peer_python={python}: not an executable; give a Python that has torch 2.13.0"
    return None


def start_peer(python: str, argv: list[str], **popen) -> subprocess.Popen:
    """``python`` (``--peer_python``) run with ``argv``; a Python that cannot be started is a ``PeerError``.

    The path is made absolute, so that it holds in whatever folder the peer runs, but not
    resolved, so that a venv's python stays in its venv.
    """
    try:
        return subprocess.Popen([os.path.abspath(shutil.which(python) or python), *argv], **popen)
    except OSError as error:
        raise PeerError(f"--peer_python={python} could not be started: {error.strerror}") from None


class Peer:
    """The PyTorch peer in one process kept alive for the whole benchmark, run on request.

    A fresh process per measurement puts tens of seconds of start-up between ours and the
    peer's; on a shared host whose speed drifts over that time, the pair's ratio then
    measures the drift. Kept alive, the peer runs within a second of ours. Each request
    runs the peer's unmodified script (it builds and warms its models, then times them).
    """

    def __init__(self, args, precision: str):
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="33554432", MALLOC_TRIM_THRESHOLD_="4294967296")
        env.update(ISA_LIMITS[args.isa])
        script = str(Path(args.peer_script).resolve())
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (lives as long as the process; close())
        try:
            self.process = start_peer(
                args.peer_python,
                ["-c", PEER_DRIVER, script],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.stderr,
                text=True,
                cwd=Path(script).parent,
                env=env,
            )
        except PeerError:
            self.stderr.close()
            raise
        self.arguments = (
            f"--batch {args.mode_batch} --threads {args.threads} --precision {PEER_PRECISION[precision]} "
            f"--device {'cuda' if args.device_used == 'gpu' else 'cpu'}"
        )

    def run(self, steps: int, reps: int, warmup: int) -> float:
        """The peer's median ms/step over one run of its script."""
        try:
            self.process.stdin.write(f"--steps {steps} --reps {reps} --warmup {warmup} {self.arguments}\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # it has exited; the read below reports why
        lines = []
        for line in self.process.stdout:
            if line.strip() == "[peer run done]":
                break
            lines.append(line)
        else:
            self.stderr.seek(0)
            output = "".join(lines) + self.stderr.read()[-4000:]
            raise PeerError(f"the peer exited with status {self.process.wait()}:\n{output}")
        match = PEER_MEDIAN.search("".join(lines))
        if not match:
            raise PeerError("could not read the peer's timing from:\n" + "".join(lines))
        return float(match.group(1))

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError):  # it may have exited with our last request unread
            self.process.stdin.close()
        self.process.wait()
        self.stderr.close()


def row(r: dict, peak: dict[str, float]) -> str:
    ms = r["ms_per_update"]
    fraction = r["gflops_per_s"] / peak[r["precision"]]
    return (
        f"{r['batch']:>5} {r['mode']:>8} {r['precision']:>14} {r['pipeline']:>9} {r['variant']:>10} "
        f"{ms['median']:>8.1f} {ms['min']:>7.1f} {ms['max']:>7.1f} {r['images_per_s']:>8.0f} "
        f"{r['gflops_per_s']:>7.1f} {100 * fraction:>6.1f}%"
    )


HEADER = (
    "batch     mode      precision  pipeline    variant  ms/upd     min     max  images/s  GFLOP/s  of peak\n"
    + "-" * 99
)


def plot(results: list[dict], peak: dict[str, float], path: Path) -> None:
    fig = Figure(figsize=(6.5, 4.2))
    ax = fig.subplots()
    for precision in sorted({r["precision"] for r in results}):
        sweep = [r for r in results if r.get("sweep") and r["precision"] == precision]
        if sweep:
            ax.plot([r["batch"] for r in sweep], [r["images_per_s"] for r in sweep], "o-", label=precision)
    for r in results:
        if r.get("peer_images_per_s"):
            ax.plot([r["batch"]], [r["peer_images_per_s"]], "kx", markersize=9, label="PyTorch peer (fp32)")
            break
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batch size")
    ax.set_ylabel("images/s (median)")
    ax.set_title(f"InfoGAN-MNIST train step (matmul peak fp32 {peak['float32']:.0f} GFLOP/s)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def sweep(args, precisions: list[str], record) -> None:
    """Ours alone: the compile modes, the reused fake batch, the batch sizes and the real pipeline."""
    for precision in precisions:
        for mode in args.modes.split(","):
            record(measure(args.mode_batch, mode, precision, args), part="modes")
        record(measure(args.mode_batch, args.sweep_mode, precision, args, reuse_fake_batch=True), part="reuse_fake")
    for precision in precisions:
        for batch in map(int, args.batch_sizes.split(",")):
            record(measure(batch, args.sweep_mode, precision, args), part="sweep", sweep=True)
    data_dir = resolve_data_dir(args.data_dir, DATA_DIR_ENV)
    if data_dir:
        dataset = MnistDataset(data_dir)
        for precision in precisions:
            record(measure(args.mode_batch, args.sweep_mode, precision, args, dataset), part="pipeline")


def compare_with_peer(args, peers: dict[str, Peer], peak: dict[str, float], record) -> None:
    """Pairs of ours and the peer, each pair's two timings taken one right after the other."""
    print(f"\nAlternating with the peer at batch {args.mode_batch} ({args.sweep_mode}), like for like:")
    ratios: dict[str, list[float]] = {p: [] for p in peers}
    ours_setups = {p: Setup(args.mode_batch, args.sweep_mode, p, args) for p in peers}
    timing = (args.steps, args.reps, args.warmup)
    for pair in range(args.peer_pairs):
        for precision in peers:
            if pair % 2:  # each side goes first in half the pairs
                peer_ms = peers[precision].run(*timing)
                ours = ours_setups[precision].time(*timing)
            else:
                ours = ours_setups[precision].time(*timing)
                peer_ms = peers[precision].run(*timing)
            ours = record(ours, part="peer", pair=pair)
            ours["peer_precision"] = PEER_PRECISION[precision]
            ours["peer_ms"] = peer_ms
            ours["peer_images_per_s"] = 1000 * args.mode_batch / peer_ms
            ratios[precision].append(ours["images_per_s"] / ours["peer_images_per_s"])
            ceiling = peak[precision]
            ours_share = ours["gflops_per_s"] / ceiling
            peer_share = ours["gflop_per_update"] / (peer_ms / 1000) / ceiling
            print(
                f"  pair {pair} {precision} vs peer {PEER_PRECISION[precision]}: peer {peer_ms:.1f} ms/step, "
                f"ours / peer = {ratios[precision][-1]:.2f}x; share of the {ceiling:.0f} GFLOP/s ceiling: "
                f"ours {ours_share:.0%}, peer {peer_share:.0%}",
                flush=True,
            )
    for precision, values in ratios.items():
        quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
        print(
            f"  {precision}: median of {len(values)} pairs, ours / peer = {statistics.median(values):.2f}x "
            f"(quartiles {quartiles[0]:.2f}x, {quartiles[2]:.2f}x)"
        )


def main(argv=None) -> None:
    args = parse_args(argv)
    limits = ISA_LIMITS[args.isa]
    if any(os.environ.get(k) != v for k, v in limits.items()):  # the libraries read the cap when they load: restart
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **limits})
    print(isa_line(args.isa))
    if args.device == "cpu":
        tf.config.set_visible_devices([], "GPU")
    elif args.device == "gpu" and not tf.config.list_physical_devices("GPU"):
        sys.exit("error: --device=gpu, but TensorFlow sees no GPU here")
    args.device_used = "gpu" if tf.config.list_physical_devices("GPU") and args.device != "cpu" else "cpu"
    strategies.split_cpu(args.cpu_devices)
    args.strategy_object = strategies.make_strategy(args.strategy)
    replicas = args.strategy_object.num_replicas_in_sync
    print(f"device: {args.device_used}; strategy: {args.strategy} ({replicas} replica{'s' * (replicas > 1)})")
    out_dir = Path(tempfile.mkdtemp(prefix="infogan_bench_smoke_") if args.smoke else args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    precisions = args.precisions.split(",")
    if args.isa == "avx2":  # AVX2 has no bfloat16 matmul: oneDNN refuses to build one under the cap
        precisions = [p for p in precisions if p == "float32"]
    dtypes = {"float32": tf.float32, "mixed_bfloat16": tf.bfloat16, "mixed_float16": tf.float16}
    peak = {p: matmul_peak_gflops(d) if p in precisions or p == "float32" else float("nan") for p, d in dtypes.items()}
    print(f"matmul ceiling, same run: fp32 {peak['float32']:.1f} GFLOP/s, bf16 {peak['mixed_bfloat16']:.1f} GFLOP/s")
    if "mixed_float16" in precisions:
        print(f"matmul ceiling, same run: fp16 {peak['mixed_float16']:.1f} GFLOP/s")
    results: list[dict] = []
    print(HEADER)

    def record(r: dict, **tags) -> dict:
        r.update(tags)
        results.append(r)
        print(row(r, peak), flush=True)
        return r

    peers: dict[str, Peer] = {}
    try:
        if args.peer:  # started first, so that a peer that cannot run says so before the sweep, not after
            peers = {p: Peer(args, p) for p in precisions}
            for peer in peers.values():
                peer.run(steps=1, reps=1, warmup=0)
        sweep(args, precisions, record)
        if peers:
            compare_with_peer(args, peers, peak, record)
    except PeerError as error:
        sys.exit(f"error: {error}")
    finally:
        for peer in peers.values():
            peer.close()

    (out_dir / "train_step.json").write_text(json.dumps({"peak_gflops": peak, "results": results}, indent=2) + "\n")
    plot(results, peak, out_dir / "train_step.png")
    print(f"\nWrote {out_dir / 'train_step.json'} and {out_dir / 'train_step.png'}")


if __name__ == "__main__":
    main()
