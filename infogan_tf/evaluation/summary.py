"""Several seeds' results side by side: single InfoGAN runs vary a lot, the paper reports its best."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from infogan_tf.evaluation.measures import ROWS, format_value, paper_value


def summary_rows() -> list[tuple[str, str, str]]:
    """The measures compared across seeds (each seed is one run, so no baseline)."""
    return [row for row in ROWS if row[1] != "baseline_mi_disc_final"]


def summarize(results_by_seed: dict[int, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per measure: mean, median, min, max and the value of each seed."""
    out = {}
    for _, key, _ in summary_rows():
        values = {seed: r[key] for seed, r in results_by_seed.items() if r.get(key) is not None}
        if values:
            v = np.array(list(values.values()), float)
            out[key] = dict(
                mean=float(v.mean()), median=float(np.median(v)), min=float(v.min()), max=float(v.max()), values=values
            )
    return out


def summary_markdown(summary: dict[str, dict[str, Any]], seeds: list[int], dataset: str | None = None) -> str:
    lines = [
        f"# {len(seeds)} seeds: {', '.join(map(str, seeds))}",
        "",
        "| measure | paper | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | median | min | max |",
        "| --- | --- | " + " | ".join("---" for _ in seeds) + " | --- | --- | --- | --- |",
    ]
    for label, key, kind in summary_rows():
        if key in summary:
            row = summary[key]
            per_seed = [format_value(row["values"].get(s), kind) for s in seeds]
            stats = [format_value(row[k], kind) for k in ("mean", "median", "min", "max")]
            lines.append(f"| {label} | {paper_value(dataset, key)} | " + " | ".join(per_seed + stats) + " |")
    return "\n".join(lines) + "\n"


def write_summary(out_dir: str | Path, results_by_seed: dict[int, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(results_by_seed)
    dataset = next((r.get("dataset") for r in results_by_seed.values()), None)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out_dir / "summary.md").write_text(summary_markdown(summary, sorted(results_by_seed), dataset))
    return summary
