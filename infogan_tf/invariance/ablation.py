"""The ablation table of the categorical code, rebuilt from runs' own results.json and flags.txt files.

``launchers/ablation_table.py`` is its command (the docstring there says what each table
shows). Nothing is picked by test error: every seed found is reported.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import statistics
from pathlib import Path
from typing import Any

from infogan_tf.evaluation.measures import ROWS, format_value
from infogan_tf.evaluation.summary import summarize, summary_rows
from infogan_tf.invariance.restarts import (
    CATEGORY_ENTROPY,
    INVARIANCE_MI,
    SEED_STRIDE,
    Candidate,
    candidate_seeds,
    choose,
    kept_score,
)

SEED = re.compile(r"^(?P<setting>.+)_seed(?P<seed>\d+)$")
SHAPING_FLAGS = (
    "batch_size",
    "info_reg_coeff",
    "continuous_info_reg_coeff",
    "info_reg_warmup",
    "generator_learning_rate",
    "discriminator_learning_rate",
    "latent_spec",
    "leak",
    "precision",
    "reuse_fake_batch",
    "train_q",
    "invariance_coeff",
    "invariance_degrees",
    "invariance_shift",
    "invariance_scale",
    "invariance_copies",
    "invariance_overclusters",
    "invariance_fakes",
    "invariance_shear",
    "invariance_elastic",
    "invariance_elastic_sigma",
    "invariance_deslant",
    "invariance_leads",
    "invariance_leads_from",
    "invariance_erase",
    "invariance_erased_copies",
    "restarts",
    "generator_average",
    "generator_average_from",
    "restart_criterion",
)
"""The flags that shape training or what G samples: a setting's changes are these, against their defaults."""


def read_flags(path: Path) -> dict[str, str | None]:
    """Flag values from a flags.txt."""
    return read_flag_lines(path.read_text().splitlines())


RESUME_MODES = ("auto", "latest", "never")
"""--resume values that continue a run's own checkpoints; any other value is another run's checkpoint."""


def read_flag_lines(lines: list[str]) -> dict[str, str | None]:
    """Flag values from flags.txt lines (``--name=value``, ``--name``, ``--noname``)."""
    values: dict[str, str | None] = {}
    for line in lines:
        if line.startswith("--no") and "=" not in line:
            values[line[4:]] = "false"
        elif "=" in line:
            name, value = line[2:].split("=", 1)
            values[name] = value
        elif line.startswith("--"):
            values[line[2:]] = "true"
    return values


def changed_flags(flags: dict[str, str | None], original: dict[str, str | None]) -> str:
    """The settings that differ from the original's; a run started from another run's checkpoint says so,
    since its updates before that checkpoint were trained under that run's settings."""
    changes = [
        f"--{name}={flags[name]}"
        for name, default in original.items()
        if name in flags and flags[name] != default and not (default is None and flags[name] in ("", None))
    ]
    if flags.get("resume") not in (None, *RESUME_MODES):
        changes.append("--resume=<another run's checkpoint>")
    return " ".join(changes) or "(the original settings)"


def read_results(path: Path) -> dict:
    """An evaluation's results.json, refused with its path where it is not one the table can read."""
    try:
        results = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SystemExit(
            f"error: {path} is not readable JSON ({error}): evaluate the run again or move it away"
        ) from None
    if not isinstance(results, dict):
        raise SystemExit(f"error: {path} is not a JSON object: evaluate the run again or move it away")
    missing = [key for key in ("step", "unsupervised_error_hungarian") if key not in results]
    if missing:
        raise SystemExit(f"error: {path} lacks {', '.join(missing)}: evaluate the run again or move it away")
    numbers = ("unsupervised_error_hungarian", *NUMBERS_READ, *(key for _, key, _ in ROWS))
    wrong = [f"step={results['step']!r}"] if not _is_number(results["step"], whole=True) else []
    wrong += [f"{key}={results[key]!r}" for key in dict.fromkeys(numbers) if not _is_number(results.get(key))]
    if wrong:
        raise SystemExit(
            f"error: {path} holds {', '.join(wrong)} where a number belongs: evaluate the run again or move it away"
        )
    return results


NUMBERS_READ = ("frechet_distance_real_train",)
"""Keys beyond the measures' rows that the tables print as numbers."""


def _is_number(value: object, whole: bool = False) -> bool:
    """None (not measured) or an int/float; ``whole``: an int. ``bool`` is not a number here."""
    if value is None and not whole:
        return True
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) or not whole


@dataclasses.dataclass
class Run:
    """One run's evaluations, gathered from every directory that bears its name."""

    name: str
    dirs: list[Path] = dataclasses.field(default_factory=list)

    @property
    def setting(self) -> str:
        return SEED.match(self.name)["setting"]

    @property
    def seed(self) -> int:
        return int(SEED.match(self.name)["seed"])

    @property
    def finals(self) -> list[Path]:
        return [d / "results.json" for d in self.dirs if (d / "results.json").is_file()]

    @functools.cached_property
    def results(self) -> dict:
        """The evaluation at the end of training, or the newest evaluated checkpoint where there is none."""
        finals = self.finals
        if finals:
            return read_results(finals[0])
        evaluations = self.evaluations
        return evaluations[max(evaluations)]

    @functools.cached_property
    def evaluations(self) -> dict[int, dict]:
        """Every evaluation of the run by update: its checkpoints', then the final one, which wins a tie."""
        paths = [*(p for d in self.dirs for p in sorted(d.glob("evaluation/*/results.json"))), *self.finals]
        found = (read_results(path) for path in paths)
        return {results["step"]: results for results in found}

    @property
    def flags_file(self) -> Path | None:
        return next((d / "flags.txt" for d in self.dirs if (d / "flags.txt").is_file()), None)


def find_runs(roots: list[Path]) -> list[Run]:
    """The runs under ``roots`` by name; a run found in two places with a final results.json each is refused."""
    runs: dict[str, Run] = {}
    for root in roots:
        for path in root.rglob("results.json"):
            if SEED.match(path.parent.name):
                run_dir = path.parent
            elif path.parent.parent.name == "evaluation" and SEED.match(path.parents[2].name):
                run_dir = path.parents[2]
            else:
                continue
            run = runs.setdefault(run_dir.name, Run(run_dir.name))
            if all(run_dir.resolve() != d.resolve() for d in run.dirs):
                run.dirs.append(run_dir)
    for run in runs.values():
        if len(run.finals) > 1:
            places = " and in ".join(str(final.parent) for final in run.finals)
            raise SystemExit(
                f"error: run {run.name} has a final results.json in {places}: give only the roots that hold one of them"
            )
    return sorted(runs.values(), key=lambda run: run.name)


def group_by_setting(runs: list[Run]) -> dict[str, list[Run]]:
    settings: dict[str, list[Run]] = {}
    for run in runs:
        settings.setdefault(run.setting, []).append(run)
    for seeds in settings.values():
        seeds.sort(key=lambda run: run.seed)
    return settings


def table(runs: list[Run], original: dict[str, str | None]) -> str:
    """One row per setting: what it changes from ``original`` (flags.txt spelling), every seed's error, medians."""
    settings = group_by_setting(runs)
    lines = [
        "| setting | changes | updates | error per seed (Hungarian) | median | range | MI_disc median | FD median |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for setting, seeds in sorted(settings.items(), key=lambda kv: _median_error(kv[1])):
        errors = [100 * run.results["unsupervised_error_hungarian"] for run in seeds]
        flags_file = seeds[0].flags_file
        changes = changed_flags(read_flags(flags_file), original) if flags_file else "(no flags.txt)"
        updates = sorted({run.results.get("step") for run in seeds})
        per_seed = ", ".join(f"s{run.seed} {e:.2f}%" for run, e in zip(seeds, errors))
        mi = _median(seeds, "mi_disc_final", "{:.3f}")
        fd = _median(seeds, "frechet_distance", "{:.2f}") + _reference(seeds)
        lines.append(
            f"| {setting} | {changes} | {', '.join(map(str, updates))} | {per_seed} | "
            f"{statistics.median(errors):.2f}% | {min(errors):.2f}–{max(errors):.2f}% | {mi} | {fd} |"
        )
    return "\n".join(lines) + "\n"


def per_seed_table(runs: list[Run], names: list[str]) -> str:
    """Each measure of each named setting, seed by seed, with the median and the range."""
    settings = group_by_setting(runs)
    missing = [name for name in names if name not in settings]
    if missing:
        found = ", ".join(sorted(settings)) or "none"
        raise SystemExit(f"error: no runs of setting(s) {', '.join(missing)} (settings found: {found})")
    summaries = {name: summarize({run.seed: run.results for run in settings[name]}) for name in names}
    seeds = sorted({run.seed for name in names for run in settings[name]})
    lines = [
        "| measure | setting | " + " | ".join(f"seed {s}" for s in seeds) + " | median | range |",
        "| --- | --- | " + " | ".join("---" for _ in seeds) + " | --- | --- |",
    ]
    for label, key, kind in summary_rows():
        for name in names:
            row: dict[str, Any] | None = summaries[name].get(key)
            if row is None:
                continue
            cells = [format_value(row["values"].get(s), kind) for s in seeds]
            median = format_value(row["median"], kind)
            spread = f"{format_value(row['min'], kind)}–{format_value(row['max'], kind)}"
            lines.append(f"| {label} | {name} | " + " | ".join(cells) + f" | {median} | {spread} |")
    return "\n".join(lines) + "\n"


FAILING_ERROR = 0.08
"""Test error above the worst-seed goal (docs/beyond_the_paper.md): a run ending above it is one to replace."""


def selection_table(runs: list[Run], name: str) -> str:
    """Each run's score and error at each evaluated update; then whether the score separates the failing runs."""
    evaluated = {run.seed: run.evaluations for run in _setting(runs, name)}
    steps = sorted({step for by_step in evaluated.values() for step in by_step})
    lines = [
        "| seed | " + " | ".join(f"update {step}: I(c; c′), error" for step in steps) + " |",
        "| --- | " + " | ".join("---" for _ in steps) + " |",
    ]
    for seed, by_step in evaluated.items():
        cells = [
            _score_and_error(by_step.get(step), by_step.get(step, {}).get("mi_invariance_final")) for step in steps
        ]
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    failing = {
        seed
        for seed, by_step in evaluated.items()
        if by_step[max(by_step)]["unsupervised_error_hungarian"] > FAILING_ERROR
    }
    cells = [_separation(evaluated, failing, step) for step in steps]
    lines.append(
        f"| failing at the end (> {100 * FAILING_ERROR:.0f}%): {_seeds(failing)} | " + " | ".join(cells) + " |"
    )
    return "\n".join(lines) + "\n"


CRITERION_LABELS = {INVARIANCE_MI: ("I(c; c′)", 3), CATEGORY_ENTROPY: ("category entropy", 5)}
"""How ``--choose`` heads a criterion's column, and the decimals its scores are shown with."""


def kept_criterion_score(run: Run, results: dict | None, criterion: str, at: int) -> float | None:
    """The run's score at update ``at``: I(c; c′) from that evaluation, or the score the launcher kept beside it."""
    if results is None:
        return None
    if criterion == INVARIANCE_MI:
        return results.get("mi_invariance_final")
    return next((score for d in run.dirs if (score := kept_score(d, criterion, at)) is not None), None)


def choice_table(runs: list[Run], name: str, restarts: int, at: int, criterion: str = INVARIANCE_MI) -> str:
    """Per seed: each candidate's score and error at update ``at``, the score's choice and its error."""
    setting = {run.seed: run for run in _setting(runs, name)}
    by_seed = {seed: run.evaluations.get(at) for seed, run in setting.items()}
    scores = {seed: kept_criterion_score(setting[seed], results, criterion, at) for seed, results in by_seed.items()}
    label, digits = CRITERION_LABELS[criterion]
    lines = [
        "| seed | "
        + " | ".join(f"candidate {r}: {label}, error at {at}" for r in range(restarts))
        + " | chosen | its error |",
        "| --- | " + " | ".join("---" for _ in range(restarts)) + " | --- | --- |",
    ]
    chosen_errors, incomplete = [], []
    for seed in sorted(s for s in by_seed if s < SEED_STRIDE):
        seeds = candidate_seeds(seed, restarts)
        found = [by_seed.get(s) for s in seeds]
        cells = [f"s{s}: " + _score_and_error(results, scores.get(s), digits) for s, results in zip(seeds, found)]
        scored = [(Candidate(s, str(s)), scores[s]) for s, r in zip(seeds, found) if r is not None]
        if len(scored) < restarts or any(score is None for _, score in scored):
            incomplete.append(seed)
            lines.append(f"| {seed} | " + " | ".join(cells) + " | — | — |")
            continue
        pick = choose(scored).seed
        error = by_seed[pick]["unsupervised_error_hungarian"]
        chosen_errors.append(error)
        lines.append(f"| {seed} | " + " | ".join(cells) + f" | s{pick} | {100 * error:.2f}% |")
    if chosen_errors:
        summary = (
            f"median {100 * statistics.median(chosen_errors):.2f}%, worst {100 * max(chosen_errors):.2f}% "
            f"over {len(chosen_errors)} seed{'s' if len(chosen_errors) > 1 else ''}"
        )
    else:
        summary = "no seed has every candidate"
    lines.append(
        f"| chosen | {summary}"
        + (f"; not every candidate evaluated at {at}: seeds {_seeds(set(incomplete))}" if incomplete else "")
        + " |" * (restarts + 2)
    )
    return "\n".join(lines) + "\n"


def _setting(runs: list[Run], name: str) -> list[Run]:
    """The runs of setting ``name``, refused with the settings found where there are none."""
    settings = group_by_setting(runs)
    if name not in settings:
        raise SystemExit(f"error: no runs of setting {name} (settings found: {', '.join(sorted(settings)) or 'none'})")
    return settings[name]


def _score_and_error(results: dict | None, score: float | None, digits: int = 3) -> str:
    if results is None:
        return "—"
    return f"{'—' if score is None else f'{score:.{digits}f}'}, {100 * results['unsupervised_error_hungarian']:.2f}%"


def _separation(evaluated: dict[int, dict[int, dict]], failing: set[int], step: int) -> str:
    """The failing runs' highest score against the others' lowest at ``step``; separated when the first is lower."""
    scores = {seed: by_step[step].get("mi_invariance_final") for seed, by_step in evaluated.items() if step in by_step}
    scores = {seed: score for seed, score in scores.items() if score is not None}
    bad = [score for seed, score in scores.items() if seed in failing]
    good = [score for seed, score in scores.items() if seed not in failing]
    if not bad or not good:
        return "—"
    verdict = "separated" if max(bad) < min(good) else "not separated"
    return f"{verdict}: failing ≤ {max(bad):.3f}, others ≥ {min(good):.3f}"


def _seeds(seeds: set[int]) -> str:
    return ", ".join(map(str, sorted(seeds))) or "none"


def _median(seeds: list[Run], key: str, form: str) -> str:
    """The median of ``key`` over the seeds that have it; "—" where none does.

    A checkpoint evaluated without its training log has no final MI_disc.
    """
    values = [run.results[key] for run in seeds if run.results.get(key) is not None]
    return form.format(statistics.median(values)) if values else "—"


def _reference(seeds: list[Run]) -> str:
    """The real images' distance that the setting's distances were measured against."""
    references = {
        f"{run.results['frechet_distance_real_train']:.2f}"
        for run in seeds
        if "frechet_distance_real_train" in run.results
    }
    if not references:
        return ""
    return f" (real {references.pop()})" if len(references) == 1 else " (several classifiers)"


def _median_error(seeds: list[Run]) -> float:
    return statistics.median(run.results["unsupervised_error_hungarian"] for run in seeds)
