"""The ablation table of the MNIST categorical code, rebuilt from the runs' own results.json files.

    python launchers/ablation_table.py                    # the runs kept in docs/ablations/
    python launchers/ablation_table.py logs/mnist ...     # any run directories (or their parents)
    python launchers/ablation_table.py --per_seed=invariant,orig   # those settings, measure by measure

A run is a directory holding ``results.json`` (what the evaluation wrote) and, where it
has one, ``flags.txt``; its name ends in ``_seed<N>``, and the runs that share the rest
of the name are one setting. Per setting: the flags it changes from the original
settings, the update it was evaluated at, the Hungarian test error of every seed, their
median and range, and the median MI_disc and Fréchet distance. The distance is measured in
the feature space of the evaluation's classifier, which each machine trains anew, so beside
it stands the distance of real training images under the same classifier: compare
distances only where that reference is the same. Nothing is picked by test error: every
seed found is reported.

``--per_seed`` prints, instead, every measure of the evaluation for the named settings, one
row per measure and setting and one column per seed, so settings run on the same seeds can
be read side by side.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path
from typing import Any

from infogan_tf.evaluation.measures import format_value
from infogan_tf.evaluation.summary import SUMMARY_ROWS, summarize

REPO = Path(__file__).resolve().parents[1]
KEPT = REPO / "docs" / "ablations"
SEED = re.compile(r"^(?P<setting>.+)_seed(?P<seed>\d+)$")
ORIGINAL = {
    "batch_size": "128",
    "info_reg_coeff": "1.0",
    "continuous_info_reg_coeff": None,
    "info_reg_warmup": "0",
    "generator_learning_rate": "0.001",
    "discriminator_learning_rate": "0.0002",
    "latent_spec": "uniform:62,categorical:10:reg,uniform:1:reg:fix_std,uniform:1:reg:fix_std",
    "leak": "0.01",
    "precision": "float32",
    "reuse_fake_batch": "false",
    "train_q": "false",
    "invariance_coeff": "0.0",
    "invariance_degrees": "15.0",
    "invariance_shift": "2.0",
    "invariance_scale": "0.0",
    "invariance_copies": "1",
    "invariance_overclusters": "0",
    "invariance_fakes": "false",
    "restarts": "1",
}
"""The settings that shape training, as the original launcher had them (flags.txt spelling)."""


def read_flags(path: Path) -> dict[str, str | None]:
    """Flag values from a flags.txt (``--name=value``, ``--name``, ``--noname``)."""
    values: dict[str, str | None] = {}
    for line in path.read_text().splitlines():
        if line.startswith("--no") and "=" not in line:
            values[line[4:]] = "false"
        elif "=" in line:
            name, value = line[2:].split("=", 1)
            values[name] = value
        elif line.startswith("--"):
            values[line[2:]] = "true"
    return values


def changed_flags(flags: dict[str, str | None]) -> str:
    changes = [
        f"--{name}={flags[name]}"
        for name, original in ORIGINAL.items()
        if name in flags and flags[name] != original and not (original is None and flags[name] in ("", None))
    ]
    return " ".join(changes) or "(the original settings)"


def find_runs(roots: list[Path]) -> list[Path]:
    runs = set()
    for root in roots:
        runs.update(p.parent for p in root.rglob("results.json") if SEED.match(p.parent.name))
    return sorted(runs)


def group_by_setting(runs: list[Path]) -> dict[str, list[tuple[int, dict, Path]]]:
    settings: dict[str, list[tuple[int, dict, Path]]] = {}
    for run in runs:
        match = SEED.match(run.name)
        results = json.loads((run / "results.json").read_text())
        settings.setdefault(match["setting"], []).append((int(match["seed"]), results, run))
    return settings


def table(runs: list[Path]) -> str:
    settings = group_by_setting(runs)
    lines = [
        "| setting | changes | updates | error per seed (Hungarian) | median | range | MI_disc median | FD median |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for setting, seeds in sorted(settings.items(), key=lambda kv: _median_error(kv[1])):
        seeds.sort()
        errors = [100 * r["unsupervised_error_hungarian"] for _, r, _ in seeds]
        flags_file = seeds[0][2] / "flags.txt"
        changes = changed_flags(read_flags(flags_file)) if flags_file.is_file() else "(no flags.txt)"
        updates = sorted({r.get("step") for _, r, _ in seeds})
        per_seed = ", ".join(f"s{s} {e:.2f}%" for (s, _, _), e in zip(seeds, errors))
        mi = _median(seeds, "mi_disc_final", "{:.3f}")
        fd = _median(seeds, "frechet_distance", "{:.2f}") + _reference(seeds)
        lines.append(
            f"| {setting} | {changes} | {', '.join(map(str, updates))} | {per_seed} | "
            f"{statistics.median(errors):.2f}% | {min(errors):.2f}–{max(errors):.2f}% | {mi} | {fd} |"
        )
    return "\n".join(lines) + "\n"


def per_seed_table(runs: list[Path], names: list[str]) -> str:
    """Each measure of each named setting, seed by seed, with the median and the range."""
    settings = group_by_setting(runs)
    missing = [name for name in names if name not in settings]
    if missing:
        found = ", ".join(sorted(settings)) or "none"
        raise SystemExit(f"error: no runs of setting(s) {', '.join(missing)} (settings found: {found})")
    summaries = {name: summarize({seed: r for seed, r, _ in settings[name]}) for name in names}
    seeds = sorted({seed for name in names for seed, _, _ in settings[name]})
    lines = [
        "| measure | setting | " + " | ".join(f"seed {s}" for s in seeds) + " | median | range |",
        "| --- | --- | " + " | ".join("---" for _ in seeds) + " | --- | --- |",
    ]
    for label, key, kind in SUMMARY_ROWS:
        for name in names:
            row: dict[str, Any] | None = summaries[name].get(key)
            if row is None:
                continue
            cells = [format_value(row["values"].get(s), kind) for s in seeds]
            median = format_value(row["median"], kind)
            spread = f"{format_value(row['min'], kind)}–{format_value(row['max'], kind)}"
            lines.append(f"| {label} | {name} | " + " | ".join(cells) + f" | {median} | {spread} |")
    return "\n".join(lines) + "\n"


def _median(seeds: list[tuple[int, dict, Path]], key: str, form: str) -> str:
    """The median of ``key`` over the seeds that have it; "—" where none does.

    A checkpoint evaluated on its own (``evaluate.py --checkpoint``) has no training log,
    so no final MI_disc.
    """
    values = [r[key] for _, r, _ in seeds if r.get(key) is not None]
    return form.format(statistics.median(values)) if values else "—"


def _reference(seeds: list[tuple[int, dict, Path]]) -> str:
    """The real images' distance that the setting's distances were measured against."""
    references = {f"{r['frechet_distance_real_train']:.2f}" for _, r, _ in seeds if "frechet_distance_real_train" in r}
    if not references:
        return ""
    return f" (real {references.pop()})" if len(references) == 1 else " (several classifiers)"


def _median_error(seeds: list[tuple[int, dict, Path]]) -> float:
    return statistics.median(r["unsupervised_error_hungarian"] for _, r, _ in seeds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("roots", nargs="*", type=Path, default=[KEPT], help="run directories or their parents")
    parser.add_argument("--per_seed", default="", help="comma-separated settings to show measure by measure")
    args = parser.parse_args(argv)
    runs = find_runs(args.roots)
    if not runs:
        sys.exit(f"error: no <name>_seed<N>/results.json under {', '.join(map(str, args.roots))}")
    names = [name for name in args.per_seed.split(",") if name]
    print(per_seed_table(runs, names) if names else table(runs), end="")


if __name__ == "__main__":
    main()
