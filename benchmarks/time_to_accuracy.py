"""Wall time and updates until the categorical code first reaches 90% and 95% test accuracy.

    python benchmarks/time_to_accuracy.py --data_dir=../shared/data/mnist            # trains, default settings
    python benchmarks/time_to_accuracy.py --data_dir=... --precision=mixed_bfloat16  # the same in bf16
    python benchmarks/time_to_accuracy.py --data_dir=... --from_run=ckt/mnist/NAME --log_dir=logs/mnist/NAME

Accuracy is 1 - the Hungarian-map error of Q's categorical code on the 10,000 test images
(the paper's 5% error is 95% accuracy). Training mode evaluates every --eval_every updates
and leaves the evaluation out of the wall time; --from_run reads a finished run's kept
checkpoints instead (as coarse as its --snapshot_interval) and its metrics.jsonl timing.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

from infogan_tf.process import prefer_onednn

prefer_onednn()  # before TensorFlow loads

from common import at_least, existing_directory, fractions, make_trainer  # noqa: E402

from infogan_tf.checkpoints import LoadedModel, checkpoint_paths, load  # noqa: E402
from infogan_tf.data import DATA_DIR_ENV, DataError, MnistDataset, resolve_data_dir  # noqa: E402
from infogan_tf.evaluation.metrics import clustering_errors, confusion  # noqa: E402
from infogan_tf.evaluation.report import categorical_index, categorical_predictions, read_metrics  # noqa: E402
from infogan_tf.trainer import Callback, StopTraining  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_dir", default=None, help="MNIST IDX directory (or $INFOGAN_DATA_DIR)")
    p.add_argument("--targets", type=fractions, default="0.90,0.95", help="accuracies to time, each in (0, 1]")
    p.add_argument("--max_updates", type=at_least(1), default=5000)
    p.add_argument("--eval_every", type=at_least(1), default=100)
    p.add_argument("--batch_size", type=at_least(1), default=128)
    p.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16"])
    p.add_argument("--jit_compile", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--from_run", type=existing_directory, default=None, help="a finished run's checkpoint dir: no training"
    )
    p.add_argument("--log_dir", default=None, help="with --from_run: the run's log dir (for its timing)")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    p.add_argument("--smoke", action="store_true", help="a few tiny updates, to keep the script alive")
    args = p.parse_args(argv)
    if args.smoke:
        args.batch_size, args.max_updates, args.eval_every = 8, 4, 2
        args.out = tempfile.mkdtemp(prefix="infogan_tta_smoke_")
    return args


class Accuracy:
    """Q's Hungarian-map accuracy on the test set (or its first ``limit`` images)."""

    def __init__(self, dataset: MnistDataset, limit: int | None = None):
        self.images = dataset.test.images[:limit]
        self.labels = dataset.test.labels[:limit]

    def __call__(self, loaded) -> float:
        categories = categorical_predictions(loaded, self.images)
        num_categories = loaded.model.reg_latent_dist.dists[categorical_index(loaded)].dim
        return 1 - clustering_errors(confusion(categories, self.labels, num_categories)).hungarian_error


def first_reaching(curve: list[dict], targets: list[float]) -> dict[str, dict | None]:
    out = {}
    for target in targets:
        hit = next((point for point in curve if point["accuracy"] >= target), None)
        out[f"{target:.2f}"] = hit and {"updates": hit["updates"], "seconds": hit["seconds"]}
    return out


def train_and_watch(args, dataset: MnistDataset, accuracy: Accuracy, targets: list[float]) -> list[dict]:
    trainer = make_trainer(
        args.batch_size,
        precision=args.precision,
        jit_compile=args.jit_compile,
        dataset=dataset,
        max_epoch=math.ceil(args.max_updates / 100),
        updates_per_epoch=100,
        seed=args.seed,
    )
    curve: list[dict] = []
    clock = {"start": time.perf_counter(), "eval": 0.0}

    class Watch(Callback):
        """Evaluates every --eval_every updates, off the clock; stops at the last target or --max_updates."""

        def on_update_end(self, trainer, step: int) -> None:
            if step % args.eval_every and step < args.max_updates:
                return
            eval_start = time.perf_counter()
            point = {"updates": step, "accuracy": accuracy(LoadedModel(trainer.model, "(training)", step))}
            clock["eval"] += time.perf_counter() - eval_start
            point["seconds"] = time.perf_counter() - clock["start"] - clock["eval"]
            curve.append(point)
            print(f"update {step:5d}  {point['seconds']:7.1f} s  accuracy {100 * point['accuracy']:.2f}%", flush=True)
            if step >= args.max_updates or point["accuracy"] >= max(targets):
                raise StopTraining

    trainer.train([Watch()])
    return curve


def read_run(args, accuracy: Accuracy) -> list[dict]:
    """Accuracy at each kept checkpoint of a finished run; seconds from its metrics.jsonl."""
    _, paths = checkpoint_paths(args.from_run)
    records = read_metrics(Path(args.log_dir)) if args.log_dir else []
    seconds_at, total = {}, 0.0
    for r in records:
        total += r.get("update_seconds", r["ms_per_update"] * 100 / 1000)
        seconds_at[r["step"]] = total
    curve = []
    for path in sorted(paths, key=lambda p: int(p.rsplit("-", 1)[1])):
        loaded = load(path)
        curve.append({"updates": loaded.step, "accuracy": accuracy(loaded), "seconds": seconds_at.get(loaded.step)})
        print(f"update {loaded.step:5d}  accuracy {100 * curve[-1]['accuracy']:.2f}%", flush=True)
    return curve


def main(argv=None) -> None:
    args = parse_args(argv)
    targets = args.targets
    data_dir = resolve_data_dir(args.data_dir, DATA_DIR_ENV)
    try:
        dataset = MnistDataset(data_dir)
    except DataError as e:
        raise SystemExit(f"error: {e.render(lambda path: '--' + path)}") from None
    accuracy = Accuracy(dataset, limit=500 if args.smoke else None)
    curve = read_run(args, accuracy) if args.from_run else train_and_watch(args, dataset, accuracy, targets)
    result = {"settings": vars(args), "curve": curve, "first_reaching": first_reaching(curve, targets)}
    for target, hit in result["first_reaching"].items():
        if hit is None:
            reached = "not reached"
        else:
            reached = f"{hit['updates']} updates" + (f", {hit['seconds']:.0f} s" if hit["seconds"] is not None else "")
        print(f"{100 * float(target):.0f}% accuracy: {reached}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = f"time_to_accuracy_{args.precision}.json" if not args.from_run else "time_to_accuracy_from_run.json"
    (out / name).write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(f"Wrote {out / name}")


if __name__ == "__main__":
    main()
