"""MultiWorkerMirroredStrategy: two worker processes on 127.0.0.1, the chief alone writing the run's files."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO

SCHEDULE = ["--max_epoch=8", "--updates_per_epoch=2", "--snapshot_interval=2", "--batch_size=8", "--noevaluate"]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_workers(data_dir: Path, out: Path, ports: list[int]) -> list[subprocess.Popen]:
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    workers = []
    for index in range(len(ports)):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        env["PYTHONUNBUFFERED"] = "1"  # each line in the log as it is printed
        command = [sys.executable, str(REPO / "launchers" / "run_mnist_exp.py"), f"--data_dir={data_dir}"]
        command += [f"--root_log_dir={out / 'logs'}", f"--root_checkpoint_dir={out / 'ckt'}", "--exp_name=mw"]
        command += ["--strategy=multi_worker", *SCHEDULE]
        with open(out / f"worker{index}.log", "a") as log:  # the child keeps its own copy of the descriptor
            workers.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env))
    return workers


def wait_for(condition, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the workers did not get there in time")
        time.sleep(0.1)


def finish(workers: list[subprocess.Popen], timeout: float = 600) -> list[int]:
    return [w.wait(timeout=timeout) for w in workers]


def steps_logged(out: Path) -> list[int]:
    lines = (out / "logs" / "mw" / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)["step"] for line in lines]


def checkpoints(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "ckt" / "mw").glob("*.index"))


def test_a_killed_worker_restarts_with_the_others_from_the_newest_checkpoint(mnist_dir, tmp_path):
    workers = start_workers(mnist_dir, tmp_path, free_ports(2))
    try:
        wait_for(lambda: "mw-4.index" in checkpoints(tmp_path) or any(w.poll() is not None for w in workers))
        assert all(w.poll() is None for w in workers), (tmp_path / "worker0.log").read_text()[-3000:]
        workers[1].send_signal(signal.SIGKILL)  # a machine lost mid-run; the chief is stuck in its collectives
        workers[0].send_signal(signal.SIGKILL)
        finish(workers)
    finally:
        for w in workers:
            w.kill()
    assert steps_logged(tmp_path)[-1] < 16
    workers = start_workers(mnist_dir, tmp_path, free_ports(2))  # the same command again
    assert finish(workers) == [0, 0], (tmp_path / "worker1.log").read_text()[-3000:]
    chief_log = (tmp_path / "worker0.log").read_text()
    assert "Resumed from" in chief_log and "Resumed from" in (tmp_path / "worker1.log").read_text()
    assert steps_logged(tmp_path) == [2, 4, 6, 8, 10, 12, 14, 16]  # no gap, no repeat
    assert "mw-16.index" in checkpoints(tmp_path)
    run_files = {p.name for p in (tmp_path / "ckt" / "mw").iterdir()}
    assert not [name for name in run_files if "scratch" in name]  # the other worker's copies were deleted
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["mw"]


def test_sigterm_on_one_worker_ends_all_of_them_with_one_checkpoint(mnist_dir, tmp_path):
    workers = start_workers(mnist_dir, tmp_path, free_ports(2))
    try:
        wait_for(lambda: "mw-2.index" in checkpoints(tmp_path) or any(w.poll() is not None for w in workers))
        workers[1].send_signal(signal.SIGTERM)
        codes = finish(workers, timeout=300)
    finally:
        for w in workers:
            w.kill()
    assert codes == [128 + signal.SIGTERM] * 2, (tmp_path / "worker0.log").read_text()[-3000:]
    chief_log = (tmp_path / "worker0.log").read_text()
    assert "at another worker" in chief_log
    stopped_at = int(chief_log.split("at another worker at update ")[1].split(";")[0])
    assert f"mw-{stopped_at}.index" in checkpoints(tmp_path)  # the state at the agreed update, saved once
    assert f"stopped by SIGTERM at update {stopped_at}" in (tmp_path / "worker1.log").read_text()
    assert stopped_at < 16


def test_a_sigterm_to_the_chief_as_the_run_ends_is_one_line_or_nothing_and_no_worker_hangs(mnist_dir, tmp_path):
    """Signalled as it logs the final checkpoint: each worker exits 0, or the chief says in one line that it stopped."""
    workers = start_workers(mnist_dir, tmp_path, free_ports(2))
    final = f"Model saved in file: {tmp_path / 'ckt' / 'mw' / 'mw-16'}"
    try:
        deadline = time.monotonic() + 300
        while final not in (tmp_path / "worker0.log").read_text() and workers[0].poll() is None:
            assert time.monotonic() < deadline, "the chief never saved its final checkpoint"
            time.sleep(0.005)
        workers[0].send_signal(signal.SIGTERM)
        codes = finish(workers, timeout=120)
    finally:
        for w in workers:
            w.kill()
    chief_log = (tmp_path / "worker0.log").read_text()
    assert codes[1] == 0, (tmp_path / "worker1.log").read_text()[-3000:]
    assert codes[0] in (0, 128 + signal.SIGTERM), chief_log[-3000:]
    assert "Traceback" not in chief_log, chief_log[-3000:]
    assert len([line for line in chief_log.splitlines() if "stopped by SIGTERM" in line]) == (codes[0] != 0)
    assert steps_logged(tmp_path) == [2, 4, 6, 8, 10, 12, 14, 16]
    assert "mw-16.index" in checkpoints(tmp_path)
