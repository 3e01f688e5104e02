"""``python -m lda_tf.info``: one screen with the configuration, the tasks with sigma(omega_i), the
parameter count and the run a model came from; a missing file is an error line, exit 2."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np

from lda_tf import UnrolledLOA
from lda_tf.atomic import save_model
from lda_tf.cnn import DnCn
from lda_tf.info import describe, main
from lda_tf.mri import MRISampling

ROOT = Path(__file__).resolve().parents[1]


def test_describe_counts_parameters_and_names_tasks_and_run(tmp_path):
    keras.utils.set_random_seed(0)
    network = UnrolledLOA(MRISampling(name="measurement"), num_phases=3, num_tasks=2, num_filters=2)
    network.omega.assign([-1.0, 2.0])
    network.set_active_phases(2)
    save_model(network, tmp_path / "run" / "model.keras")
    record = {
        "tool": "lda_tf.recipes (meta)",
        "settings": {
            "epochs": 4,
            "seed": 7,
            "data": {
                "dataset_dir": None,
                "tasks": [
                    {"mask_type": "radial", "ratio": 0.1, "seed": 0, "part": 0},
                    {"mask_type": "cartesian", "ratio": 0.3, "seed": 1, "part": 0},
                ],
            },
        },
        "lda_tf_version": "0.1.0",
        "git_commit": "abc1234",
        "created_utc": "2026-01-01T00:00:00+00:00",
        "invocations": [{"git_commit": "abc1234", "finished_utc": "2026-01-01T01:00:00+00:00"}],
    }
    (tmp_path / "run" / "config.json").write_text(json.dumps(record))
    screen = describe(tmp_path / "run" / "model.keras")
    print(screen)
    lines, screen = screen.splitlines(), " ".join(screen.split())  # wrapped lines joined
    # g: 3 complex 3x3 layers 1->2->2->2 channels (real and imaginary kernels), 3 phases x (alpha, tau), eps0
    theta = 2 * 9 * (1 * 2 + 2 * 2 + 2 * 2) + 3 * 2 + 1
    assert f"{theta + 2:,} trainable: theta {theta:,}" in screen and "omega 2 " in screen
    sigma = 1 / (1 + np.exp(-np.array([-1.0, 2.0])))
    assert f"0 radial:10 sigma(omega)={sigma[0]:.4g}; 1 cartesian:30:1 sigma(omega)={sigma[1]:.4g}" in screen
    assert "2 of 3 phases active" in screen and "alpha_t [" in screen
    assert "git commit abc1234" in screen and "last finished 2026-01-01T01:00:00+00:00" in screen
    assert "epochs 4, seed 7" in screen and "data the embedded sample" in screen
    assert len(lines) <= 25 and max(map(len, lines)) <= 100  # one screen


def test_missing_file_is_an_error_line(tmp_path, capsys):
    assert main([str(tmp_path / "none.keras")]) == 2
    assert "no such model file" in capsys.readouterr().err
    done = subprocess.run(
        [sys.executable, "-m", "lda_tf.info", str(tmp_path / "none.keras")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and "no such model file" in done.stderr and "Traceback" not in done.stderr


def test_describe_a_cnn_baseline(tmp_path):
    """A DnCn (lda_tf.cnn) has its sizes, its weight count and no learned scalars on the screen."""
    keras.utils.set_random_seed(0)
    network = DnCn(MRISampling(name="measurement"), num_cascades=2, num_layers=2, num_filters=3)
    save_model(network, tmp_path / "model.keras")
    screen = " ".join(describe(tmp_path / "model.keras").split())
    # per cascade: 3x3 convolutions 2 -> 3 -> 2 channels with biases
    weights = 2 * ((9 * 2 * 3 + 3) + (9 * 3 * 2 + 2))
    assert "DnCn, 2 of 2 phases active; num_cascades=2, num_layers=2, num_filters=3" in screen
    assert f"{weights:,} trainable" in screen and "learned none" in screen
