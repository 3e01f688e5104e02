import glob
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from lda_tf.training.run import RunConfig, run_training

QUICK = dict(
    tasks="radial:20,radial:40",
    epochs=2,
    steps_per_epoch=2,
    max_images=4,
    crop=(16, 18),
    network=dict(num_phases=1),
    image_every=1,
)


def _tags(directory: Path) -> set[str]:
    tags = set()
    for path in glob.glob(str(directory / "**" / "events.out.tfevents.*"), recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    return tags


def test_run_writes_config_model_and_tensorboard_summaries(tmp_path):
    output = tmp_path / "run"
    run_training(RunConfig(output_dir=str(output), verbose=0, **QUICK))
    assert {p.name for p in output.iterdir()} >= {
        "config.json",
        "checkpoints",
        "logs",
        "history.csv",
        "model.keras",
    }
    config = (output / "config.json").read_text()
    assert '"git_commit"' in config and '"lda_tf_version"' in config and '"radial:20,radial:40"' in config
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


def test_existing_output_is_not_overwritten(tmp_path):
    output = tmp_path / "run"
    output.mkdir()
    (output / "results.csv").write_text("precious")
    with pytest.raises(FileExistsError, match="pass --overwrite"):
        run_training(RunConfig(output_dir=str(output), verbose=0, **QUICK))
    assert (output / "results.csv").read_text() == "precious"


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
    bad_task = subprocess.run(
        COMMAND + [f"--output_dir={tmp_path / 'b'}", "--tasks=spiral:10"], capture_output=True, text=True
    )
    assert bad_task.returncode == 2 and "unknown mask type 'spiral'" in bad_task.stderr
