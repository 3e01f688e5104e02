"""The task-correlation experiment end to end in the smoke profile (experiments/reproduce.py
--paper=task_correlation): every run trains, the table holds every method on every seen and unseen
task, the learned W and the step costs are reported, the report says there are no published
numbers, and a second run reuses the trained runs. Numbers are not checked (2 steps per run); the
W readout is checked against a history.csv written here."""

import csv
import subprocess
import sys

import numpy as np
import pytest

from lda_tf.data import parse_tasks
from lda_tf.papers.registry import PAPERS
from lda_tf.papers.task_correlation import NO_PUBLISHED, learned_weights, weights_markdown


def test_learned_weights_read_the_last_epoch_of_history(tmp_path):
    (tmp_path / "history.csv").write_text(
        "epoch,loss,weight_task0_val0,weight_task0_val1,weight_task1_val0,weight_task1_val1\n"
        "0,1.0,0.5,0.5,0.5,0.5\n"
        "1,0.9,0.7,0.4,0.3,0.6\n"
    )
    np.testing.assert_array_equal(learned_weights(tmp_path), [[0.7, 0.4], [0.3, 0.6]])
    (tmp_path / "history.csv").write_text("epoch,weight_task0,weight_task1,weight_task2\n0,0.2,0.3,0.5\n")
    np.testing.assert_array_equal(learned_weights(tmp_path), [[0.2], [0.3], [0.5]])
    tasks = parse_tasks("radial:10,radial:20")
    assert "| radial_10 | 0.7000 | 0.4000 |" in weights_markdown(
        "W", np.array([[0.7, 0.4], [0.3, 0.6]]), tasks, tasks
    )


@pytest.mark.slow
def test_smoke_profile_end_to_end_and_reuse(tmp_path):
    assert "task_correlation" in PAPERS and set(PAPERS["task_correlation"].profiles) == {
        "paper",
        "quick",
        "smoke",
    }
    arguments = [
        sys.executable,
        "experiments/reproduce.py",
        "--paper=task_correlation",
        "--profile=smoke",
        f"--output_dir={tmp_path}",
        "--verbose=0",
    ]
    done = subprocess.run(arguments, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    folder = tmp_path / "task_correlation_table1"
    for name in ("table1.md", "table1.csv", "per_image.csv", "weights.png", "step_cost.csv", "config.json"):
        assert (folder / name).is_file(), name
    with open(folder / "table1.csv") as handle:
        table = list(csv.DictReader(handle))
    methods = {"zero_filling", "conventional", "uniform", "meta", "vector", "matrix"}
    by_task = {}
    for row in table:
        by_task.setdefault(row["task"], set()).add(row["method"])
    assert by_task == {task: methods for task in ("radial_10", "radial_40", "radial_25")}
    assert all(row["published_psnr_mean"] == "" for row in table)
    assert all((row["sigma_omega"] != "") == (row["method"] == "meta") for row in table)
    text = (folder / "table1.md").read_text()
    assert NO_PUBLISHED in text and "SMOKE profile" in done.stdout
    for title in ("vector, seen tasks", "matrix, seen tasks", "vector, unseen tasks", "matrix, unseen tasks"):
        assert f"Learned W: {title}" in text
    with open(folder / "step_cost.csv") as handle:
        costs = list(csv.DictReader(handle))
    assert [row["method"] for row in costs] == ["conventional", "uniform", "meta", "vector", "matrix"]
    assert all(float(row["seconds_per_step"]) > 0 and float(row["peak_rss_mib"]) > 0 for row in costs)
    runs = sorted(path.name for path in (tmp_path / "runs").iterdir())
    assert runs == sorted(
        [
            "uniform",
            "vector",
            "matrix",
            "meta",
            "adapt_meta",
            "uniform_unseen",
            "vector_unseen",
            "matrix_unseen",
        ]
        + [f"conventional_{task}" for task in ("radial_10", "radial_40", "radial_25")]
    )
    stamps = {run: (tmp_path / "runs" / run / "model.keras").stat().st_mtime_ns for run in runs}
    again = subprocess.run(arguments, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "training " not in again.stdout  # every run reused
    assert {run: (tmp_path / "runs" / run / "model.keras").stat().st_mtime_ns for run in runs} == stamps
