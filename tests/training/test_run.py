"""A training run end to end (lda_tf.recipes.train, lda_tf.training.fit): outputs, resume after a
kill, and the settings checks of resume and reuse (issue 13 items 2-4)."""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from lda_tf.atomic import UnsafeOutputError
from lda_tf.recipes import SettingsMismatch, adaptation_config, meta_config, train
from lda_tf.training import fit as fit_module
from lda_tf.training.fit import NonFiniteWeights

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


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished two-epoch run (trained once; tests that change it work on copies)."""
    output = tmp_path_factory.mktemp("finished") / "run"
    assert train(meta_config(str(output), **QUICK)) == output / "model.keras"
    return output


def _copy(run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    return copy


def _record(run: Path) -> dict:
    return json.loads((run / "config.json").read_text())


def _tags(directory: Path) -> set[str]:
    tags = set()
    for path in glob.glob(str(directory / "**" / "events.out.tfevents.*"), recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    return tags


def test_run_writes_config_model_and_tensorboard_summaries(finished):
    output = finished
    assert {p.name for p in output.iterdir()} >= {
        "config.json",
        "checkpoints",
        "logs",
        "history.csv",
        "model.keras",
    }
    record = _record(output)
    assert {"git_commit", "lda_tf_version", "settings", "invocations"} <= set(record)
    assert record["settings"]["data"]["tasks"] == [
        {"mask_type": "radial", "ratio": 0.2, "seed": 0, "part": 0},
        {"mask_type": "radial", "ratio": 0.4, "seed": 0, "part": 0},
    ]
    assert record["invocations"][0]["finished_utc"] and record["invocations"][0]["changed"] == {}
    tags = _tags(output / "logs")
    for expected in [
        "epoch_loss",
        "epoch_train_loss",
        "epoch_penalty",
        "epoch_lambda",
        "epoch_delta",
        "epoch_criterion",
        "epoch_kappa_task0",
        "epoch_kappa_task1",
        "epoch_psnr_task0",
        "epoch_ssim_task1",
        "epoch_eps_phase1",
        "epoch_took_u_phase1",
        "epoch_line_search_failed_phase1",
        "step_sizes/alpha_phase1",
        "step_sizes/tau_phase1",
        "smoothing/eps0",
        "phases/active",
        "task_weights/kappa_task1",
        "images/zero_filled",
        "images/reconstruction",
        "images/error",
        "images/mask",
    ]:
        assert expected in tags, (expected, sorted(tags))
    network = keras.models.load_model(output / "model.keras")
    assert network.num_tasks == 2


def test_a_directory_that_is_not_a_run_is_never_replaced(tmp_path):
    output = tmp_path / "run"
    output.mkdir()
    (output / "results.csv").write_text("precious")
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="is not a run directory of lda_tf"):
            train(meta_config(str(output), overwrite=overwrite, **QUICK))
    assert [p.name for p in output.iterdir()] == ["results.csv"]
    assert (output / "results.csv").read_text() == "precious"


def test_resume_with_settings_that_change_the_training_is_refused(finished, tmp_path):
    run = _copy(finished, tmp_path)
    (run / "model.keras").unlink()  # as if killed after its last checkpoint: a resume
    before = (run / "config.json").read_bytes()
    changed = meta_config(str(run), **{**QUICK, "tasks": "radial:10", "downsample": 2, "learning_rate": 0.01})
    with pytest.raises(SettingsMismatch) as error:
        train(changed)
    message = str(error.value)
    for line in (
        "tasks: radial:20,radial:40 -> radial:10",
        "downsample: 1 -> 2",
        "learning_rate: 0.001 -> 0.01",
    ):
        assert line in message
    assert "another `output_dir`" in message and "`overwrite`" in message
    assert (run / "config.json").read_bytes() == before and not (run / "model.keras").exists()


def test_reuse_refuses_a_finished_run_trained_under_other_settings(finished, tmp_path):
    run = _copy(finished, tmp_path)
    stamp = (run / "model.keras").stat().st_mtime_ns
    with pytest.raises(SettingsMismatch, match="num_phases: 1 -> 3"):
        train(meta_config(str(run), **{**QUICK, "num_phases": 3}))
    assert train(meta_config(str(run), **{**QUICK, "verbose": 2})) == run / "model.keras"  # logging only
    assert (run / "model.keras").stat().st_mtime_ns == stamp  # reused, not retrained
    assert len(_record(run)["invocations"]) == 1


def test_more_epochs_extend_the_run_and_are_recorded(finished, tmp_path):
    run = _copy(finished, tmp_path)
    train(meta_config(str(run), **{**QUICK, "epochs": 3, "image_every": 5}))
    assert len((run / "history.csv").read_text().splitlines()) == 1 + 3
    record = _record(run)
    assert record["settings"]["epochs"] == 2  # stored once
    assert [invocation["changed"] for invocation in record["invocations"]] == [
        {},
        {"epochs": 3, "image_every": 5},
    ]
    assert all(invocation["finished_utc"] for invocation in record["invocations"])
    with pytest.raises(SettingsMismatch, match="epochs: 3 -> 2"):  # fewer epochs than it has trained
        train(meta_config(str(run), **QUICK))


def test_failed_validation_writes_nothing(tmp_path):
    output = tmp_path / "run"
    with pytest.raises(FileNotFoundError):
        train(meta_config(str(output), **{**QUICK, "dataset_dir": str(tmp_path / "missing")}))
    with pytest.raises(FileNotFoundError, match="no such model file"):
        train(adaptation_config(str(output), init_model=str(tmp_path / "none.keras"), verbose=0))
    (tmp_path / "file").write_text("")
    with pytest.raises(UnsafeOutputError, match="which is a file"):
        train(meta_config(str(tmp_path / "file" / "run"), **QUICK))
    assert not output.exists()


def test_a_start_that_failed_before_its_first_checkpoint_starts_afresh(finished, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(finished / "config.json", run / "config.json")  # a start under other settings ...
    (run / "logs").mkdir()  # ... that died before its first checkpoint
    train(meta_config(str(run), **{**QUICK, "epochs": 1, "seed": 1}))
    record = _record(run)
    assert record["settings"]["seed"] == 1 and len(record["invocations"]) == 1
    assert (run / "model.keras").is_file()


COMMAND = [
    sys.executable,
    "experiments/train_meta.py",
    "--tasks=radial:20,radial:40",
    "--epochs=5",
    "--steps_per_epoch=2",
    "--max_images=4",
    "--crop=16,18",
    "--num_phases=1",
    "--image_every=100",
]


def _final_weights(output: Path) -> list[np.ndarray]:
    return [np.array(w.numpy()) for w in keras.models.load_model(output / "model.keras").weights]


def test_killed_run_resumes_to_the_same_weights(tmp_path):
    uninterrupted, killed = tmp_path / "uninterrupted", tmp_path / "killed"
    assert subprocess.run(COMMAND + [f"--output_dir={uninterrupted}"], capture_output=True).returncode == 0
    process = subprocess.Popen(
        COMMAND + [f"--output_dir={killed}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 600
    while not (killed / "checkpoints" / "ckpt-2.index").exists():
        assert process.poll() is None and time.time() < deadline, "the run ended before it could be killed"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (killed / "model.keras").exists()
    resumed = subprocess.run(COMMAND + [f"--output_dir={killed}"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    for a, b in zip(_final_weights(uninterrupted), _final_weights(killed)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_command_line_errors_are_clear(tmp_path):
    adapt = [sys.executable, "experiments/adapt.py", f"--output_dir={tmp_path / 'a'}"]
    missing = subprocess.run(adapt, capture_output=True, text=True)
    assert missing.returncode == 1 and "--init_model must have a value" in missing.stderr
    absent = subprocess.run(
        adapt + [f"--init_model={tmp_path / 'none.keras'}"], capture_output=True, text=True
    )
    assert absent.returncode == 2 and "none.keras: no such model file" in absent.stderr
    assert "Traceback" not in absent.stderr
    two_tasks = subprocess.run(
        [
            sys.executable,
            "experiments/train_conventional.py",
            f"--output_dir={tmp_path / 'c'}",
            "--tasks=radial:10,radial:20",
        ],
        capture_output=True,
        text=True,
    )
    assert two_tasks.returncode == 2 and "conventional training takes exactly one task" in two_tasks.stderr
    assert not (tmp_path / "c").exists()
    bad_task = subprocess.run(
        COMMAND + [f"--output_dir={tmp_path / 'b'}", "--tasks=spiral:10"], capture_output=True, text=True
    )
    assert bad_task.returncode == 2 and "argument `mask_type` must be one of" in bad_task.stderr
    assert "got 'spiral'" in bad_task.stderr


def _snapshot(run: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(run)): path.read_bytes() for path in sorted(run.rglob("*")) if path.is_file()
    }


def test_a_failed_overwrite_leaves_the_old_run_intact(finished, tmp_path, monkeypatch):
    run = _copy(finished, tmp_path)
    before = _snapshot(run)

    def killed(*args):
        raise KeyboardInterrupt  # as if stopped during training

    monkeypatch.setattr(fit_module, "_fit", killed)
    with pytest.raises(KeyboardInterrupt):
        train(meta_config(str(run), **{**QUICK, "seed": 3, "overwrite": True}))
    assert _snapshot(run) == before
    assert [path.name for path in tmp_path.iterdir()] == ["run"]  # no staging left behind


def test_overwrite_replaces_the_run_only_when_the_new_one_is_complete(finished, tmp_path):
    run = _copy(finished, tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    stale = tmp_path / f".run.partial-{int(dead.stdout)}"  # a killed overwrite's staging
    shutil.copytree(finished, stale)
    (tmp_path / "notes.txt").write_text("mine")
    train(meta_config(str(run), **{**QUICK, "epochs": 1, "seed": 3, "overwrite": True}))
    record = _record(run)
    assert record["settings"]["seed"] == 3 and len(record["invocations"]) == 1
    assert len((run / "history.csv").read_text().splitlines()) == 1 + 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt", "run"]


def test_a_file_is_never_replaced_even_with_overwrite(tmp_path):
    output = tmp_path / "run"
    output.write_text("precious")
    with pytest.raises(UnsafeOutputError, match="is a file"):
        train(meta_config(str(output), **{**QUICK, "overwrite": True}))
    assert output.read_text() == "precious"


def test_non_finite_final_weights_never_write_a_model(finished, tmp_path, monkeypatch):
    run = tmp_path / "run"

    def diverged(trainer, *args):
        weight = trainer.network.trainable_weights[0]
        weight.assign(np.full(weight.shape, np.nan, weight.dtype))

    monkeypatch.setattr(fit_module, "_fit", diverged)
    with pytest.raises(NonFiniteWeights, match="non-finite values in weight"):
        train(meta_config(str(run), **QUICK))
    assert not (run / "model.keras").exists()
