"""Restarts chosen without labels: several candidate runs per seed; the one with the highest score trains on.

Which seed fails (G writing two digits with one category) is settled early and by
chaos: the same seed under another summation order of one gradient succeeds
(docs/beyond_the_paper.md). Two scores read it without a label, long before the schedule
ends:

- ``invariance_mi``: the invariance term's own I(c; c') of real images and their copies,
  as logged. It is lower in the runs that fail, already at update 2,000, and IIC chooses
  among its heads by the same quantity.
- ``category_entropy``: the entropy of how the training images share the categories
  (Q's most likely category of each). On a dataset whose classes are about equally
  frequent, a run that gives one digit's style another digit's category makes one
  category larger and one smaller, and this entropy lower. It is the H(c) half of
  I(c; c'), measured once over the whole training set: the invariance term estimates it
  per batch, where the small difference that separates such runs is lost.

Candidate 0 is the seed's own run; candidate r is the run of seed ``seed + r * SEED_STRIDE``,
named as that seed's run would be, so a candidate is an ordinary run (it resumes,
evaluates and samples like any other) and ``--restarts=1`` is the plain run.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from infogan_tf.errors import ConfigError
from infogan_tf.evaluation.measures import register_row
from infogan_tf.records import read_records, write_json_atomically

SEED_STRIDE = 1000
"""Seed distance between a seed's candidates: --seeds less than this apart never share a candidate."""

INVARIANCE_MI = "invariance_mi"
CATEGORY_ENTROPY = "category_entropy"
CRITERIA = (INVARIANCE_MI, CATEGORY_ENTROPY)

LOGGED_MI = "MI_invariance"
"""The logged quantity ``invariance_mi`` scores by: the invariance term's I(c; c'), averaged over an epoch."""

register_row("Final I(c; c′) of the invariance term (no labels)", f"{LOGGED_MI.lower()}_final")

SELECTION_FILE = "restarts.json"
SCORE_FILE = "restart_score.json"
"""A candidate's ``category_entropy``, kept in its log directory: its checkpoint of that update may be pruned later."""


class SelectionError(ConfigError):
    """A candidate that cannot be scored: it has no record of the selection update."""


@dataclasses.dataclass(frozen=True)
class Candidate:
    seed: int
    name: str


def candidate_seeds(seed: int, restarts: int) -> list[int]:
    return [seed + r * SEED_STRIDE for r in range(restarts)]


def candidates(seed: int, name: str, base: str, restarts: int) -> list[Candidate]:
    """The seed's own run (``name``) first, then the runs of the other candidate seeds, named ``<base>_seed<N>``."""
    seeds = candidate_seeds(seed, restarts)
    return [Candidate(seed, name)] + [Candidate(s, f"{base}_seed{s}") for s in seeds[1:]]


def shared_candidates(seeds: Iterable[int], restarts: int) -> list[int]:
    """Candidate seeds that two of ``seeds`` would both train (one directory, two runs): must be empty."""
    owners: dict[int, int] = {}
    shared = set()
    for seed in seeds:
        for s in candidate_seeds(seed, restarts):
            if owners.setdefault(s, seed) != seed:
                shared.add(s)
    return sorted(shared)


def score(log_dir: str | os.PathLike, at: int) -> float:
    """The candidate's ``LOGGED_MI`` in its ``metrics.jsonl`` record of update ``at``."""
    path = Path(log_dir) / "metrics.jsonl"
    for record in read_records(path):
        if record["step"] == at and isinstance(record.get(LOGGED_MI), (int, float)):
            return float(record[LOGGED_MI])
    raise SelectionError(
        f"{path} has no {LOGGED_MI} at update {at}, so the candidate cannot be scored: it was trained without the "
        "invariance term, or the file was damaged; give the command a new {run.exp_name} (this run is left as it is)"
    )


def category_entropy(categories: np.ndarray, num_categories: int) -> float:
    """Entropy (nats) of the categories' shares of the images: ln(num_categories) when every one holds as many."""
    shares = np.bincount(np.asarray(categories), minlength=num_categories) / len(categories)
    shares = shares[shares > 0]
    return float(-(shares * np.log(shares)).sum())


def kept_score(log_dir: str | os.PathLike, criterion: str, at: int) -> float | None:
    """The score ``keep_score`` wrote for this criterion and update; None if there is none (or it is unreadable)."""
    try:
        kept = json.loads((Path(log_dir) / SCORE_FILE).read_text())
        if kept["criterion"] == criterion and kept["update"] == at:
            return float(kept["score"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def keep_score(log_dir: str | os.PathLike, criterion: str, at: int, value: float, checkpoint: str) -> None:
    """Write the candidate's score beside its logs (whole, or not at all), with the checkpoint it was read from."""
    record = {"criterion": criterion, "update": at, "score": value, "checkpoint": checkpoint}
    write_json_atomically(Path(log_dir) / SCORE_FILE, record)


def passed_over(log_root: str | os.PathLike, name: str) -> str | None:
    """Where a seed's ``restarts.json`` under ``log_root`` lists run ``name`` as a candidate it did not choose.

    Continuing such a run on its own is allowed (it is a run like any other), but the
    seed's record still names another: the caller says so. None where no record does.
    """
    for path in sorted(Path(log_root).glob(f"*/{SELECTION_FILE}")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(record, dict) or not isinstance(record.get("chosen"), dict):
            continue
        listed = {c.get("run") for c in record.get("candidates", []) if isinstance(c, dict)}
        chosen = record["chosen"].get("run")
        if name in listed and chosen != name:
            return f"{name} is a restart candidate that {path} did not choose ({chosen} was); it trains on by itself"
    return None


def choose(scored: Sequence[tuple[Candidate, float]]) -> Candidate:
    """The highest score; on a tie, the earlier candidate (the seed's own run first)."""
    best = max(range(len(scored)), key=lambda i: (scored[i][1], -i))
    return scored[best][0]


def write_selection(
    log_dir: str | os.PathLike,
    at: int,
    scored: Sequence[tuple[Candidate, float]],
    chosen: Candidate,
    criterion: str = INVARIANCE_MI,
) -> Path:
    """Record the candidates, their scores and the choice in ``log_dir`` (written whole, or not at all)."""
    record = {
        "criterion": f"{LOGGED_MI if criterion == INVARIANCE_MI else criterion} at update {at}",
        "candidates": [{"seed": c.seed, "run": c.name, "score": s} for c, s in scored],
        "chosen": {"seed": chosen.seed, "run": chosen.name},
    }
    path = Path(log_dir) / SELECTION_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomically(path, record)
    return path
