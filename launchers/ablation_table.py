"""The ablation table of the MNIST categorical code, rebuilt from the runs' own results.json files.

    python launchers/ablation_table.py                    # the runs kept in docs/ablations/
    python launchers/ablation_table.py logs/mnist ...     # any run directories (or their parents)
    python launchers/ablation_table.py --per_seed=invariant,orig   # those settings, measure by measure

A run is named by a directory ending in ``_seed<N>``, and the runs that share the rest of
the name are one setting. Its evaluations are the ``results.json`` in that directory (what
the evaluation at the end of training wrote, beside ``flags.txt``) and those in its
``evaluation/*/`` (what ``evaluate.py --checkpoint`` wrote). A fresh run keeps the first in
its log directory and the second in its checkpoint directory, both under the run's name:
``python launchers/ablation_table.py logs/mnist ckt/mnist`` joins them. A run without a
final ``results.json`` stands at its newest evaluated checkpoint.

Per setting: the flags it changes from the original settings, the update it was evaluated
at, the Hungarian test error of every seed, their median and range, and the median MI_disc
and Fréchet distance. The distance is measured in the feature space of the evaluation's
classifier, which each machine trains anew, so beside it stands the distance of real
training images under the same classifier: compare distances only where that reference is
the same. Nothing is picked by test error: every
seed found is reported.

``--per_seed`` prints, instead, every measure of the evaluation for the named settings, one
row per measure and setting and one column per seed, so settings run on the same seeds can
be read side by side.

``--selection`` asks how early the label-free score of ``--restarts`` (the invariance
term's I(c; c′)) tells the runs of one setting that fail apart: each run's score and error
at every update it was evaluated at (its final evaluation and its checkpoints'), and, per
update, whether every run that ends above the worst-seed goal (8%) scores below every run
that does not. The errors only check the score; nothing is chosen by them.

``--choose`` replays ``--restarts`` on screening runs: for each seed N below 1,000 of the
setting, its candidates (the runs of seeds N + 1000·r, r < ``--restarts``) at update
``--at``, each one's score and error there, the candidate the score chooses (as
``infogan_tf.invariance.restarts.choose`` does, without the errors) and its error; then the median
and the worst of the chosen errors over the seeds whose candidates were all run.
``--criterion=category_entropy`` scores by the entropy the launcher's
``--restart_criterion=category_entropy`` kept beside each candidate (``restart_score.json``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infogan_tf.process import prepare_process

prepare_process()

from infogan_tf_launchers.command import FLAGS  # noqa: E402

from infogan_tf.invariance.ablation import (  # noqa: E402
    SHAPING_FLAGS,
    choice_table,
    find_runs,
    per_seed_table,
    read_flag_lines,
    selection_table,
    table,
)
from infogan_tf.invariance.restarts import CRITERIA, INVARIANCE_MI  # noqa: E402

KEPT = Path(__file__).resolve().parents[1] / "docs" / "ablations"


def original_settings() -> dict[str, str | None]:
    """The shaping flags' defaults, the original launcher's values, spelled as flags.txt spells them."""
    values = read_flag_lines([FLAGS[name].serialize() for name in SHAPING_FLAGS])
    return {name: values.get(name) for name in SHAPING_FLAGS}


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("roots", nargs="*", type=Path, default=[KEPT], help="run directories or their parents")
    parser.add_argument("--per_seed", default="", help="comma-separated settings to show measure by measure")
    parser.add_argument("--selection", default="", help="a setting whose runs' scores and errors to show by update")
    parser.add_argument("--choose", default="", help="a setting whose candidates --restarts would choose among")
    parser.add_argument("--restarts", type=int, default=2, help="candidates per seed for --choose (at least 2)")
    parser.add_argument("--at", type=int, default=2000, help="the update --choose scores the candidates at")
    parser.add_argument(
        "--criterion",
        choices=CRITERIA,
        default=INVARIANCE_MI,
        help="what --choose scores by, as --restart_criterion: category_entropy reads each candidate's kept "
        "restart_score.json",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.restarts < 2:
        parser.error(f"--restarts={args.restarts}: --choose needs at least 2 candidates per seed")
    runs = find_runs(args.roots)
    if not runs:
        sys.exit(f"error: no <name>_seed<N>/results.json under {', '.join(map(str, args.roots))}")
    names = [name for name in args.per_seed.split(",") if name]
    if args.choose:
        print(choice_table(runs, args.choose, args.restarts, args.at, args.criterion), end="")
    elif args.selection:
        print(selection_table(runs, args.selection), end="")
    else:
        print(per_seed_table(runs, names) if names else table(runs, original_settings()), end="")


if __name__ == "__main__":
    main()
