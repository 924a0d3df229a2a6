"""What an adversarial user does to a run: damage its files, run it twice, feed odd names and values, fill the disk.

Each case: the fault, the exit code or exception, the one line, and for the data-loss
cases every file that was there before is byte-identical afterwards (the run's lock file
aside: it names whoever holds the run now).
"""

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import tensorflow as tf
from conftest import REPO, make_run, run_command

from infogan_tf.checkpoints import CheckpointError, RunLock, found_checkpoints
from infogan_tf.data import DataError, read_idx

TINY = ["--batch_size=8", "--updates_per_epoch=2", "--max_epoch=1", "--noevaluate"]


def files(root):
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != "lock"}


def launcher(tmp_path, mnist_dir, *flags, script="run_mnist_exp.py", timeout=300):
    cmd = [
        sys.executable,
        str(REPO / "launchers" / script),
        f"--data_dir={mnist_dir}",
        f"--root_log_dir={tmp_path / 'logs'}",
        f"--root_checkpoint_dir={tmp_path / 'ckt'}",
        *flags,
    ]
    return run_command(cmd, timeout=timeout)


def one_line_error(result, expected: str, code: int = 1) -> None:
    assert result.returncode == code, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert expected in result.stderr, result.stderr[-2000:]


def trained(tmp_path, updates=4, **kwargs):
    run = make_run(tmp_path, max_epoch=1, updates_per_epoch=updates, snapshot_interval=2, **kwargs)
    run.start()
    run.train()
    return run


# Data loss: the run forgets it exists.

INDEX_DAMAGE = {
    "deleted": None,
    "garbage": b"\x00\xffnot a checkpoint state",
    "empty": b"",
    "without timestamps": b'model_checkpoint_path: "experiment-4"\nall_model_checkpoint_paths: "experiment-4"\n',
    "timestamps ahead of the clock": (
        b'model_checkpoint_path: "experiment-4"\nall_model_checkpoint_paths: "experiment-2"\n'
        b'all_model_checkpoint_paths: "experiment-4"\nall_model_checkpoint_timestamps: 9999999999\n'
        b"all_model_checkpoint_timestamps: 9999999999\nlast_preserved_timestamp: 9999999999\n"
    ),
}


@pytest.mark.parametrize("damage", sorted(INDEX_DAMAGE))
def test_a_damaged_index_file_never_makes_a_run_forget_its_checkpoints(tmp_path, damage, capsys):
    trained(tmp_path)
    index = tmp_path / "ckt" / "checkpoint"
    index.unlink() if INDEX_DAMAGE[damage] is None else index.write_bytes(INDEX_DAMAGE[damage])
    checkpoint_files = {p: b for p, b in files(tmp_path / "ckt").items() if p.name.startswith("experiment-")}
    resumed = make_run(tmp_path, max_epoch=2, updates_per_epoch=4, snapshot_interval=100)
    assert resumed.start() == 4
    assert "rebuilt it from the 2 checkpoint(s) found: experiment-2, experiment-4" in capsys.readouterr().err
    resumed.train()
    records = [json.loads(line) for line in (tmp_path / "logs" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [4, 8]  # the first epoch's record is kept, not overwritten
    after = files(tmp_path / "ckt")
    assert all(after[p] == b for p, b in checkpoint_files.items())
    assert [os.path.basename(p) for p in found_checkpoints(tmp_path / "ckt")][:3] == [
        "experiment-8",
        "experiment-4",
        "experiment-2",
    ]


def test_resuming_from_a_directory_without_checkpoints_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="run.resume=.*empty holds no checkpoint"):
        make_run(tmp_path / "new").start(str(tmp_path / "empty"))
    assert not (tmp_path / "new" / "ckt" / "model.json").exists()


# Data loss: two processes on one run.


def test_a_second_process_on_a_run_is_refused_naming_the_holder(tmp_path, mnist_dir):
    first = launcher(tmp_path, mnist_dir, "--exp_name=run", *TINY)
    assert first.returncode == 0, first.stderr[-2000:]
    before = files(tmp_path)
    holder = RunLock(tmp_path / "ckt" / "run")
    holder.acquire()  # stands in for a process still training this run
    try:
        second = launcher(tmp_path, mnist_dir, "--exp_name=run", *TINY[:-2], "--max_epoch=2", "--noevaluate")
    finally:
        holder.release()
    one_line_error(second, f"is in use by process {os.getpid()} on ")
    assert files(tmp_path) == before
    third = launcher(tmp_path, mnist_dir, "--exp_name=run", *TINY[:-2], "--max_epoch=2", "--noevaluate")
    assert third.returncode == 0 and "Resumed from" in third.stdout  # released with its holder; never stale


def test_a_lock_left_by_a_killed_process_is_not_held(tmp_path):
    (tmp_path / "ckt").mkdir(parents=True)
    (tmp_path / "ckt" / "lock").write_text("process 999999 on elsewhere since long ago\n")
    run = make_run(tmp_path, max_epoch=1, updates_per_epoch=2)
    assert run.start() == 0
    assert str(os.getpid()) in (tmp_path / "ckt" / "lock").read_text()


# Data loss: names that escape their directories.


@pytest.mark.parametrize("name", ["../escape", ""])  # every other name: test_flag_checks.py
def test_a_run_name_that_is_not_a_plain_directory_name_is_refused(tmp_path, mnist_dir, name):
    result = launcher(tmp_path, mnist_dir, f"--exp_name={name}", *TINY)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "cannot name a run directory" in result.stderr or (name == "" and "exp_name" in result.stderr)
    assert not any(tmp_path.rglob("*checkpoint*")) and not (tmp_path.parent / "escape").exists()


# Data loss: a refused setup writes nothing.


def test_a_refused_setup_leaves_every_file_as_it_was(tmp_path, mnist_dir):
    first = launcher(tmp_path, mnist_dir, "--exp_name=run", *TINY)
    assert first.returncode == 0, first.stderr[-2000:]
    before = files(tmp_path)
    other = launcher(tmp_path, mnist_dir, "--exp_name=run", "--latent_spec=uniform:62,categorical:12:reg", *TINY)
    one_line_error(other, "come from a different setup")
    assert files(tmp_path) == before  # flags.txt included
    other_weights = launcher(tmp_path, mnist_dir, "--exp_name=run", "--preset=invariant", *TINY)
    one_line_error(other_weights, "update.invariance: checkpoint has None")
    assert "--resume=" in other_weights.stderr and files(tmp_path) == before
    (tmp_path / "ckt" / "run" / "run.json").unlink()
    before = files(tmp_path)
    missing = launcher(tmp_path, mnist_dir, "--exp_name=run", "--batch_size=16", *TINY[1:])
    one_line_error(missing, "holds checkpoints but no run.json")
    assert files(tmp_path) == before


def test_a_setup_refused_after_the_directory_checks_creates_no_folder(tmp_path, mnist_dir):
    result = launcher(tmp_path, mnist_dir, "--exp_name=x", "--strategy=mirrored", "--cpu_devices=2", "--batch_size=7")
    one_line_error(result, "--batch_size=7 does not split evenly over 2 replicas")
    assert sorted(tmp_path.iterdir()) == []
    (tmp_path / "afile").write_text("kept")
    under_a_file = launcher(tmp_path, mnist_dir, "--exp_name=x", f"--root_log_dir={tmp_path / 'afile' / 'logs'}")
    one_line_error(under_a_file, "is a file); choose another")
    assert [p.name for p in tmp_path.iterdir()] == ["afile"] and (tmp_path / "afile").read_text() == "kept"


@pytest.mark.parametrize("port", ["abc", "0", "70000", ""])
def test_a_tf_config_address_without_a_usable_port_is_one_line(tmp_path, mnist_dir, port, monkeypatch):
    cluster = {"cluster": {"worker": [f"localhost:{port}"]}, "task": {"type": "worker", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster))
    result = launcher(tmp_path, mnist_dir, "--exp_name=x", "--strategy=multi_worker", *TINY)
    one_line_error(result, f"address 'localhost:{port}' needs host:port with a port from 1 to 65535")
    assert sorted(tmp_path.iterdir()) == []


def test_a_worker_whose_port_is_taken_is_one_line(tmp_path, mnist_dir, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("localhost", 0))
        taken.listen()
        address = f"localhost:{taken.getsockname()[1]}"
        cluster = {"cluster": {"worker": [address]}, "task": {"type": "worker", "index": 0}}
        monkeypatch.setenv("TF_CONFIG", json.dumps(cluster))
        result = launcher(tmp_path, mnist_dir, "--exp_name=x", "--strategy=multi_worker", *TINY)
    one_line_error(result, f"this worker could not start its server at {address} (Could not start gRPC server)")
    assert sorted(tmp_path.iterdir()) == []


def test_a_run_json_that_is_not_an_object_is_refused(tmp_path):
    trained(tmp_path)
    (tmp_path / "ckt" / "run.json").write_text("[8, 4, 0]")
    with pytest.raises(CheckpointError, match="holds a list, not a JSON object"):
        make_run(tmp_path, max_epoch=1, updates_per_epoch=4).start()


# Cannot resume.


def test_a_torn_metrics_line_is_dropped_and_the_run_resumes(tmp_path, capsys):
    trained(tmp_path)
    metrics = tmp_path / "logs" / "metrics.jsonl"
    metrics.write_bytes(metrics.read_bytes() + b'{"epoch": 1, "step": 8, "ms_per_upd')
    resumed = make_run(tmp_path, max_epoch=2, updates_per_epoch=4, snapshot_interval=100)
    resumed.start()
    resumed.train()
    assert [json.loads(line)["step"] for line in metrics.read_text().splitlines()] == [4, 8]
    assert "skipped unreadable line(s) [2]" in capsys.readouterr().err


def test_a_failed_save_is_cleaned_up_and_named(tmp_path):
    run = trained(tmp_path)
    run.start()

    def disk_full(checkpoint_number):
        (tmp_path / "ckt" / f"experiment-{checkpoint_number}_temp").mkdir()
        (tmp_path / "ckt" / f"experiment-{checkpoint_number}_temp" / "part-00000").write_bytes(b"x" * 1000)
        raise tf.errors.ResourceExhaustedError(None, None, "write failed: No space left on device")

    run.checkpoint.manager.save = disk_full
    with pytest.raises(
        CheckpointError, match=r"saving update 6 .* failed \(the disk is full\); .*experiment-4, is intact"
    ):
        run.checkpoint.save(6)
    assert not list((tmp_path / "ckt").glob("*_temp"))


def test_temporaries_of_a_failed_save_are_removed_at_start(tmp_path, capsys):
    trained(tmp_path)
    (tmp_path / "ckt" / "experiment-6_temp").mkdir()
    (tmp_path / "ckt" / "keep_temp").mkdir()  # not TF's pattern: not ours to delete
    make_run(tmp_path, max_epoch=2, updates_per_epoch=4).start()
    assert not (tmp_path / "ckt" / "experiment-6_temp").exists() and (tmp_path / "ckt" / "keep_temp").exists()
    assert "left by a save that failed" in capsys.readouterr().err


def test_a_real_full_disk_keeps_the_previous_checkpoint(tmp_path, mnist_dir):
    """On a 250 MB tmpfs: the first checkpoint (160 MB with both Adam states) fits, the second does not."""
    disk = tmp_path / "small"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=250m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip(
            "cannot mount a small tmpfs here (needs root); test_a_failed_save_is_cleaned_up_and_named covers it"
        )
    try:
        args = [f"--root_checkpoint_dir={disk}", "--exp_name=full", "--snapshot_interval=1", *TINY]
        result = launcher(tmp_path, mnist_dir, *args)
        one_line_error(result, "failed (the disk is full)")
        assert [os.path.basename(p) for p in found_checkpoints(disk / "full")] == ["full-1"]
        assert not list((disk / "full").glob("*_temp"))
    finally:
        subprocess.run(["umount", str(disk)], check=True)


# Tracebacks where one line is due.


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--seed=-1", "--seed"),
        ("--latent_spec=uniform:²,categorical:10:reg", "dimension '²' is not a positive integer"),
        ("--batch_size=60000", "--batch_size=60000 exceeds the 55000 training images of mnist"),
        ("--network_type=svhn", "the model cannot be built for mnist's images: the svhn network"),
        ("--invariance_fakes", "set --invariance_coeff > 0 too"),
        ("--preset=no_such_preset", "--preset"),
        ("--invariance_erase=28 --invariance_coeff=1", "smaller than the 28x28 images"),
        ("--invariance_erased_copies=1 --invariance_coeff=1", "set erase too"),
        ("--invariance_erased_copies=2 --invariance_coeff=1 --invariance_erase=8", "erases 0 to 1 of its copies"),
    ],
)
def test_bad_values_are_one_line(tmp_path, mnist_dir, flag, message):
    """Refused as the command runs: by the flags' validators (a few; the rest in test_flag_checks.py), the config,
    the data or the model."""
    result = launcher(tmp_path, mnist_dir, "--exp_name=x", *TINY, *flag.split())
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert message in result.stderr
    assert not (tmp_path / "ckt" / "x").exists()


def test_wide_codes_train_and_get_a_grid_per_dimension(tmp_path):
    spec = "uniform:8,gaussian:2:reg,bernoulli:3:reg,uniform:2:reg:fix_std"
    trained(tmp_path, updates=2, latent_spec=spec)
    names = sorted(p.name for p in (tmp_path / "logs" / "images").glob("*.png"))
    assert len(names) == 2 + 3 + 2 and "image_1_Bernoulli_2_epoch_000.png" in names


def test_a_labels_file_without_dimensions_is_refused(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 0]) + bytes(5)))
    with pytest.raises(DataError, match="declares no dimensions"):
        read_idx(path)


def test_a_run_directory_that_is_a_file_is_one_line(tmp_path, mnist_dir):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "x").write_text("not a directory")
    result = launcher(tmp_path, mnist_dir, "--exp_name=x", *TINY)
    one_line_error(result, "the run's log directory=")


@pytest.mark.parametrize("kind", ["directory", "garbage", "bad json"])
def test_an_unusable_classifier_cache_is_refused_before_training(tmp_path, mnist_dir, kind):
    path = tmp_path / "cache" / "mnist_classifier.keras"
    path.parent.mkdir()
    if kind == "directory":
        path.mkdir()
    else:
        path.write_bytes(b"garbage" if kind == "garbage" else (REPO / "README.md").read_bytes()[:100])
        path.with_suffix(".json").write_text("{not json" if kind == "bad json" else '{"test_accuracy": 0.9}')
    result = launcher(tmp_path, mnist_dir, "--exp_name=x", f"--classifier_path={path}", *TINY[:-1])
    one_line_error(result, "--classifier_path" if kind == "directory" else "is unreadable")
    assert not (tmp_path / "ckt" / "x").exists()  # refused before anything was trained


def test_evaluating_what_is_not_a_run_fails_before_the_classifier(tmp_path, mnist_dir):
    (tmp_path / "ckt" / "x").mkdir(parents=True)
    started = time.perf_counter()
    result = launcher(
        tmp_path, mnist_dir, "--exp_name=x", "--classifier_path=/nonexistent/c.keras", script="evaluate.py"
    )
    one_line_error(result, "has no model.json")
    assert time.perf_counter() - started < 60  # no classifier was trained first


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_start_up_is_one_line(tmp_path, mnist_dir, signum):
    cmd = [sys.executable, str(REPO / "launchers" / "run_mnist_exp.py"), f"--data_dir={mnist_dir}", *TINY]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    time.sleep(1.0)  # inside TensorFlow's import
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, err[-2000:]
    assert "Traceback" not in err and f"stopped by {signal.Signals(signum).name} outside training" in err


# Wrong or misleading.


def test_help_lists_the_flags():
    result = run_command([sys.executable, str(REPO / "launchers" / "run_mnist_exp.py"), "--help"], timeout=120)
    assert result.returncode in (0, 1)  # absl ends --help with 1
    for flag in ("--latent_spec", "--info_reg_coeff", "--exp_name", "--layer_kit", "--resume"):
        assert flag in result.stdout, flag


def test_after_a_fallback_the_last_good_checkpoint_is_the_one_restored(tmp_path):
    """What the non-finite error names as the state to go back to: not the unreadable newest file."""
    first = trained(tmp_path)
    (data_file,) = tf.io.gfile.glob(first.checkpoint.latest + ".data-*")
    with open(data_file, "r+b") as f:
        f.truncate(100)
    run = make_run(tmp_path, max_epoch=2, updates_per_epoch=4, snapshot_interval=100)
    run.start()
    assert run.checkpoint.latest.endswith("experiment-2")


def test_an_empty_index_file_without_checkpoints_is_moved_aside(tmp_path, capsys):
    (tmp_path / "ckt").mkdir()
    (tmp_path / "ckt" / "checkpoint").write_bytes(b"")
    run = make_run(tmp_path, max_epoch=1, updates_per_epoch=2)
    assert run.start() == 0
    run.train()
    assert (tmp_path / "ckt" / "checkpoint.damaged").read_bytes() == b""
    assert run.checkpoint.latest.endswith("experiment-2") and "moved the unreadable" in capsys.readouterr().err
