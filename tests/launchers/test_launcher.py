"""The launcher as a user runs it: a subprocess with flags."""

import json
import sys

import pytest
from conftest import REPO, run_command


def run_launcher(*flags, timeout=600, env=None, script="run_mnist_exp.py"):
    return run_command([sys.executable, str(REPO / "launchers" / script), *flags], timeout=timeout, env=env)


def test_tiny_run_end_to_end(tmp_path, mnist_dir, tiny_classifier_cache):
    env, accuracy = tiny_classifier_cache
    result = run_launcher(
        f"--data_dir={mnist_dir}",
        "--eval_samples=200",
        f"--root_log_dir={tmp_path / 'logs'}",
        f"--root_checkpoint_dir={tmp_path / 'ckt'}",
        "--exp_name=tiny",
        "--seed=5",
        "--batch_size=8",
        "--updates_per_epoch=3",
        "--max_epoch=2",
        "--leak=0.1",
        "--lr_batch_scaling=linear",
        "--reuse_fake_batch",
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("Epoch ") == 2 and "MI_disc" in result.stdout
    assert "━" not in result.stdout and "\x1b[" not in result.stdout  # redirected: no progress bar redraws
    # 8/128 of the original's rates (2e-4, 1e-3), as --lr_batch_scaling=linear asks:
    assert "Learning rates: D 1.25e-05, G 6.25e-05; the G step reuses the D step's batch" in result.stdout
    flags_file = (tmp_path / "logs" / "tiny" / "flags.txt").read_text()
    assert "--leak=0.1" in flags_file and "--batch_size=8" in flags_file
    assert (tmp_path / "ckt" / "tiny" / "checkpoint").is_file()
    assert len(list((tmp_path / "logs" / "tiny" / "images").glob("*.png"))) == 6
    results = json.loads((tmp_path / "logs" / "tiny" / "results.json").read_text())  # every run evaluates itself
    assert results["step"] == 6 and results["classifier_test_accuracy"] == accuracy
    assert "| Test error, categorical code, Hungarian map | 5% |" in result.stdout
    evaluate = [
        sys.executable,
        str(REPO / "launchers" / "evaluate.py"),
        f"--data_dir={mnist_dir}",
        "--eval_samples=200",
        f"--root_log_dir={tmp_path / 'logs'}",
        f"--root_checkpoint_dir={tmp_path / 'ckt'}",
        "--exp_name=tiny",
    ]
    again = run_command(evaluate, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    repeated = json.loads((tmp_path / "logs" / "tiny" / "results.json").read_text())
    # the run's own seed (5), not --seed's default; a tiny G's samples differ little, so compare closely
    assert repeated["frechet_distance"] == pytest.approx(results["frechet_distance"], rel=1e-7)
    other = run_command([*evaluate, "--seed=6"], env=env)
    assert other.returncode == 0, other.stderr[-3000:]
    resampled = json.loads((tmp_path / "logs" / "tiny" / "results.json").read_text())
    assert resampled["frechet_distance"] != pytest.approx(results["frechet_distance"], rel=1e-7)  # --seed wins


def test_seeds_then_evaluation_with_a_summary(tmp_path, mnist_dir, tiny_classifier_cache):
    env, _ = tiny_classifier_cache
    roots = [
        f"--root_log_dir={tmp_path / 'logs'}",
        f"--root_checkpoint_dir={tmp_path / 'ckt'}",
        f"--data_dir={mnist_dir}",
    ]
    tiny = ["--exp_name=multi", "--seeds=3,4", "--batch_size=8", "--updates_per_epoch=2", "--max_epoch=1"]
    trained = run_launcher(*roots, *tiny, "--noevaluate", env=env)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "ckt").iterdir()) == ["multi_seed3", "multi_seed4"]
    recorded = (tmp_path / "logs" / "multi_seed4" / "flags.txt").read_text().splitlines()
    assert [line for line in recorded if line.startswith(("--seed", "--exp_name"))] == [
        "--exp_name=multi_seed4",
        "--seed=4",
    ]
    evaluated = run_launcher(*roots, *tiny, "--eval_samples=200", env=env, script="evaluate.py")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    summary = json.loads((tmp_path / "logs" / "multi_summary" / "summary.json").read_text())
    errors = summary["unsupervised_error_hungarian"]
    assert set(errors["values"]) == {"3", "4"} and errors["min"] <= errors["median"] <= errors["max"]
    assert "| seed 3 | seed 4 | mean | median | min | max |" in evaluated.stdout


def test_each_evaluated_checkpoint_keeps_its_own_results_beside_its_training_log(
    tmp_path, mnist_dir, tiny_classifier_cache
):
    env, _ = tiny_classifier_cache
    roots = [
        f"--root_log_dir={tmp_path / 'logs'}",
        f"--root_checkpoint_dir={tmp_path / 'ckt'}",
        f"--data_dir={mnist_dir}",
    ]
    tiny = ["--batch_size=8", "--updates_per_epoch=3", "--max_epoch=2", "--snapshot_interval=3"]
    trained = run_launcher(*roots, *tiny, "--exp_name=early", "--noevaluate", env=env)
    assert trained.returncode == 0, trained.stderr[-3000:]
    ckt = tmp_path / "ckt" / "early"
    logged = {r["step"]: r for r in map(json.loads, (tmp_path / "logs" / "early" / "metrics.jsonl").open())}
    for checkpoint, step in ((ckt / "early-3", 3), (ckt, 6)):  # a checkpoint by path, then the newest in a directory
        evaluated = run_launcher(
            *roots, f"--checkpoint={checkpoint}", "--eval_samples=200", env=env, script="evaluate.py"
        )
        assert evaluated.returncode == 0, evaluated.stderr[-3000:]
        results = json.loads((ckt / "evaluation" / f"early-{step}" / "results.json").read_text())
        assert results["step"] == step
        assert results["mi_disc_final"] == logged[step]["MI_disc"]  # the log up to this checkpoint, found by name
    assert sorted(p.name for p in (ckt / "evaluation").iterdir()) == ["early-3", "early-6"]  # the first is kept
    assert not (tmp_path / "logs" / "early" / "results.json").exists()  # the run's own evaluation is left alone


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--batch_size=0", "batch_size"),
        ("--generator_learning_rate=5", "--generator_learning_rate must lie in (0, 1]"),
        ("--network_type=svhm", "--network_type=svhm is unknown; known: conv64, mnist, svhn"),
        ("--latent_spec=uniform:62,categorcal:10:reg", "token 2 'categorcal:10:reg': unknown family"),
    ],
)
def test_bad_flags_exit_with_a_readable_message(flag, message):
    result = run_launcher(flag, timeout=120)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_data_is_one_clear_error(tmp_path):
    result = run_launcher(f"--data_dir={tmp_path}", f"--root_log_dir={tmp_path}", f"--root_checkpoint_dir={tmp_path}")
    assert result.returncode != 0
    assert "train-images-idx3-ubyte.gz is missing; pass --data_dir=DIR" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_later_lead_of_the_invariance_term_reaches_the_step_and_a_resume_keeps_it(tmp_path, mnist_dir):
    common = [
        f"--data_dir={mnist_dir}",
        f"--root_log_dir={tmp_path / 'logs'}",
        f"--root_checkpoint_dir={tmp_path / 'ckt'}",
        "--exp_name=lead",
        "--batch_size=8",
        "--updates_per_epoch=2",
        "--noevaluate",
        "--invariance_coeff=1",
        "--invariance_leads",
    ]
    result = run_launcher(*common, "--max_epoch=2", "--invariance_leads_from=2")
    assert result.returncode == 0, result.stderr[-3000:]
    invariance = json.loads((tmp_path / "ckt" / "lead" / "run.json").read_text())["update"]["invariance"]
    assert invariance["leads"] is True and invariance["leads_from"] == 2
    moved = run_launcher(*common, "--max_epoch=3", "--invariance_leads_from=3")
    assert moved.returncode != 0 and "Traceback" not in moved.stderr
    assert "invariance.leads_from: checkpoint has 2, this run asks for 3" in moved.stderr
