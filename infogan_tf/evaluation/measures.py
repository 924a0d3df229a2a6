"""The evaluation's measures as the tables name and print them, apart from the code that computes them.

Kept free of TensorFlow so that scripts which only tabulate results.json files (the seed
summary, launchers/ablation_table.py) start without loading it.
"""

from __future__ import annotations

from typing import Any

EARLY_UPDATES = 1000
"""results.json records MI_disc as it stood after this many updates (how fast Q learns to read the code)."""

ROWS = [
    ("Test error, categorical code, Hungarian map", "unsupervised_error_hungarian", "pct"),
    ("Test error, categorical code, majority map", "unsupervised_error_majority", "pct"),
    ("Final MI_disc (L_I of the discrete codes)", "mi_disc_final", "num"),
    ("Final MI_disc of the baseline GAN", "baseline_mi_disc_final", "num"),
    (f"MI_disc at update {EARLY_UPDATES:,}", f"mi_disc_at_{EARLY_UPDATES}", "num"),
    ("Classifier score (real test set: ref.)", "classifier_score", "num"),
    ("Fréchet distance to the test set", "frechet_distance", "num"),
    ("Code→label agreement of samples", "code_digit_agreement", "pct"),
    ("MIG of Q's codes against the known factors (held-out images)", "mig", "num"),
    ("Wall time of training (s)", "wall_time_s", "num"),
]
"""(label, results key, format) of each measure in the tables; an extension adds its own (``register_row``)."""


def register_row(label: str, key: str, kind: str = "num", after: str = f"mi_disc_at_{EARLY_UPDATES}") -> None:
    """Show the measure ``key`` of ``results.json`` in the tables, under ``label``, after the row of ``after``."""
    if any(row[1] == key for row in ROWS):
        return
    position = next((i + 1 for i, row in enumerate(ROWS) if row[1] == after), len(ROWS))
    ROWS.insert(position, (label, key, kind))


PAPER = {
    "mnist": {
        "unsupervised_error_hungarian": "5%",
        "mi_disc_final": "→ ln 10 = 2.30 (Fig. 1)",
        "baseline_mi_disc_final": "low (Fig. 1)",
    }
}
"""The paper's figure for a measure, by dataset; "—" where it gives none."""


def paper_value(dataset: str | None, key: str) -> str:
    return PAPER.get(dataset or "mnist", {}).get(key, "—")


def format_value(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.2f}%" if kind == "pct" else f"{value:.4g}"
