"""Killing and resuming the launcher as a user would: SIGKILL, SIGTERM, bad setups."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO, run_command

TINY = ["--batch_size=8", "--updates_per_epoch=10", "--max_epoch=6", "--snapshot_interval=5", "--deterministic"]
TINY += ["--noevaluate"]


def command(tmp_path, mnist_dir, name, *extra):
    return [
        sys.executable,
        str(REPO / "launchers" / "run_mnist_exp.py"),
        f"--data_dir={mnist_dir}",
        f"--root_log_dir={tmp_path / 'logs'}",
        f"--root_checkpoint_dir={tmp_path / 'ckt'}",
        f"--exp_name={name}",
        *TINY,
        *extra,
    ]


def run(cmd, timeout=600):
    return run_command(cmd, timeout=timeout)


def start_and_signal_after_first_checkpoint(cmd, ckpt_dir, signum):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    deadline = time.time() + 300
    while not (ckpt_dir / "checkpoint").exists():
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.time() < deadline
        time.sleep(0.02)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def steps_logged(tmp_path, name):
    lines = (tmp_path / "logs" / name / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)["step"] for line in lines]


def variables(checkpoint_dir):
    reader = tf.train.load_checkpoint(str(checkpoint_dir))
    names = [n for n, _ in tf.train.list_variables(str(checkpoint_dir)) if "save_counter" not in n]
    return {n: reader.get_tensor(n) for n in names if n != "_CHECKPOINTABLE_OBJECT_GRAPH"}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, mnist_dir):
    tmp_path = tmp_path_factory.mktemp("whole")
    result = run(command(tmp_path, mnist_dir, "whole"))
    assert result.returncode == 0, result.stderr[-3000:]
    weights = variables(tmp_path / "ckt" / "whole")
    shutil.rmtree(tmp_path)
    return weights


def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, mnist_dir, uninterrupted):
    cmd = command(tmp_path, mnist_dir, "killed")
    code, _ = start_and_signal_after_first_checkpoint(cmd, tmp_path / "ckt" / "killed", signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert len(steps_logged(tmp_path, "killed")) < 6  # it really died before the end
    result = run(cmd)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resumed from" in result.stdout
    assert steps_logged(tmp_path, "killed") == [10, 20, 30, 40, 50, 60]
    resumed = variables(tmp_path / "ckt" / "killed")
    assert resumed.keys() == uninterrupted.keys()
    assert int(resumed["step/.ATTRIBUTES/VARIABLE_VALUE"]) == 60
    for name, value in uninterrupted.items():
        np.testing.assert_array_equal(resumed[name], value, err_msg=name)


def test_sigterm_checkpoints_then_resumes(tmp_path, mnist_dir):
    cmd = command(tmp_path, mnist_dir, "termed")
    code, err = start_and_signal_after_first_checkpoint(cmd, tmp_path / "ckt" / "termed", signal.SIGTERM)
    assert code == 128 + signal.SIGTERM, err[-3000:]
    assert "stopped by SIGTERM at update" in err and "rerun the same command to resume" in err
    assert "Traceback" not in err
    stopped_at = int(err.split("stopped by SIGTERM at update ")[1].split(";")[0])
    assert tf.train.latest_checkpoint(str(tmp_path / "ckt" / "termed")).endswith(f"-{stopped_at}")
    result = run(cmd)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"at update {stopped_at}" in result.stdout
    assert steps_logged(tmp_path, "termed") == [10, 20, 30, 40, 50, 60]


def test_a_run_named_by_its_timestamp_is_told_how_to_resume_it(tmp_path, mnist_dir):
    """Without --exp_name, the same command would start a new run: the stop line names the run's generated name."""
    cmd = [c for c in command(tmp_path, mnist_dir, "unused") if not c.startswith("--exp_name=")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    deadline = time.time() + 300
    while not list((tmp_path / "ckt").glob("mnist_*/checkpoint")):
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.time() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, err[-3000:]
    (run_dir,) = (tmp_path / "ckt").iterdir()
    hint = f"rerun the same command with --exp_name={run_dir.name} to resume"
    assert hint in err, err[-3000:]
    result = run([*cmd, f"--exp_name={run_dir.name}"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resumed from" in result.stdout
    assert steps_logged(tmp_path, run_dir.name) == [10, 20, 30, 40, 50, 60]
    assert [p.name for p in (tmp_path / "ckt").iterdir()] == [run_dir.name]


def test_a_different_architecture_is_refused_in_one_line(tmp_path, mnist_dir):
    first = run(command(tmp_path, mnist_dir, "arch", "--max_epoch=1"))
    assert first.returncode == 0, first.stderr[-3000:]
    result = run(command(tmp_path, mnist_dir, "arch", "--latent_spec=uniform:62,categorical:12:reg"))
    assert result.returncode == 1
    assert "error: the checkpoints in" in result.stderr and "categorical:12:reg" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unwritable_directory_is_refused_in_one_line(tmp_path, mnist_dir):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run([*command(tmp_path, mnist_dir, "x"), f"--root_log_dir={blocker / 'logs'}"])
    assert result.returncode == 1
    assert f"--root_log_dir={blocker / 'logs'} is not a writable directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_resume_value_is_refused(tmp_path, mnist_dir):
    result = run([*command(tmp_path, mnist_dir, "x"), "--resume=lastest"])
    assert result.returncode != 0
    assert "--resume must be auto, latest, never, or an existing checkpoint" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_epochs_record_is_written_before_its_last_update_is_saved(tmp_path):
    """A process killed between the two then resumes from the checkpoint before: no gap in metrics.jsonl."""
    from conftest import make_run

    run = make_run(tmp_path, snapshot_interval=2, max_epoch=2, updates_per_epoch=2)
    records_at_save = {}
    save = run.checkpoint.save

    def recording_save(step: int) -> str:
        lines = (run.log_dir / "metrics.jsonl").read_text().splitlines()
        records_at_save[step] = [json.loads(line)["step"] for line in lines]
        return save(step)

    run.checkpoint.save = recording_save
    run.start()
    run.train()
    assert records_at_save == {2: [2], 4: [2, 4]}


def signal_when_printed(cmd, printed, signum, env=None, tmp_path=None):
    """Start ``cmd``, send ``signum`` as soon as it prints a line containing ``printed``; its code and stderr."""
    env = dict(env or os.environ, PYTHONUNBUFFERED="1")  # each line as it is printed
    with open(tmp_path / "stderr.txt", "w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd=REPO, env=env)
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if printed in line:
                proc.send_signal(signum)
                break
        proc.stdout.read()
        proc.wait(timeout=300)
        err.seek(0)
        assert any(printed in line for line in seen), "".join(seen)[-3000:] + err.read()[-3000:]
        err.seek(0)
        return proc.returncode, err.read()


def test_a_sigterm_while_the_restarts_are_scored_is_one_line_and_the_rerun_chooses(tmp_path, mnist_dir):
    """The signal lands as candidate 0's checkpoint of the selection update is read to score it."""
    restarts = ["--restarts=2", "--restart_select_at=10", "--restart_criterion=category_entropy"]
    cmd = command(tmp_path, mnist_dir, "e", *restarts)
    selected = str(tmp_path / "ckt" / "e" / "e-10")
    code, err = signal_when_printed(cmd, f"Model saved in file: {selected}", signal.SIGTERM, tmp_path=tmp_path)
    assert code == 128 + signal.SIGTERM, err[-3000:]
    assert "Traceback" not in err and "could not be found" not in err, err[-3000:]
    assert len([line for line in err.splitlines() if "stopped by SIGTERM" in line]) == 1, err[-3000:]
    assert not (tmp_path / "logs" / "e" / "restarts.json").exists()
    again = run(cmd)
    assert again.returncode == 0, again.stderr[-3000:]
    chosen = json.loads((tmp_path / "logs" / "e" / "restarts.json").read_text())
    assert [c["run"] for c in chosen["candidates"]] == ["e", "e_seed1000"]


def assert_one_line_or_nothing(code, err):
    """A SIGTERM as the work ends: exit 143 with one line saying so, or exit 0 (it had already finished)."""
    assert code in (0, 128 + signal.SIGTERM), err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    lines = [line for line in err.splitlines() if "stopped by SIGTERM" in line]
    assert len(lines) == (code != 0), err[-3000:]


def test_a_sigterm_as_the_evaluation_ends_is_one_line_or_nothing_and_leaves_its_results_whole(
    tmp_path, mnist_dir, tiny_classifier_cache
):
    """Signalled as it prints its results: before or after they count as complete, it says so in one line (or it
    has already exited); it is never killed without a word in the interpreter's teardown."""
    env, _ = tiny_classifier_cache
    trained = run(command(tmp_path, mnist_dir, "done"))
    assert trained.returncode == 0, trained.stderr[-3000:]
    evaluate = [
        sys.executable,
        str(REPO / "launchers" / "evaluate.py"),
        f"--data_dir={mnist_dir}",
        f"--root_log_dir={tmp_path / 'logs'}",
        f"--root_checkpoint_dir={tmp_path / 'ckt'}",
        "--exp_name=done",
        "--eval_samples=300",
    ]
    code, err = signal_when_printed(evaluate, "Figures: ", signal.SIGTERM, env=env, tmp_path=tmp_path)
    assert_one_line_or_nothing(code, err)
    results = json.loads((tmp_path / "logs" / "done" / "results.json").read_text())
    assert results["step"] == 60 and "unsupervised_error_hungarian" in results


def test_a_sigterm_as_training_and_its_evaluation_end_is_one_line_or_nothing_and_leaves_every_result_whole(
    tmp_path, mnist_dir, tiny_classifier_cache
):
    """The training command's own teardown: signalled as its evaluation prints, it is never killed without a word."""
    env, _ = tiny_classifier_cache
    cmd = [*command(tmp_path, mnist_dir, "t"), "--evaluate", "--eval_samples=300"]
    code, err = signal_when_printed(cmd, "Figures: ", signal.SIGTERM, env=env, tmp_path=tmp_path)
    assert_one_line_or_nothing(code, err)
    results = json.loads((tmp_path / "logs" / "t" / "results.json").read_text())
    assert results["step"] == 60 and "unsupervised_error_hungarian" in results
    assert (tmp_path / "ckt" / "t" / "t-60.index").exists()
    records = (tmp_path / "logs" / "t" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in records] == [10, 20, 30, 40, 50, 60]
