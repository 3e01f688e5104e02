"""The task-correlation recipe end to end: experiments/train_task_correlation.py trains, writes its
outputs (W in history.csv and TensorBoard), resumes and refuses other settings; the matrix model
with validation tasks other than the training tasks starts from a trained network."""

import csv
import glob
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from lda_tf.loa.task_specific import TaskSpecificUnrolled
from lda_tf.outputs import load_model
from lda_tf.recipes import SettingsMismatch, task_correlation_config, train

QUICK = dict(
    tasks="radial:20,radial:40",
    epochs=2,
    steps_per_epoch=2,
    max_images=4,
    crop=(16, 18),
    num_phases=1,
    image_every=1,
    verbose=0,
)
FLAGS = ["--tasks=radial:20,radial:40", "--epochs=2", "--steps_per_epoch=2", "--max_images=4"]
FLAGS += ["--crop=16,18", "--num_phases=1", "--image_every=1", "--verbose=0"]


def _binary(*arguments) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "experiments/train_task_correlation.py", *arguments], capture_output=True, text=True
    )


def _history(run: Path) -> list[dict]:
    with open(run / "history.csv") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def vector_run(tmp_path_factory) -> Path:
    """The binary's smoke run: the vector model, two epochs of two steps (trained once)."""
    output = tmp_path_factory.mktemp("vector") / "run"
    result = _binary(f"--output_dir={output}", *FLAGS)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"done: {output / 'model.keras'}" in result.stdout
    return output


def test_the_binary_trains_the_vector_model_and_logs_w(vector_run):
    settings = json.loads((vector_run / "config.json").read_text())["settings"]
    assert settings["recipe"] == "task_correlation" and settings["data"]["validation_tasks"] is None
    assert settings["task_correlation"] == {
        "model": "vector",
        "hypergradient": "lookahead",
        "theta_steps": 1,
        "virtual_learning_rate": 1e-3,
        "learning_rate": 1e-3,
        "penalty_weight": 1e-5,
    }
    history = _history(vector_run)
    assert len(history) == 2
    weights = np.array([[float(row[f"weight_task{i}"]) for i in range(2)] for row in history])
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(weights != 0.5)  # the logits moved
    tags = set()
    for path in glob.glob(str(vector_run / "logs" / "**" / "events.out.tfevents.*"), recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    for tag in (
        "task_correlation/W",
        "task_correlation/weight_task1",
        "epoch_weight_task0",
        "epoch_psnr_task1",
    ):
        assert tag in tags, (tag, sorted(tags))
    network = load_model(vector_run / "model.keras")
    assert network.num_tasks == 0 and not isinstance(network, TaskSpecificUnrolled)


def test_resume_extends_and_other_correlation_settings_are_refused(vector_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(vector_run, run)
    with pytest.raises(SettingsMismatch, match="correlation_hypergradient: lookahead -> first_order"):
        train(task_correlation_config(str(run), **QUICK, correlation_hypergradient="first_order"))
    train(task_correlation_config(str(run), **{**QUICK, "epochs": 3}))
    assert [row["epoch"] for row in _history(run)] == ["0", "1", "2"]


def test_matrix_model_on_other_validation_tasks_starts_from_a_trained_network(vector_run, tmp_path):
    init = vector_run / "model.keras"
    config = task_correlation_config(
        str(tmp_path / "matrix"),
        **{**QUICK, "epochs": 1, "tasks": "radial:20,radial:40,radial:30"},
        validation_tasks="radial:30,radial:25",
        correlation_model="matrix",
        init_model=str(init),
    )
    network = load_model(train(config))
    assert isinstance(network, TaskSpecificUnrolled) and network.num_tasks == 2
    history = _history(tmp_path / "matrix")
    columns = {f"weight_task{i}_val{j}" for i in range(3) for j in range(2)}
    assert columns <= set(history[0]) and "val_psnr_task1" in history[0]
    for j in range(2):
        assert sum(float(history[0][f"weight_task{i}_val{j}"]) for i in range(3)) == pytest.approx(1.0)
    # A matrix model's networks do not start a vector model.
    with pytest.raises(ValueError, match="holds 2 task-specific networks"):
        train(
            task_correlation_config(
                str(tmp_path / "vector"), **QUICK, init_model=str(tmp_path / "matrix" / "model.keras")
            )
        )


def test_flag_errors_name_the_flag(tmp_path):
    result = _binary(f"--output_dir={tmp_path / 'run'}", *FLAGS, "--correlation_virtual_learning_rate=0")
    assert (
        result.returncode == 2 and "error: --correlation_virtual_learning_rate must be > 0" in result.stderr
    )
    assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()
