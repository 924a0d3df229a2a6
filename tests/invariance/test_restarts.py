"""Restarts chosen without labels (I(c; c'), or the categories' entropy): candidates, scores, choice, launcher."""

import json
import sys

import numpy as np
import pytest
import scipy.stats
import tensorflow as tf
from conftest import REPO, run_command

from infogan_tf.checkpoints import load
from infogan_tf.data import MnistDataset
from infogan_tf.evaluation.report import categorical_predictions
from infogan_tf.invariance import restarts
from infogan_tf.invariance.restarts import Candidate


def test_candidates_are_the_seeds_own_run_then_runs_of_seeds_a_stride_apart():
    assert restarts.candidates(3, "inv_seed3", "inv", 3) == [
        Candidate(3, "inv_seed3"),
        Candidate(3 + restarts.SEED_STRIDE, f"inv_seed{3 + restarts.SEED_STRIDE}"),
        Candidate(3 + 2 * restarts.SEED_STRIDE, f"inv_seed{3 + 2 * restarts.SEED_STRIDE}"),
    ]
    assert restarts.candidates(7, "single", "single", 1) == [Candidate(7, "single")]
    assert restarts.shared_candidates([0, 1, 2], 3) == []
    assert restarts.shared_candidates([0, restarts.SEED_STRIDE], 2) == [restarts.SEED_STRIDE]
    assert restarts.shared_candidates([0, 2 * restarts.SEED_STRIDE], 2) == []


def write_metrics(log_dir, rows):
    log_dir.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"epoch": step // 10 - 1, "step": step, **values}) for step, values in rows]
    (log_dir / "metrics.jsonl").write_text("\n".join(lines) + "\n")


def test_a_candidate_is_scored_by_its_record_of_the_selection_update(tmp_path, capsys):
    write_metrics(tmp_path / "a", [(10, {"MI_invariance": 1.5}), (20, {"MI_invariance": 2.125})])
    with open(tmp_path / "a" / "metrics.jsonl", "a") as f:
        f.write('{"step": 30, "MI_inv')  # a write cut short by a kill
    assert restarts.score(tmp_path / "a", 20) == 2.125
    assert "skipped unreadable line(s) [3]" in capsys.readouterr().err
    with pytest.raises(restarts.SelectionError, match="has no MI_invariance at update 30"):
        restarts.score(tmp_path / "a", 30)
    write_metrics(tmp_path / "plain", [(20, {"MI_disc": 2.2})])  # trained without the invariance term
    with pytest.raises(restarts.SelectionError, match="without the invariance term"):
        restarts.score(tmp_path / "plain", 20)
    with pytest.raises(restarts.SelectionError):
        restarts.score(tmp_path / "missing", 20)


def test_category_entropy_is_the_entropy_of_the_categories_shares():
    rng = np.random.default_rng(0)
    categories = rng.choice(10, size=5000, p=np.r_[np.full(9, 0.09), 0.19])
    expected = scipy.stats.entropy(np.bincount(categories, minlength=10))
    assert restarts.category_entropy(categories, 10) == pytest.approx(expected, rel=1e-12)
    assert restarts.category_entropy(np.arange(1000) % 10, 10) == pytest.approx(np.log(10), rel=1e-12)
    assert restarts.category_entropy(np.full(50, 3), 10) == 0.0  # empty categories add nothing
    even, folded = np.repeat(np.arange(10), 100), np.repeat(np.arange(10), 100)
    folded[:10] = 1  # ten of category 0's images given to category 1
    assert restarts.category_entropy(folded, 10) < restarts.category_entropy(even, 10)


def test_a_kept_score_is_read_back_only_for_its_criterion_and_update(tmp_path):
    restarts.keep_score(tmp_path, restarts.CATEGORY_ENTROPY, 2000, 2.30131, "ckt/r/r-2000")
    assert restarts.kept_score(tmp_path, restarts.CATEGORY_ENTROPY, 2000) == 2.30131
    assert restarts.kept_score(tmp_path, restarts.CATEGORY_ENTROPY, 1000) is None
    assert restarts.kept_score(tmp_path, restarts.INVARIANCE_MI, 2000) is None
    assert restarts.kept_score(tmp_path / "missing", restarts.CATEGORY_ENTROPY, 2000) is None
    (tmp_path / restarts.SCORE_FILE).write_text('{"criterion": "category_ent')  # cut short: scored again
    assert restarts.kept_score(tmp_path, restarts.CATEGORY_ENTROPY, 2000) is None


def test_the_highest_score_is_chosen_and_a_tie_keeps_the_earlier_candidate(tmp_path):
    a, b, c = Candidate(0, "r_seed0"), Candidate(1000, "r_seed1000"), Candidate(2000, "r_seed2000")
    assert restarts.choose([(a, 2.10), (b, 2.17), (c, 2.15)]) == b
    assert restarts.choose([(a, 2.17), (b, 2.17), (c, 2.0)]) == a
    written = restarts.write_selection(tmp_path / "r_seed0", 2000, [(a, 2.10), (b, 2.17)], b)
    assert json.loads(written.read_text()) == {
        "criterion": "MI_invariance at update 2000",
        "candidates": [
            {"seed": 0, "run": "r_seed0", "score": 2.10},
            {"seed": 1000, "run": "r_seed1000", "score": 2.17},
        ],
        "chosen": {"seed": 1000, "run": "r_seed1000"},
    }
    assert not list((tmp_path / "r_seed0").glob("*.tmp"))


TINY = ["--batch_size=8", "--updates_per_epoch=2", "--max_epoch=4", "--deterministic", "--noevaluate"]


def launcher(tmp_path, mnist_dir, *flags):
    cmd = [
        sys.executable,
        str(REPO / "launchers" / "run_mnist_exp.py"),
        f"--data_dir={mnist_dir}",
        f"--root_log_dir={tmp_path / 'logs'}",
        f"--root_checkpoint_dir={tmp_path / 'ckt'}",
        *TINY,
        *flags,
    ]
    return run_command(cmd)


def steps_and_scores(log_dir):
    records = [json.loads(line) for line in (log_dir / "metrics.jsonl").read_text().splitlines()]
    return [r["step"] for r in records], {r["step"]: r["MI_invariance"] for r in records}


def variables(checkpoint_dir):
    reader = tf.train.load_checkpoint(str(checkpoint_dir))
    names = [n for n, _ in tf.train.list_variables(str(checkpoint_dir)) if "save_counter" not in n]
    return {n: reader.get_tensor(n) for n in names if n != "_CHECKPOINTABLE_OBJECT_GRAPH"}


def test_the_launcher_trains_each_candidate_to_the_selection_update_and_the_chosen_one_on(tmp_path, mnist_dir):
    flags = ["--exp_name=r", "--seed=2", "--invariance_coeff=1", "--restarts=2", "--restart_select_at=4"]
    result = launcher(tmp_path, mnist_dir, *flags)
    assert result.returncode == 0, result.stderr[-3000:]
    selection = json.loads((tmp_path / "logs" / "r" / "restarts.json").read_text())
    runs = {c["run"]: c for c in selection["candidates"]}
    assert [c["seed"] for c in selection["candidates"]] == [2, 1002] and set(runs) == {"r", "r_seed1002"}
    for name, candidate in runs.items():  # each score is that run's own logged I(c; c') at update 4
        assert candidate["score"] == steps_and_scores(tmp_path / "logs" / name)[1][4]
    best = max(runs.values(), key=lambda c: c["score"])
    assert selection["chosen"] == {"seed": best["seed"], "run": best["run"]}
    other = next(name for name in runs if name != best["run"])
    assert steps_and_scores(tmp_path / "logs" / best["run"])[0] == [2, 4, 6, 8]
    assert steps_and_scores(tmp_path / "logs" / other)[0] == [2, 4]
    assert f"{best['run']} trains on" in result.stdout
    for name, candidate in runs.items():  # each run's flags.txt is its own: its name, seed and where it stopped
        recorded = (tmp_path / "logs" / name / "flags.txt").read_text().splitlines()
        until = 4 if name == best["run"] else 2
        for line in (f"--exp_name={name}", f"--max_epoch={until}", "--restarts=2"):
            assert recorded.count(line) == 1, (name, line)
        assert [line for line in recorded if line.startswith("--seed")] == [f"--seed={candidate['seed']}"]

    # the chosen run, stopped at the selection update and continued, is that seed's plain run
    plain = launcher(tmp_path, mnist_dir, "--exp_name=plain", f"--seed={best['seed']}", "--invariance_coeff=1")
    assert plain.returncode == 0, plain.stderr[-3000:]
    chosen, straight = variables(tmp_path / "ckt" / best["run"]), variables(tmp_path / "ckt" / "plain")
    assert chosen.keys() == straight.keys() and int(chosen["step/.ATTRIBUTES/VARIABLE_VALUE"]) == 8
    for name, value in straight.items():
        np.testing.assert_array_equal(chosen[name], value, err_msg=name)

    again = launcher(tmp_path, mnist_dir, *flags)  # everything is there: nothing trains again, the choice stands
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Epoch " not in again.stdout and again.stdout.count("Resumed from") == 3
    assert json.loads((tmp_path / "logs" / "r" / "restarts.json").read_text()) == selection

    # the candidate not chosen, continued by its name alone, trains on with a word about the choice
    unchosen = launcher(
        tmp_path, mnist_dir, f"--exp_name={other}", f"--seed={runs[other]['seed']}", "--invariance_coeff=1"
    )
    assert unchosen.returncode == 0, unchosen.stderr[-3000:]
    record = tmp_path / "logs" / "r" / "restarts.json"
    assert f"note: {other} is a restart candidate that {record} did not choose ({best['run']} was)" in unchosen.stdout
    assert "note:" not in plain.stdout


def test_a_run_a_selection_passed_over_is_found_and_others_are_not(tmp_path):
    chosen, other = restarts.Candidate(0, "s"), restarts.Candidate(1000, "s_seed1000")
    restarts.write_selection(tmp_path / "s", 4, [(chosen, 2.1), (other, 2.0)], chosen)
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / restarts.SELECTION_FILE).write_text("{not json")
    assert "s_seed1000 is a restart candidate that" in restarts.passed_over(tmp_path, "s_seed1000")
    assert restarts.passed_over(tmp_path, "s") is None and restarts.passed_over(tmp_path, "elsewhere") is None
    assert restarts.passed_over(tmp_path / "missing", "s_seed1000") is None


def test_restarts_by_category_entropy_score_each_candidate_at_its_checkpoint_of_the_selection_update(
    tmp_path, mnist_dir
):
    flags = [
        "--exp_name=e",
        "--seed=1",
        "--restarts=2",
        "--restart_select_at=4",
        "--restart_criterion=category_entropy",
    ]
    result = launcher(tmp_path, mnist_dir, *flags)  # no invariance term: this criterion does not need one
    assert result.returncode == 0, result.stderr[-3000:]
    selection = json.loads((tmp_path / "logs" / "e" / "restarts.json").read_text())
    assert selection["criterion"] == "category_entropy at update 4"
    images = MnistDataset(mnist_dir).train.images
    for candidate in selection["candidates"]:  # each score, recomputed from the candidate's update-4 checkpoint
        name = candidate["run"]
        loaded = load(tmp_path / "ckt" / name / f"{name}-4", generator="trained")
        counts = np.bincount(categorical_predictions(loaded, images), minlength=10)
        assert candidate["score"] == pytest.approx(scipy.stats.entropy(counts), rel=1e-9), name
        kept = json.loads((tmp_path / "logs" / name / restarts.SCORE_FILE).read_text())
        assert kept["score"] == candidate["score"] and kept["update"] == 4
    best = max(selection["candidates"], key=lambda c: c["score"])
    assert selection["chosen"] == {"seed": best["seed"], "run": best["run"]}
    steps = [json.loads(line)["step"] for line in (tmp_path / "logs" / best["run"] / "metrics.jsonl").open()]
    assert steps == [2, 4, 6, 8]

    again = launcher(tmp_path, mnist_dir, *flags)  # the kept scores choose again, with nothing trained
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Epoch " not in again.stdout
    assert json.loads((tmp_path / "logs" / "e" / "restarts.json").read_text()) == selection

    chosen = tmp_path / "ckt" / best["run"]
    for path in chosen.glob(f"{best['run']}-4.*"):  # the update-4 checkpoint pruned and the kept score lost
        path.unlink()
    (tmp_path / "logs" / best["run"] / restarts.SCORE_FILE).unlink()
    lost = launcher(tmp_path, mnist_dir, *flags)
    assert lost.returncode != 0 and "Traceback" not in lost.stderr
    assert f"{best['run']}-4, the candidate's checkpoint of update 4, is gone" in lost.stderr
    assert "give the command a new --exp_name" in lost.stderr
    assert json.loads((tmp_path / "logs" / "e" / "restarts.json").read_text()) == selection
    assert sorted(p.name for p in chosen.glob("*.index"))[-1] == f"{best['run']}-8.index"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--restarts=2"], "--restarts chooses by the invariance term's I(c; c'): set --invariance_coeff > 0"),
        (["--restarts=2", "--invariance_coeff=1", "--restart_select_at=5"], "must end an epoch"),
        (["--restarts=2", "--invariance_coeff=1", "--restart_select_at=8"], "before the run's last update (8)"),
        (["--restarts=2", "--invariance_coeff=1", "--restart_select_at=4", "--seeds=0,1000"], "candidate of two"),
        (["--restarts=2", "--invariance_coeff=1", "--restart_select_at=4", "--resume=/tmp"], "use --resume=auto"),
        (["--restarts=2", "--invariance_coeff=1", "--restart_select_at=4", "--seed=4294967295"], "largest seed"),
        (["--restarts=2", "--restart_criterion=entropy"], "--restart_criterion"),
        (
            [
                "--restarts=2",
                "--restart_select_at=4",
                "--restart_criterion=category_entropy",
                "--latent_spec=uniform:8,uniform:2:reg",
            ],
            "--restart_criterion=category_entropy reads a categorical code, and the latent spec",
        ),
    ],
)
def test_restarts_that_cannot_choose_are_refused_before_anything_runs(tmp_path, mnist_dir, flags, message):
    result = launcher(tmp_path, mnist_dir, "--exp_name=bad", *flags)
    assert result.returncode != 0 and message in result.stderr, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and not (tmp_path / "ckt").exists()
