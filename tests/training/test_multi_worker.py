"""Multi-host training, run: two worker processes on 127.0.0.1 under
``MultiWorkerMirroredStrategy`` (``TF_CONFIG``, ``distribute="multi_worker"``) train the same
steps as one process (``tests/training/multi_worker_check.py``), with a checkpoint and a resume in
between; the chief writes the run, the other worker writes nothing there and leaves nothing
behind."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 600  # every process is killed past this (a worker waiting for a dead peer would hang)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for item in sockets:
            item.bind(("127.0.0.1", 0))
        return [item.getsockname()[1] for item in sockets]
    finally:
        for item in sockets:
            item.close()


def start(tmp_path: Path, name: str, tf_config: dict | None) -> tuple[subprocess.Popen, Path]:
    env = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    scratch = tmp_path / f"tmp_{name}"  # the worker's TMPDIR: its scratch run directory goes here
    scratch.mkdir()
    env.update(
        TMPDIR=str(scratch),
        PYTHONPATH=str(ROOT),
        TF_CPP_MIN_LOG_LEVEL="2",
        DUMP_STACKS_AFTER_S=str(DEADLINE_S - 30),  # a hung process's log shows where it waits
    )
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    runs = tmp_path / ("runs" if tf_config else "runs_one_process")
    log = open(tmp_path / f"{name}.log", "w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.training.multi_worker_check",
            str(runs),
            str(tmp_path / f"weights_{name}"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    return process, scratch


def relative_difference(a: dict, b: dict) -> float:
    return max(
        float(np.max(np.abs(a[key] - b[key])) / (np.max(np.abs(a[key])) + 1e-12)) for key in a if a[key].size
    )


def test_two_workers_train_as_one_process_and_resume_from_the_chiefs_checkpoint(tmp_path):
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    started = time.monotonic()
    processes = {
        f"worker{index}": start(
            tmp_path, f"worker{index}", {"cluster": cluster, "task": {"type": "worker", "index": index}}
        )
        for index in range(2)
    }
    processes["one"] = start(tmp_path, "one", None)
    try:
        for process, _ in processes.values():
            process.wait(timeout=max(1.0, DEADLINE_S - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        pass
    finally:
        for process, _ in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    elapsed = time.monotonic() - started
    for name, (process, _) in processes.items():
        log = (tmp_path / f"{name}.log").read_text()
        assert process.returncode == 0 and "DONE" in log, f"{name} (rc {process.returncode}):\n{log[-4000:]}"

    differences = {}
    for mode in ("conventional", "meta"):
        chief, other, one = (
            dict(np.load(tmp_path / f"weights_{name}" / f"{mode}.npz"))
            for name in ("worker0", "worker1", "one")
        )
        for key in chief:  # one all-reduced update on every worker
            np.testing.assert_array_equal(chief[key], other[key])
        differences[mode] = relative_difference(one, chief)
        assert differences[mode] < 1e-3, (
            differences
        )  # as the MirroredStrategy test: float32 sums in another order

        run = tmp_path / "runs" / mode  # written by the chief alone
        assert sorted(entry.name for entry in run.iterdir()) == [
            "checkpoints",
            "config.json",
            "history.csv",
            "logs",
            "model.keras",
        ]
        assert {"ckpt-1.index", "ckpt-2.index"} <= {entry.name for entry in (run / "checkpoints").iterdir()}
        invocations = json.loads((run / "config.json").read_text())["invocations"]
        resumed = [{}, {"epochs": 2}] if mode == "conventional" else [{}]  # a resume, not a restart
        assert [entry["changed"] for entry in invocations] == resumed
        assert all(entry["finished_utc"] for entry in invocations)
    left = [entry.name for entry in (tmp_path / "tmp_worker1").iterdir() if entry.name.startswith("lda_tf-")]
    assert left == []  # its scratch runs were removed
    print(f"relative weight difference from one process: {differences}; {elapsed:.0f} s")
