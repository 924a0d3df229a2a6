"""Pure metrics on arrays: no model, no TensorFlow, so each is checked on known answers."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
from scipy import linalg
from scipy.optimize import linear_sum_assignment


def confusion(categories: np.ndarray, labels: np.ndarray, num_categories: int, num_labels: int = 10) -> np.ndarray:
    """Counts ``[category, label]``."""
    out = np.zeros((num_categories, num_labels), np.int64)
    np.add.at(out, (categories, labels), 1)
    return out


@dataclasses.dataclass(frozen=True)
class Clustering:
    """How well a categorical code, read as a clustering, recovers the labels."""

    hungarian_error: float
    majority_error: float
    hungarian_map: dict[int, int]
    majority_map: dict[int, int]
    shared_digits: dict[int, list[int]]
    unclaimed_digits: list[int]
    split_labels: dict[int, list[dict[str, float]]] = dataclasses.field(default_factory=dict)
    """Each label the code spreads over categories, its parts' shares and slants (``split_labels``); empty
    where the images were not at hand to measure slants."""


def clustering_errors(counts: np.ndarray) -> Clustering:
    """Errors under the best one-to-one category-to-label map and the many-to-one majority map.

    The one-to-one map is the Hungarian assignment on the confusion matrix (the paper's
    5% figure); the majority map lets several categories claim one digit, which shows
    which digits the code merges (``shared_digits``) and which it never names.
    """
    total = counts.sum()
    rows, cols = linear_sum_assignment(-counts)
    hungarian = {int(r): int(c) for r, c in zip(rows, cols)}
    majority = {int(r): int(np.argmax(counts[r])) for r in range(counts.shape[0]) if counts[r].sum()}
    claimed: dict[int, list[int]] = {}
    for category, digit in majority.items():
        claimed.setdefault(digit, []).append(category)
    return Clustering(
        hungarian_error=float(1 - counts[rows, cols].sum() / total),
        majority_error=float(1 - counts.max(axis=1).sum() / total),
        hungarian_map=hungarian,
        majority_map=majority,
        shared_digits={d: cats for d, cats in sorted(claimed.items()) if len(cats) > 1},
        unclaimed_digits=[d for d in range(counts.shape[1]) if d not in claimed],
    )


def slant(ink: np.ndarray) -> np.ndarray:
    """How far each image ``[N, H, W]`` leans: its ink's sideways move per row going up (0: upright, > 0: right).

    From the ink's second moments about its centre, -cov(x, y) / var(y) with y counted
    down the rows: the slope of the line that best explains x by y. An empty image reads 0.
    """
    ink = np.asarray(ink, np.float64)
    rows, cols = np.mgrid[0 : ink.shape[1], 0 : ink.shape[2]]
    mass = ink.sum(axis=(1, 2))
    safe = np.where(mass > 0, mass, 1.0)
    cy = (ink * rows).sum(axis=(1, 2)) / safe
    cx = (ink * cols).sum(axis=(1, 2)) / safe
    dy = rows[None] - cy[:, None, None]
    dx = cols[None] - cx[:, None, None]
    var_y = (ink * dy**2).sum(axis=(1, 2))
    cov = (ink * dx * dy).sum(axis=(1, 2))
    return np.where(var_y > 0, -cov / np.where(var_y > 0, var_y, 1.0), 0.0)


def split_labels(
    categories: np.ndarray, labels: np.ndarray, slants: np.ndarray, min_share: float = 0.15
) -> dict[int, list[dict[str, float]]]:
    """The labels whose images a code spreads over several categories, and how each part leans.

    For each label with at least ``min_share`` of its images in each of two or more
    categories: those categories, largest first, with their share of the label's images
    and their images' mean slant. When the parts lean differently, the code names a
    writing style, not the label.
    """
    out = {}
    for label in np.unique(labels):
        mine = labels == label
        counts = np.bincount(categories[mine])
        parts = [int(c) for c in np.argsort(-counts, kind="stable") if counts[c] >= min_share * mine.sum()]
        if len(parts) > 1:
            out[int(label)] = [
                {
                    "category": c,
                    "share": float(counts[c] / mine.sum()),
                    "slant": float(slants[mine & (categories == c)].mean()),
                }
                for c in parts
            ]
    return out


def misplaced(
    categories: np.ndarray, labels: np.ndarray, hungarian_map: dict[int, int], num_labels: int, per_label: int
) -> list[np.ndarray]:
    """Per label, the first ``per_label`` indices of its images whose category the Hungarian map gives another label.

    A category the map leaves without a label (more categories than labels) misplaces
    every image in it. These are the images behind the Hungarian error, to be looked at:
    a number says how many, not whether they are a writing style the code names.
    """
    named = np.array([hungarian_map.get(int(c), -1) for c in range(int(categories.max(initial=0)) + 1)])
    wrong = named[categories] != labels
    return [np.flatnonzero(wrong & (labels == label))[:per_label] for label in range(num_labels)]


def classifier_score(probs: np.ndarray, eps: float = 1e-12) -> float:
    """exp(E_x KL(p(y|x) || p(y))): the Inception score with an MNIST classifier (1 to K).

    The mean KL is at least 0; float32 rounding of samples that all get one class would
    otherwise give a score a hair below 1.
    """
    probs = np.asarray(probs, np.float64)
    marginal = probs.mean(axis=0, keepdims=True)
    kl = np.sum(probs * (np.log(probs + eps) - np.log(marginal + eps)), axis=1)
    return float(np.exp(max(kl.mean(), 0.0)))


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID's formula)."""
    mu_a, mu_b = features_a.mean(axis=0), features_b.mean(axis=0)
    cov_a = np.cov(features_a, rowvar=False)
    cov_b = np.cov(features_b, rowvar=False)
    with warnings.catch_warnings():  # dead ReLU features make the covariances singular; the formula still holds
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(cov_a @ cov_b)
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))


def discrete_mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """I(a; b) in nats between two arrays of discrete values, from their joint histogram."""
    _, a_index = np.unique(a, return_inverse=True)
    _, b_index = np.unique(b, return_inverse=True)
    joint = np.zeros((a_index.max() + 1, b_index.max() + 1))
    np.add.at(joint, (a_index, b_index), 1.0)
    joint /= joint.sum()
    independent = joint.sum(axis=1, keepdims=True) * joint.sum(axis=0, keepdims=True)
    seen = joint > 0
    return float(np.sum(joint[seen] * np.log(joint[seen] / independent[seen])))


def discrete_entropy(a: np.ndarray) -> float:
    """H(a) in nats of an array of discrete values."""
    _, counts = np.unique(a, return_counts=True)
    p = counts / counts.sum()
    return float(-np.sum(p * np.log(p)))


def discretize(values: np.ndarray, bins: int = 20) -> np.ndarray:
    """Equal-width bins over the observed range of each column (the usual discretisation for MIG)."""
    values = np.asarray(values, np.float64)
    out = np.zeros(values.shape, np.int64)
    for j in range(values.shape[1]):
        edges = np.linspace(values[:, j].min(), values[:, j].max(), bins + 1)[1:-1]
        out[:, j] = np.digitize(values[:, j], edges)
    return out


@dataclasses.dataclass(frozen=True)
class MutualInformationGap:
    """MIG (Chen et al., 2018): per factor, the gap between the two codes that know most about it, over H(factor)."""

    score: float
    per_factor: dict[str, float]
    mutual_information: np.ndarray
    """``[code, factor]`` in nats."""


def mutual_information_gap(codes: np.ndarray, factors: np.ndarray, factor_names: list[str]) -> MutualInformationGap:
    """MIG of discrete ``codes`` ``[N, codes]`` against the ground-truth ``factors`` ``[N, factors]``.

    A factor that takes one value only (no entropy) is left out of the mean.
    """
    mi = np.array([[discrete_mutual_information(c, f) for f in factors.T] for c in codes.T])
    per_factor = {}
    for k, name in enumerate(factor_names):
        entropy = discrete_entropy(factors[:, k])
        if entropy > 0:
            top = np.sort(mi[:, k])[::-1]
            per_factor[name] = float((top[0] - (top[1] if len(top) > 1 else 0.0)) / entropy)
    score = float(np.mean(list(per_factor.values()))) if per_factor else float("nan")
    return MutualInformationGap(score=score, per_factor=per_factor, mutual_information=mi)
