"""Evaluate one checkpoint on any dataset, against the paper where it has numbers; write results and figures.

1. Unsupervised classification (paper §5.2, MNIST: 5% error), where the dataset has
   labels and the model a categorical code: Q's argmax of the code on the test images,
   under the Hungarian and the majority map.
2. The mutual-information lower bound over training (paper Fig. 1), against the baseline
   GAN's when its run is given.
3. Latent traversals (paper Fig. 2): each code swept, continuous ones over [-2, 2].
   Where the test split carries ground-truth factors (dSprites), the mutual-information
   gap (MIG) of Q's codes on those held-out images.
4. Sample quality, given a classifier of the dataset's labels: classifier score and
   Fréchet distance of generated samples in the classifier's feature space (real test
   images as the reference), and how often the classified label of a sample agrees with
   the label its categorical code is matched to.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

from infogan_tf.checkpoints import LoadedModel, load
from infogan_tf.data.base import ImageDataset
from infogan_tf.distributions import Bernoulli, Categorical
from infogan_tf.evaluation.classifier import SampleClassifier
from infogan_tf.evaluation.measures import EARLY_UPDATES, ROWS, format_value, paper_value
from infogan_tf.evaluation.metrics import (
    classifier_score,
    clustering_errors,
    confusion,
    discretize,
    frechet_distance,
    misplaced,
    mutual_information_gap,
    slant,
    split_labels,
)
from infogan_tf.records import read_records
from infogan_tf.visualize import FactorVisualizer, image_grid, save_png

TRAVERSAL_RANGE = (-2.0, 2.0)


def read_metrics(log_dir: Path | None) -> list[dict[str, Any]]:
    return read_records(Path(log_dir) / "metrics.jsonl") if log_dir else []


def categorical_index(loaded: LoadedModel) -> int | None:
    dists = loaded.model.reg_latent_dist.dists
    return next((i for i, d in enumerate(dists) if isinstance(d, Categorical)), None)


def _in_batches(fn, x: np.ndarray, batch: int = 1000) -> np.ndarray:
    return np.concatenate([np.asarray(fn(x[i : i + batch])) for i in range(0, len(x), batch)])


def categorical_predictions(loaded: LoadedModel, images: np.ndarray) -> np.ndarray:
    """Q's most likely category of each image (inference mode)."""
    index = categorical_index(loaded)
    reg_dist = loaded.model.reg_latent_dist

    def predict(x: np.ndarray) -> np.ndarray:
        posterior = reg_dist.split_dist_info(loaded.encode(x))[index]
        return np.argmax(reg_dist.dists[index].mean(posterior), axis=1)

    return _in_batches(predict, images)


MISPLACED_PER_LABEL = 10
"""Columns of ``misplaced.png``: test images shown per label that the code puts in another label's category."""


def clustering_report(loaded: LoadedModel, dataset: ImageDataset):
    """The first categorical code against the test labels: errors, spread labels, confusion, each image's category.

    Where the code or the test labels are missing, three Nones.
    """
    index = categorical_index(loaded)
    if index is None or not dataset.labelled:
        return None, None, None
    test = dataset.test
    categories = categorical_predictions(loaded, test.images)
    counts = confusion(categories, test.labels, loaded.model.reg_latent_dist.dists[index].dim, dataset.num_classes)
    ink = dataset.to_unit_range(test.images).reshape(-1, *dataset.image_shape).mean(axis=-1)
    splits = split_labels(categories, test.labels, slant(ink))
    return dataclasses.replace(clustering_errors(counts), split_labels=splits), counts, categories


def write_misplaced(dataset: ImageDataset, categories: np.ndarray, hungarian_map: dict[int, int], path: Path) -> None:
    """One row per label: its first test images that the code puts in another label's category (black where fewer).

    What fails, not only how much: on MNIST the residual errors of good seeds are one
    writing style of one digit, which this grid shows at a glance.
    """
    test, shown = dataset.test, MISPLACED_PER_LABEL
    test_images = dataset.to_unit_range(test.images)
    images = np.zeros((dataset.num_classes * shown, dataset.image_dim), np.float32)
    for label, indices in enumerate(misplaced(categories, test.labels, hungarian_map, dataset.num_classes, shown)):
        images[label * shown : label * shown + len(indices)] = test_images[indices]
    save_png(path, image_grid(images, dataset.num_classes, shown, dataset.image_shape))


def discrete_codes(loaded: LoadedModel, images: np.ndarray, bins: int = 20) -> np.ndarray:
    """Q's reading of each image as integers: one column per categorical code, one per dimension of the others.

    A categorical code gives its most likely category, a Bernoulli code p > 1/2, and each
    dimension of a continuous code its posterior mean in one of ``bins`` equal-width bins.
    """
    reg_dist = loaded.model.reg_latent_dist

    def read(x: np.ndarray) -> np.ndarray:
        parts = reg_dist.split_dist_info(loaded.encode(x))
        return np.concatenate([np.asarray(d.mean(p)) for d, p in zip(reg_dist.dists, parts)], axis=1)

    means, columns, start = _in_batches(read, images), [], 0
    for dist in reg_dist.dists:
        block = means[:, start : start + dist.dim]
        start += dist.dim
        if isinstance(dist, Categorical):
            columns.append(np.argmax(block, axis=1)[:, None])
        elif isinstance(dist, Bernoulli):
            columns.append((block > 0.5).astype(np.int64))
        else:
            columns.append(discretize(block, bins))
    return np.concatenate(columns, axis=1)


def disentanglement_report(loaded: LoadedModel, dataset: ImageDataset):
    """MIG of Q's codes against the test split's ground-truth factors, where it has them."""
    test = dataset.test
    if test is None or test.factors is None:
        return None
    return mutual_information_gap(discrete_codes(loaded, test.images), test.factors, list(dataset.factor_names))


def no_classifier(dataset: ImageDataset) -> str:
    """Why there is no classifier to score samples with, whose features the Fréchet distance uses too."""
    if not dataset.labelled:
        return f"{dataset.name} has no labels (or no held-out images) to train the classifier whose features they use"
    return "no classifier was given"


def sample_quality(
    loaded: LoadedModel, dataset: ImageDataset, classifier: SampleClassifier, n: int, seed: int, digit_of
):
    """Classifier score, Fréchet distance and code-digit agreement of ``n`` samples, and the real references."""
    z = loaded.model.latent_dist.sample_prior(n, tf.random.Generator.from_seed(seed))
    images = _in_batches(loaded.generate, np.asarray(z))
    probs, features = classifier.predict(images)
    real_probs, real_features = classifier.predict(dataset.test.images)
    _, train_features = classifier.predict(dataset.train.head(n))
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


def plot_confusion(counts: np.ndarray, hungarian_map: dict[int, int], path: Path, dataset_name: str) -> None:
    order = sorted(range(counts.shape[0]), key=lambda c: hungarian_map.get(c, counts.shape[1]))
    fig = Figure(figsize=(5.5, 5))
    ax = fig.subplots()
    ax.imshow(counts[order], cmap="Blues")
    for i, c in enumerate(order):
        for d in range(counts.shape[1]):
            if counts[c, d]:
                ax.text(d, i, str(counts[c, d]), ha="center", va="center", fontsize=6)
    ax.set_xticks(range(counts.shape[1]))
    ax.set_yticks(range(len(order)), [f"c={c}→{hungarian_map.get(c, '-')}" for c in order], fontsize=7)
    ax.set_xlabel("true label")
    ax.set_ylabel("category (→ matched label)")
    ax.set_title(f"Q's categorical code on the {dataset_name} test set")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot_mutual_information(curves: dict[str, list[dict]], entropy: float | None, path: Path) -> None:
    """L_I of the discrete codes over training where there are any (with their entropy), else L_I in total."""
    key = "MI_disc" if entropy is not None else "MI"
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for label, records in curves.items():
        if records and key in records[0]:
            ax.plot([r["step"] for r in records], [r[key] for r in records], label=label)
    if entropy is not None:
        ax.axhline(entropy, color="k", linestyle="--", label=f"H(c) = ln {round(math.exp(entropy))}")
    ax.set_xlabel("updates")
    ax.set_ylabel("L_I of the categorical code (epoch mean)" if entropy is not None else "L_I (epoch mean)")
    ax.set_title("Mutual-information lower bound during training (paper Fig. 1)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def write_traversals(loaded: LoadedModel, dataset: ImageDataset, out_dir: Path, prefix: str, seed: int) -> list[str]:
    visualizer = FactorVisualizer(loaded.model, rows=10, seed=seed, cont_range=TRAVERSAL_RANGE)
    grids = visualizer.grids(dataset.to_unit_range)
    names = []
    for name, grid in grids.items():
        save_png(out_dir / f"{prefix}{name}.png", grid)
        names.append(f"{prefix}{name}.png")
    return names


class RunFiles(NamedTuple):
    """Where a run keeps its checkpoints and its training log."""

    checkpoint: str | Path
    log_dir: str | Path | None = None


def evaluate(
    checkpoint: str | Path | LoadedModel,
    dataset: ImageDataset,
    classifier: SampleClassifier | None,
    out_dir: str | Path,
    log_dir: str | Path | None = None,
    baseline: RunFiles | None = None,
    num_samples: int = 10000,
    seed: int = 0,
) -> dict[str, Any]:
    """Evaluate ``checkpoint`` (a location, or a model already loaded); write results.json, results.md and figures
    to ``out_dir``.

    Without a ``classifier`` (a dataset without labels) the sample-quality measures are left out.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    loaded = checkpoint if isinstance(checkpoint, LoadedModel) else load(checkpoint)
    results: dict[str, Any] = {"dataset": dataset.name, "checkpoint": loaded.checkpoint_path, "step": loaded.step}
    results["generator_weights"] = "average" if loaded.average_updates else "trained"
    if loaded.average_updates:
        results["generator_average_updates"] = loaded.average_updates
    records = [r for r in read_metrics(log_dir) if r.get("step", 0) <= loaded.step]  # up to this checkpoint
    if records:
        results["mi_disc_final"] = records[-1].get("MI_disc")
        for key, value in records[-1].items():  # every other estimate of mutual information, e.g. an extra term's
            if key.startswith("MI_") and key != "MI_disc":
                results[f"{key.lower()}_final"] = value
        early = [r for r in records if r.get("step", math.inf) <= EARLY_UPDATES and "MI_disc" in r]
        if early:
            results[f"mi_disc_at_{EARLY_UPDATES}"] = early[-1]["MI_disc"]
        if all("epoch_seconds" in r for r in records):
            results["wall_time_s"] = sum(r["epoch_seconds"] for r in records)
            results["train_step_time_s"] = sum(r["update_seconds"] for r in records)
    clustering, counts, categories = clustering_report(loaded, dataset)
    if clustering is not None:
        results.update(
            unsupervised_error_hungarian=clustering.hungarian_error,
            unsupervised_error_majority=clustering.majority_error,
            category_to_digit=clustering.hungarian_map,
            shared_digits=clustering.shared_digits,
            unclaimed_digits=clustering.unclaimed_digits,
            split_labels=clustering.split_labels,
            confusion=counts.tolist(),
        )
        plot_confusion(counts, clustering.hungarian_map, out_dir / "confusion.png", dataset.name)
        write_misplaced(dataset, categories, clustering.hungarian_map, out_dir / "misplaced.png")
    disentanglement = disentanglement_report(loaded, dataset)
    if disentanglement is not None:
        results.update(mig=disentanglement.score, mig_per_factor=disentanglement.per_factor)
    if classifier is not None:
        results.update(
            sample_quality(loaded, dataset, classifier, num_samples, seed, clustering and clustering.hungarian_map)
        )
        results["classifier_test_accuracy"] = classifier.test_accuracy
    else:
        print(f"Classifier score, Fréchet distance and code→label agreement skipped: {no_classifier(dataset)}")
    results["figures"] = write_traversals(loaded, dataset, out_dir, "traversal_", seed)
    if baseline:
        results["figures"] += write_traversals(load(baseline.checkpoint), dataset, out_dir, "baseline_traversal_", seed)
    curves = {"InfoGAN": records, "GAN (baseline)": read_metrics(baseline.log_dir if baseline else None)}
    if any(curves.values()):
        index = categorical_index(loaded)
        entropy = math.log(loaded.model.reg_latent_dist.dists[index].dim) if index is not None else None
        plot_mutual_information(curves, entropy, out_dir / "mutual_information.png")
        results["figures"] += ["mutual_information.png"]
        baseline_records = curves["GAN (baseline)"]
        if baseline_records:
            results["baseline_mi_disc_final"] = baseline_records[-1].get("MI_disc")
    if clustering is not None:
        results["figures"] += ["confusion.png", "misplaced.png"]
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out_dir / "results.md").write_text(results_markdown(results))
    return results


def results_markdown(results: dict[str, Any]) -> str:
    dataset = results.get("dataset")
    lines = [
        f"# Evaluation of {results['checkpoint']} (update {results['step']})",
        "",
        "| measure | paper | this run |",
        "| --- | --- | --- |",
    ]
    for label, key, kind in ROWS:
        if key in results:
            lines.append(f"| {label} | {paper_value(dataset, key)} | {format_value(results[key], kind)} |")
    if "classifier_test_accuracy" in results:
        lines += [
            "",
            f"References: classifier score of the real test set {results['classifier_score_real_test']:.4g}; "
            f"Fréchet distance of real training images to the test set {results['frechet_distance_real_train']:.4g}; "
            f"the classifier's test accuracy {100 * results['classifier_test_accuracy']:.2f}%.",
        ]
    if "category_to_digit" in results:
        lines += [
            "",
            f"Category → label (Hungarian): {results['category_to_digit']}. "
            f"Labels claimed by several categories (majority map): {results['shared_digits'] or 'none'}; "
            f"labels no category claims: {results['unclaimed_digits'] or 'none'}.",
        ]
    if results.get("split_labels"):
        parts = "; ".join(
            f"{label}: "
            + ", ".join(f"category {p['category']} {100 * p['share']:.0f}% {p['slant']:+.2f}" for p in split)
            for label, split in results["split_labels"].items()
        )
        lines += [
            "",
            "Labels spread over several categories (each part's share of the label's test images, and their mean "
            f"slant: the ink's sideways move per row going up, > 0 leaning right): {parts}.",
        ]
    if "mig_per_factor" in results:
        gaps = ", ".join(f"{name} {gap:.3f}" for name, gap in results["mig_per_factor"].items())
        lines += ["", f"MIG per factor (0: no code singles it out; 1: one code holds all of it): {gaps}."]
    lines += ["", "Figures: " + ", ".join(results["figures"]), ""]
    return "\n".join(lines)
