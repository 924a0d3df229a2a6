"""launchers/ablation_table.py: the ablation table rebuilt from results.json files, every seed reported."""

import json
import sys

from conftest import REPO, run_command

from infogan_tf.invariance import restarts


def write_run(root, name, error, mi, fd, flags, **extra):
    run = root / name
    run.mkdir(parents=True)
    results = {"step": 2000, "unsupervised_error_hungarian": error, "mi_disc_final": mi, "frechet_distance": fd}
    results.update(extra)
    (run / "results.json").write_text(json.dumps(results))
    (run / "flags.txt").write_text("\n".join(flags) + "\n")


def test_the_table_groups_seeds_by_setting_and_reports_median_and_range(tmp_path):
    original = ["--batch_size=128", "--info_reg_coeff=1.0", "--noreuse_fake_batch", "--seed=0"]
    for seed, error in ((0, 0.20), (1, 0.10), (2, 0.30)):
        write_run(tmp_path, f"orig_seed{seed}", error, 2.29, 3.0 + seed, original, frechet_distance_real_train=seed)
    for seed, error in ((0, 0.05), (1, 0.07)):
        flags = [*original, "--continuous_info_reg_coeff=0.1"]
        write_run(tmp_path, f"small_seed{seed}", error, 2.28, 2.0, flags, frechet_distance_real_train=0.85)
    (tmp_path / "not_a_run").mkdir()
    (tmp_path / "not_a_run" / "results.json").write_text("{}")
    out = run_command(
        [sys.executable, str(REPO / "launchers" / "ablation_table.py"), str(tmp_path)], check=True
    ).stdout.splitlines()
    assert len(out) == 4
    assert out[2] == (
        "| small | --continuous_info_reg_coeff=0.1 | 2000 | s0 5.00%, s1 7.00% | 6.00% | 5.00–7.00% | 2.280 "
        "| 2.00 (real 0.85) |"
    )
    assert out[3] == (
        "| orig | (the original settings) | 2000 | s0 20.00%, s1 10.00%, s2 30.00% | 20.00% | 10.00–30.00% "
        "| 2.290 | 4.00 (several classifiers) |"
    )


def test_a_run_started_from_another_runs_checkpoint_says_so_and_its_own_resume_does_not(tmp_path):
    base = ["--batch_size=128", "--invariance_coeff=1.0"]
    write_run(tmp_path, "own_seed0", 0.02, 2.29, 3.0, [*base, "--resume=auto"])
    write_run(tmp_path, "later_seed0", 0.03, 2.29, 3.0, [*base, "--resume=/runs/ckt/own_seed0/own_seed0-1000"])
    out = run_command([sys.executable, str(REPO / "launchers" / "ablation_table.py"), str(tmp_path)], check=True).stdout
    assert "| own | --invariance_coeff=1.0 | 2000 |" in out
    assert "| later | --invariance_coeff=1.0 --resume=<another run's checkpoint> | 2000 |" in out


def test_the_readmes_table_is_the_one_the_kept_runs_rebuild():
    result = run_command([sys.executable, str(REPO / "launchers" / "ablation_table.py")])
    assert result.returncode == 0, result.stderr
    assert "| orig2000 | (the original settings) | 2000 |" in result.stdout
    assert any(result.stdout in page.read_text() for page in (REPO / "docs").glob("*.md"))


def test_per_seed_sets_settings_side_by_side_measure_by_measure(tmp_path):
    flags = ["--batch_size=128"]
    for seed, error in ((0, 0.20), (1, 0.10), (2, 0.30)):
        write_run(tmp_path, f"orig_seed{seed}", error, 2.29, 3.0 + seed, flags)
    for seed, error in ((0, 0.01), (2, 0.03)):
        write_run(tmp_path, f"preset_seed{seed}", error, 2.295, 2.0, flags, mi_disc_at_1000=2.28 + seed / 100)
    script = [sys.executable, str(REPO / "launchers" / "ablation_table.py"), str(tmp_path)]
    out = run_command([*script, "--per_seed=preset,orig"], check=True)
    lines = out.stdout.splitlines()
    assert lines[0] == "| measure | setting | seed 0 | seed 1 | seed 2 | median | range |"
    error = "| Test error, categorical code, Hungarian map"
    assert f"{error} | preset | 1.00% | — | 3.00% | 2.00% | 1.00%–3.00% |" in lines
    assert f"{error} | orig | 20.00% | 10.00% | 30.00% | 20.00% | 10.00%–30.00% |" in lines
    assert "| MI_disc at update 1,000 | preset | 2.28 | — | 2.3 | 2.29 | 2.28–2.3 |" in lines
    assert not any("MI_disc at update 1,000 | orig" in line for line in lines)  # no early record, no row
    assert "| Fréchet distance to the test set | orig | 3 | 4 | 5 | 4 | 3–5 |" in lines
    missing = run_command([*script, "--per_seed=nothing"])
    assert missing.returncode != 0
    assert "no runs of setting(s) nothing (settings found: orig, preset)" in missing.stderr


def test_selection_shows_each_update_and_whether_the_score_separates_the_failing_runs(tmp_path):
    def evaluated(seed, step, error, score):
        folder = tmp_path / f"pre_seed{seed}" / "evaluation" / f"pre_seed{seed}-{step}"
        folder.mkdir(parents=True)
        results = {"step": step, "unsupervised_error_hungarian": error}
        if score is not None:
            results["mi_invariance_final"] = score
        (folder / "results.json").write_text(json.dumps(results))

    # seed 1 fails at the end (12%); at update 1000 it already scores lowest, at 500 it does not
    for seed, (end_error, end_score), early in (
        (0, (0.02, 2.16), ((500, 0.30, 1.90), (1000, 0.05, 2.14))),
        (1, (0.12, 2.07), ((500, 0.25, 1.95), (1000, 0.15, 2.05))),
        (2, (0.03, 2.15), ((500, 0.20, None), (1000, 0.04, 2.12))),
    ):
        write_run(
            tmp_path, f"pre_seed{seed}", end_error, 2.29, 2.0, ["--batch_size=128"], mi_invariance_final=end_score
        )
        for step, error, score in early:
            evaluated(seed, step, error, score)
    write_run(tmp_path, "other_seed0", 0.5, 2.29, 2.0, ["--batch_size=128"])
    script = [sys.executable, str(REPO / "launchers" / "ablation_table.py"), str(tmp_path)]
    lines = run_command([*script, "--selection=pre"], check=True).stdout.splitlines()
    assert lines[0] == (
        "| seed | update 500: I(c; c′), error | update 1000: I(c; c′), error | update 2000: I(c; c′), error |"
    )
    assert lines[2:5] == [
        "| 0 | 1.900, 30.00% | 2.140, 5.00% | 2.160, 2.00% |",
        "| 1 | 1.950, 25.00% | 2.050, 15.00% | 2.070, 12.00% |",
        "| 2 | —, 20.00% | 2.120, 4.00% | 2.150, 3.00% |",
    ]
    assert lines[5] == (
        "| failing at the end (> 8%): 1 | not separated: failing ≤ 1.950, others ≥ 1.900 "
        "| separated: failing ≤ 2.050, others ≥ 2.120 | separated: failing ≤ 2.070, others ≥ 2.150 |"
    )
    assert len(lines) == 6  # other_seed0, another setting, is not shown
    missing = run_command([*script, "--selection=nothing"])
    assert missing.returncode != 0 and "no runs of setting nothing (settings found: other, pre)" in missing.stderr


def test_a_fresh_runs_log_and_checkpoint_directories_are_joined_by_its_name(tmp_path):
    logs, ckt = tmp_path / "logs" / "mnist", tmp_path / "ckt" / "mnist"
    write_run(logs, "pre_seed0", 0.02, 2.29, 2.0, ["--invariance_coeff=1.0"], mi_invariance_final=2.16)
    checkpoints = {
        ("pre_seed0", 1000): (0.09, 1.96),
        ("pre_seed1", 1000): (0.16, 1.90),
        ("pre_seed1", 1500): (0.13, 2.05),
    }
    for (name, step), (error, score) in checkpoints.items():
        folder = ckt / name / "evaluation" / f"{name}-{step}"
        folder.mkdir(parents=True)
        results = {"step": step, "unsupervised_error_hungarian": error, "mi_invariance_final": score}
        (folder / "results.json").write_text(json.dumps(results))
    script = [sys.executable, str(REPO / "launchers" / "ablation_table.py"), str(tmp_path / "logs"), str(ckt)]
    lines = run_command([*script, "--selection=pre"], check=True).stdout.splitlines()
    assert lines[2:4] == [
        "| 0 | 1.960, 9.00% | — | 2.160, 2.00% |",
        "| 1 | 1.900, 16.00% | 2.050, 13.00% | — |",
    ]
    assert lines[4].startswith("| failing at the end (> 8%): 1 | separated: failing ≤ 1.900, others ≥ 1.960 |")
    # seed 1 has no final evaluation: the table stands it at its newest checkpoint, and says which update that is
    table = run_command(script, check=True).stdout.splitlines()
    assert table[2].startswith("| pre | --invariance_coeff=1.0 | 1500, 2000 | s0 2.00%, s1 13.00% | 7.50% |")
    write_run(tmp_path / "copy", "pre_seed0", 0.02, 2.29, 2.0, [])
    twice = run_command([*script, str(tmp_path / "copy")])
    assert twice.returncode != 0
    assert f"run pre_seed0 has a final results.json in {logs / 'pre_seed0'} and in" in twice.stderr


def test_a_damaged_results_file_is_refused_by_its_path(tmp_path):
    write_run(tmp_path, "pre_seed0", 0.02, 2.29, 2.0, [])
    results = tmp_path / "pre_seed0" / "results.json"
    script = [sys.executable, str(REPO / "launchers" / "ablation_table.py"), str(tmp_path)]
    for damaged, complaint in (
        ('{"step": 20', "is not readable JSON"),
        ("[]", "is not a JSON object"),
        ('{"step": 2000}', "lacks unsupervised_error_hungarian"),
        ('{"step": "2000", "unsupervised_error_hungarian": 0.1}', "holds step='2000' where a number belongs"),
        ('{"step": 2000.5, "unsupervised_error_hungarian": 0.1}', "holds step=2000.5 where a number belongs"),
        ('{"step": 2000, "unsupervised_error_hungarian": {"a": 1}}', "holds unsupervised_error_hungarian={'a': 1}"),
        ('{"step": 2000, "unsupervised_error_hungarian": 0.1, "frechet_distance": [1]}', "holds frechet_distance=[1]"),
        ('{"step": 2000, "unsupervised_error_hungarian": 0.1, "mig": true}', "holds mig=True where"),
    ):
        results.write_text(damaged)
        refused = run_command(script)
        assert refused.returncode != 0
        assert f"error: {results} {complaint}" in refused.stderr and "evaluate the run again" in refused.stderr


def test_choose_replays_restarts_by_the_score_alone_over_the_seeds_with_every_candidate(tmp_path):
    runs = {  # seed: (error, score) at update 2000
        0: (0.02, 2.16),
        1000: (0.11, 2.11),
        1: (0.15, 2.07),
        1001: (0.12, 2.10),  # both of seed 1's candidates fail: the higher score is chosen all the same
        3: (0.01, 2.15),
        1003: (0.20, 2.17),  # the score, not the error, chooses
        2: (0.03, 2.15),  # no candidate 1002
    }
    for seed, (error, score) in runs.items():
        write_run(tmp_path, f"pre_seed{seed}", error, 2.29, 2.0, [], mi_invariance_final=score)
    write_run(tmp_path, "pre_seed4", 0.02, 2.29, 2.0, [])  # no score: trained without the invariance term
    write_run(tmp_path, "pre_seed1004", 0.02, 2.29, 2.0, [], mi_invariance_final=2.2)
    script = [sys.executable, str(REPO / "launchers" / "ablation_table.py"), str(tmp_path), "--choose=pre"]
    lines = run_command(script, check=True).stdout.splitlines()
    assert lines[0] == (
        "| seed | candidate 0: I(c; c′), error at 2000 | candidate 1: I(c; c′), error at 2000 | chosen | its error |"
    )
    assert lines[2:7] == [
        "| 0 | s0: 2.160, 2.00% | s1000: 2.110, 11.00% | s0 | 2.00% |",
        "| 1 | s1: 2.070, 15.00% | s1001: 2.100, 12.00% | s1001 | 12.00% |",
        "| 2 | s2: 2.150, 3.00% | s1002: — | — | — |",
        "| 3 | s3: 2.150, 1.00% | s1003: 2.170, 20.00% | s1003 | 20.00% |",
        "| 4 | s4: —, 2.00% | s1004: 2.200, 2.00% | — | — |",
    ]
    assert lines[7].startswith("| chosen | median 12.00%, worst 20.00% over 3 seeds; not every candidate evaluated")
    assert "seeds 2, 4 |" in lines[7]
    elsewhere = run_command([*script, "--at=1000"], check=True).stdout
    assert "no seed has every candidate" in elsewhere
    refused = run_command([*script, "--restarts=1"])
    assert refused.returncode != 0 and "--choose needs at least 2 candidates" in refused.stderr


def test_choose_by_category_entropy_reads_each_candidates_kept_score(tmp_path):
    runs = {  # seed: (error, I(c; c'), kept category entropy at update 2000)
        0: (0.025, 2.168, 2.30061),  # a style of one digit in another's category: the higher I(c; c'), yet less even
        1000: (0.012, 2.160, 2.30138),
        1: (0.011, 2.166, 2.30138),
        1001: (0.026, 2.170, 2.30059),
        2: (0.013, 2.150, 2.30145),
        1002: (0.014, 2.150, None),  # no kept score: the seed cannot be replayed
    }
    for seed, (error, mi, entropy) in runs.items():
        write_run(tmp_path, f"pre_seed{seed}", error, 2.29, 2.0, [], mi_invariance_final=mi)
        if entropy is not None:
            restarts.keep_score(tmp_path / f"pre_seed{seed}", restarts.CATEGORY_ENTROPY, 2000, entropy, "ckt")
    restarts.keep_score(tmp_path / "pre_seed1002", restarts.CATEGORY_ENTROPY, 1000, 2.4, "ckt")  # another update
    script = [sys.executable, str(REPO / "launchers" / "ablation_table.py"), str(tmp_path), "--choose=pre"]
    lines = run_command([*script, "--criterion=category_entropy"], check=True)
    lines = lines.stdout.splitlines()
    assert lines[0] == (
        "| seed | candidate 0: category entropy, error at 2000 | candidate 1: category entropy, error at 2000 "
        "| chosen | its error |"
    )
    assert lines[2:5] == [
        "| 0 | s0: 2.30061, 2.50% | s1000: 2.30138, 1.20% | s1000 | 1.20% |",
        "| 1 | s1: 2.30138, 1.10% | s1001: 2.30059, 2.60% | s1 | 1.10% |",
        "| 2 | s2: 2.30145, 1.30% | s1002: —, 1.40% | — | — |",
    ]
    assert lines[5].startswith("| chosen | median 1.15%, worst 1.20% over 2 seeds; not every candidate evaluated")
    by_mi = run_command(script, check=True).stdout.splitlines()
    assert by_mi[2] == "| 0 | s0: 2.168, 2.50% | s1000: 2.160, 1.20% | s0 | 2.50% |"
