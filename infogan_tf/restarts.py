"""Restarts chosen without labels: several candidate runs per seed; the one with the highest I(c; c') trains on.

Which seed fails (G writing two digits with one category) is settled early and by
chaos: the same seed under another summation order of one gradient succeeds (README,
#14). The invariance term's own I(c; c') of real images and their copies is lower in the
runs that fail, already at update 2,000, and IIC chooses among its heads by that same
quantity. So choosing among restarts by it uses no label, and the choice can be made
long before the schedule ends.

Candidate 0 is the seed's own run; candidate r is the run of seed ``seed + r * SEED_STRIDE``,
named as that seed's run would be, so a candidate is an ordinary run (it resumes,
evaluates and samples like any other) and ``--restarts=1`` is the plain run.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from infogan_tf.records import read_records, write_json_atomically

SEED_STRIDE = 1000
"""Seed distance between a seed's candidates: --seeds less than this apart never share a candidate."""

CRITERION = "MI_invariance"
"""The logged quantity a candidate is scored by: the invariance term's I(c; c'), averaged over an epoch."""

SELECTION_FILE = "restarts.json"


class SelectionError(RuntimeError):
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
    """The candidate's ``CRITERION`` in its ``metrics.jsonl`` record of update ``at``."""
    path = Path(log_dir) / "metrics.jsonl"
    for record in read_records(path):
        if record["step"] == at and isinstance(record.get(CRITERION), (int, float)):
            return float(record[CRITERION])
    raise SelectionError(
        f"{path} has no {CRITERION} at update {at}, so the candidate cannot be scored: it was trained without the "
        "invariance term, or the file was damaged; give the command a new --exp_name (this run is left as it is)"
    )


def choose(scored: Sequence[tuple[Candidate, float]]) -> Candidate:
    """The highest score; on a tie, the earlier candidate (the seed's own run first)."""
    best = max(range(len(scored)), key=lambda i: (scored[i][1], -i))
    return scored[best][0]


def write_selection(
    log_dir: str | os.PathLike, at: int, scored: Sequence[tuple[Candidate, float]], chosen: Candidate
) -> Path:
    """Record the candidates, their scores and the choice in ``log_dir`` (written whole, or not at all)."""
    record = {
        "criterion": f"{CRITERION} at update {at}",
        "candidates": [{"seed": c.seed, "run": c.name, "score": s} for c, s in scored],
        "chosen": {"seed": chosen.seed, "run": chosen.name},
    }
    path = Path(log_dir) / SELECTION_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomically(path, record)
    return path
