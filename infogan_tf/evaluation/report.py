"""Evaluate one checkpoint against the paper and write results.json, results.md and figures.

1. Unsupervised classification (paper §5.2, 5% error): Q's argmax of the categorical code
   on the 10,000 test images, under the Hungarian and the majority map.
2. The mutual-information lower bound over training (paper Fig. 1), against the baseline
   GAN's when its run is given.
3. Latent traversals (paper Fig. 2): each code swept, continuous ones over [-2, 2].
4. Sample quality: classifier score and Fréchet distance of 10,000 samples in the
   classifier's feature space (real test images as the reference), and how often the
   classified digit of a sample agrees with the digit its categorical code is matched to.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from infogan_tf.checkpoints import LoadedModel, load  # noqa: E402
from infogan_tf.datasets import MnistDataset  # noqa: E402
from infogan_tf.distributions import Categorical  # noqa: E402
from infogan_tf.evaluation.classifier import DigitClassifier  # noqa: E402
from infogan_tf.evaluation.metrics import classifier_score, clustering_errors, confusion, frechet_distance  # noqa: E402
from infogan_tf.visualize import FactorVisualizer, save_png  # noqa: E402

TRAVERSAL_RANGE = (-2.0, 2.0)


def read_metrics(log_dir: Path | None) -> list[dict[str, Any]]:
    path = Path(log_dir) / "metrics.jsonl" if log_dir else None
    if path is None or not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def categorical_index(loaded: LoadedModel) -> int | None:
    dists = loaded.model.reg_latent_dist.dists
    return next((i for i, d in enumerate(dists) if isinstance(d, Categorical)), None)


def _in_batches(fn, x: np.ndarray, batch: int = 1000) -> np.ndarray:
    return np.concatenate([np.asarray(fn(x[i : i + batch])) for i in range(0, len(x), batch)])


def categorical_predictions(loaded: LoadedModel, images: np.ndarray) -> np.ndarray:
    """Q's most likely category of each image (inference mode)."""
    index = categorical_index(loaded)
    return _in_batches(lambda x: np.argmax(loaded.encode(x)[f"id_{index}_prob"], axis=1), images)


def clustering_report(loaded: LoadedModel, dataset: MnistDataset):
    index = categorical_index(loaded)
    if index is None:
        return None, None
    categories = categorical_predictions(loaded, dataset.test.images)
    counts = confusion(categories, dataset.test.labels, loaded.model.reg_latent_dist.dists[index].dim)
    return clustering_errors(counts), counts


def sample_quality(
    loaded: LoadedModel, dataset: MnistDataset, classifier: DigitClassifier, n: int, seed: int, digit_of
):
    """Classifier score, Fréchet distance and code-digit agreement of ``n`` samples, and the real references."""
    z = loaded.model.latent_dist.sample_prior(n, tf.random.Generator.from_seed(seed))
    images = _in_batches(loaded.generate, np.asarray(z))
    probs, features = classifier.predict(images)
    real_probs, real_features = classifier.predict(dataset.test.images)
    _, train_features = classifier.predict(dataset.train.images[:n])
    out = {
        "classifier_score": classifier_score(probs),
        "classifier_score_real_test": classifier_score(real_probs),
        "frechet_distance": frechet_distance(features, real_features),
        "frechet_distance_real_train": frechet_distance(train_features, real_features),
    }
    index = categorical_index(loaded)
    if index is not None and digit_of:
        reg = loaded.model.reg_latent_dist.split_var(loaded.model.reg_z(z))[index]
        codes = np.argmax(np.asarray(reg), axis=1)
        matched = np.array([digit_of.get(int(c), -1) for c in codes])
        out["code_digit_agreement"] = float(np.mean(matched == np.argmax(probs, axis=1)))
    return out


def plot_confusion(counts: np.ndarray, hungarian_map: dict[int, int], path: Path) -> None:
    order = sorted(range(counts.shape[0]), key=lambda c: hungarian_map.get(c, counts.shape[1]))
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(counts[order], cmap="Blues")
    for i, c in enumerate(order):
        for d in range(counts.shape[1]):
            if counts[c, d]:
                ax.text(d, i, str(counts[c, d]), ha="center", va="center", fontsize=6)
    ax.set_xticks(range(counts.shape[1]))
    ax.set_yticks(range(len(order)), [f"c={c}→{hungarian_map.get(c, '-')}" for c in order], fontsize=7)
    ax.set_xlabel("true digit")
    ax.set_ylabel("category (→ matched digit)")
    ax.set_title("Q's categorical code on the MNIST test set")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_mutual_information(curves: dict[str, list[dict]], entropy: float, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, records in curves.items():
        if records and "MI_disc" in records[0]:
            ax.plot([r["step"] for r in records], [r["MI_disc"] for r in records], label=label)
    ax.axhline(entropy, color="k", linestyle="--", label=f"H(c) = ln {round(math.exp(entropy))}")
    ax.set_xlabel("updates")
    ax.set_ylabel("L_I of the categorical code (epoch mean)")
    ax.set_title("Mutual-information lower bound during training (paper Fig. 1)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_traversals(loaded: LoadedModel, out_dir: Path, prefix: str, seed: int) -> list[str]:
    grids = FactorVisualizer(loaded.model, rows=10, seed=seed, cont_range=TRAVERSAL_RANGE).grids()
    names = []
    for name, grid in grids.items():
        save_png(out_dir / f"{prefix}{name}.png", grid)
        names.append(f"{prefix}{name}.png")
    return names


def evaluate(
    checkpoint: str | Path,
    dataset: MnistDataset,
    classifier: DigitClassifier,
    out_dir: str | Path,
    log_dir: str | Path | None = None,
    baseline_checkpoint: str | Path | None = None,
    baseline_log_dir: str | Path | None = None,
    num_samples: int = 10000,
    seed: int = 0,
) -> dict[str, Any]:
    """Evaluate ``checkpoint``; write results.json, results.md and figures to ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    loaded = load(checkpoint)
    results: dict[str, Any] = {"checkpoint": loaded.checkpoint_path, "step": loaded.step}
    records = read_metrics(log_dir)
    if records:
        results["mi_disc_final"] = records[-1].get("MI_disc")
        if all("epoch_seconds" in r for r in records):
            results["wall_time_s"] = sum(r["epoch_seconds"] for r in records)
            results["train_step_time_s"] = sum(r["update_seconds"] for r in records)
    clustering, counts = clustering_report(loaded, dataset)
    if clustering is not None:
        results.update(
            unsupervised_error_hungarian=clustering.hungarian_error,
            unsupervised_error_majority=clustering.majority_error,
            category_to_digit=clustering.hungarian_map,
            shared_digits=clustering.shared_digits,
            unclaimed_digits=clustering.unclaimed_digits,
        )
        plot_confusion(counts, clustering.hungarian_map, out_dir / "confusion.png")
    results.update(
        sample_quality(loaded, dataset, classifier, num_samples, seed, clustering and clustering.hungarian_map)
    )
    results["classifier_test_accuracy"] = classifier.test_accuracy
    results["figures"] = write_traversals(loaded, out_dir, "traversal_", seed)
    if baseline_checkpoint:
        results["figures"] += write_traversals(load(baseline_checkpoint), out_dir, "baseline_traversal_", seed)
    curves = {"InfoGAN": records, "GAN (baseline)": read_metrics(baseline_log_dir)}
    if any(curves.values()):
        index = categorical_index(loaded)
        k = loaded.model.reg_latent_dist.dists[index].dim if index is not None else 10
        plot_mutual_information(curves, math.log(k), out_dir / "mutual_information.png")
        results["figures"] += ["mutual_information.png"]
        baseline_records = curves["GAN (baseline)"]
        if baseline_records:
            results["baseline_mi_disc_final"] = baseline_records[-1].get("MI_disc")
    if clustering is not None:
        results["figures"] += ["confusion.png"]
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out_dir / "results.md").write_text(results_markdown(results))
    return results


ROWS = [
    ("Test error, categorical code, Hungarian map", "unsupervised_error_hungarian", "5%", "pct"),
    ("Test error, categorical code, majority map", "unsupervised_error_majority", "—", "pct"),
    ("Final MI_disc (L_I of the 10-way code)", "mi_disc_final", "→ ln 10 = 2.30 (Fig. 1)", "num"),
    ("Final MI_disc of the baseline GAN", "baseline_mi_disc_final", "low (Fig. 1)", "num"),
    ("Classifier score (real test set: ref.)", "classifier_score", "—", "num"),
    ("Fréchet distance to the test set", "frechet_distance", "—", "num"),
    ("Code→digit agreement of samples", "code_digit_agreement", "—", "pct"),
    ("Wall time of training (s)", "wall_time_s", "—", "num"),
]


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.2f}%" if kind == "pct" else f"{value:.4g}"


def results_markdown(results: dict[str, Any]) -> str:
    lines = [
        f"# Evaluation of {results['checkpoint']} (update {results['step']})",
        "",
        "| measure | paper | this run |",
        "| --- | --- | --- |",
    ]
    for label, key, paper, kind in ROWS:
        if key in results:
            lines.append(f"| {label} | {paper} | {_fmt(results[key], kind)} |")
    lines += [
        "",
        f"References: classifier score of the real test set {results['classifier_score_real_test']:.4g}; "
        f"Fréchet distance of real training images to the test set {results['frechet_distance_real_train']:.4g}; "
        f"the classifier's test accuracy {100 * results['classifier_test_accuracy']:.2f}%.",
    ]
    if "category_to_digit" in results:
        lines += [
            "",
            f"Category → digit (Hungarian): {results['category_to_digit']}. "
            f"Digits claimed by several categories (majority map): {results['shared_digits'] or 'none'}; "
            f"digits no category claims: {results['unclaimed_digits'] or 'none'}.",
        ]
    lines += ["", "Figures: " + ", ".join(results["figures"]), ""]
    return "\n".join(lines)
