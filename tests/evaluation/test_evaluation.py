"""Evaluation helpers, the figure, and the evaluate / reproduce binaries end to end (tiny runs)."""

import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from lda_tf import metrics
from lda_tf.data.sample import sample_dir
from lda_tf.data.tasks import Task
from lda_tf.evaluation import evaluate, reconstruct_all, summarize, zero_filling
from lda_tf.mri import MRIOperator, make_mask, simulate_kspace
from lda_tf.papers.figures import comparison_figure
from tests.training.helpers import images

TASK = Task("radial", 0.3)


def test_padded_batches_reconstruct_every_image_once():
    test_images = images("test", 5)
    recons = reconstruct_all(zero_filling, test_images, TASK, batch_size=2)
    mask = TASK.mask(test_images.shape[1:])
    expected = MRIOperator.create(simulate_kspace(test_images, mask), mask).zero_filled().numpy()
    np.testing.assert_allclose(recons, expected, atol=1e-6)


def test_rows_and_summary_use_the_metric_functions():
    test_images = images("test", 3)
    rows = evaluate(zero_filling, test_images, TASK, "zero_filling", batch_size=2)
    recons = reconstruct_all(zero_filling, test_images, TASK)
    assert (
        [row["image"] for row in rows] == [0, 1, 2]
        and rows[0]["task"] == "radial_30"
        and rows[0]["ratio"] == 30
    )
    psnr_values = [metrics.psnr(truth, recon) for truth, recon in zip(test_images, recons)]
    np.testing.assert_allclose([row["psnr"] for row in rows], psnr_values)
    (summary,) = summarize(rows)
    assert summary["images"] == 3 and summary["psnr_mean"] == pytest.approx(np.mean(psnr_values))
    assert summary["psnr_std"] == pytest.approx(np.std(psnr_values)) and summary["sigma_omega"] is None


def test_figure_is_written_and_checks_its_inputs(tmp_path):
    target = images("test", 1)[0]
    masks = {ratio: make_mask("radial", target.shape, ratio / 100, 0) for ratio in (10.0, 20.0)}
    recons = {"conventional": {10.0: target * 0.9, 20.0: target}, "meta": {10.0: target + 0.1, 20.0: target}}
    path = comparison_figure(target, recons, masks, tmp_path / "figure.png", title="test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="each ratio"):
        comparison_figure(target, {"meta": {10.0: target}}, masks, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def _run(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True)


def test_reproduce_smoke_profile_end_to_end(tmp_path):
    """Table 2 (meta training, adaptation, conventional per task, baselines) in the smoke profile;
    then evaluate.py on the adapted model, taking tasks and resolution from its run."""
    output = tmp_path / "tables"
    result = _run(
        "experiments/reproduce.py", "--table=2", "--profile=smoke", f"--output_dir={output}", "--verbose=0"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table_dir = output / "table2"
    for name in ("table2.md", "table2.csv", "figure2.png", "per_image.csv", "config.json"):
        assert (table_dir / name).is_file(), name
    assert "## Table 2" in result.stdout and "SMOKE profile" in result.stdout
    with open(table_dir / "per_image.csv") as handle:
        per_image = list(csv.DictReader(handle))
    assert len(per_image) == 3 * 4 * 20  # tasks x methods x test images
    with open(table_dir / "table2.csv") as handle:
        table = list(csv.DictReader(handle))
    assert [row["method"] for row in table[:4]] == ["zero_filling", "tv", "conventional", "meta"]
    assert float(table[3]["published_psnr_mean"]) == 26.3494 and 0 < float(table[3]["sigma_omega"]) < 1
    assert json.loads((table_dir / "config.json").read_text())["settings"]["profile"] == "smoke"
    for run in ("meta_t1", "adapt_t1_radial_15_radial_25_radial_35", "conventional_t1_radial_25"):
        assert (output / "runs" / run / "model.keras").is_file() and (output / "runs" / run / "logs").is_dir()

    evaluation = tmp_path / "evaluation"
    model = output / "runs" / "adapt_t1_radial_15_radial_25_radial_35" / "model.keras"
    result = _run(
        "experiments/evaluate.py", f"--model={model}", f"--output_dir={evaluation}", "--max_images=3"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(evaluation / "summary.csv") as handle:
        summary = list(csv.DictReader(handle))
    assert [row["ratio"] for row in summary] == ["15.0", "25.0", "35.0"] and summary[0]["method"] == "meta"
    recorded = json.loads((evaluation / "config.json").read_text())["settings"]
    assert recorded["resolved"]["downsample"] == 10 and recorded["model"] == str(model)
    again = _run("experiments/evaluate.py", f"--model={model}", f"--output_dir={evaluation}")
    assert again.returncode == 2 and "pass --overwrite" in again.stderr


def test_flag_errors_are_clear(tmp_path):
    t1_dataset = tmp_path / "brats_t1"  # a valid converted dataset whose protocol says T1
    shutil.copytree(sample_dir(), t1_dataset)
    manifest = json.loads((t1_dataset / "manifest.json").read_text())
    manifest.update(dataset="brats2018", protocol={"modality": "t1"})
    (t1_dataset / "manifest.json").write_text(json.dumps(manifest))
    checks = [
        (
            [
                "experiments/reproduce.py",
                "--table=3",
                f"--dataset_dir={t1_dataset}",
                f"--output_dir={tmp_path / 'o'}",
            ],
            2,
            "holds T1 images; Table 3 is T2",
        ),
        (
            ["experiments/reproduce.py", "--table=6", f"--output_dir={tmp_path}"],
            2,
            "--paper=meta` must be one of 'table1', 'table2', 'table3', 'table4', 'table5'; got 'table6'",
        ),
        (
            ["experiments/reproduce.py", "--brats_dir=/nonexistent", f"--output_dir={tmp_path}"],
            2,
            "BRATS_DIR /nonexistent is not a directory",
        ),
        (
            ["experiments/reproduce.py", f"--brats_dir={tmp_path}", f"--output_dir={tmp_path / 'o'}"],
            2,
            "not in the BraTS 2018 layout",
        ),
        (
            ["experiments/evaluate.py", "--model=zero_filling", f"--output_dir={tmp_path / 'e'}"],
            2,
            "--tasks is needed",
        ),
        (
            [
                "experiments/evaluate.py",
                "--model=tv",
                "--tv_weight=-1",
                "--tasks=radial:10",
                f"--output_dir={tmp_path / 'e'}",
            ],
            2,
            "--tv_weight must be a positive finite number; got -1",
        ),
        (
            [
                "experiments/evaluate.py",
                f"--model={tmp_path / 'missing.keras'}",
                "--tasks=radial:10",
                f"--output_dir={tmp_path / 'e'}",
            ],
            2,
            "missing.keras",
        ),
    ]
    for args, code, message in checks:
        result = _run(*args)
        assert result.returncode == code and message in result.stderr, (args, result.stderr[-1500:])
        assert "Traceback" not in result.stderr


def test_make_reproduce_without_brats_dir_fails_fast():
    result = subprocess.run(
        ["make", "reproduce-table1", "BRATS_DIR="], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "BRATS_DIR is not set" in result.stderr and "brats2018" in result.stderr
    missing = subprocess.run(
        ["make", "reproduce-table3", "BRATS_DIR=/nonexistent/brats"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode != 0 and "is not a directory" in missing.stderr


def test_make_reproduce_filters_tensorflow_start_up_noise_as_demo_does(tmp_path):
    commands = {}
    for target in ("demo", "reproduce-table1", "reproduce-lda"):
        result = subprocess.run(
            ["make", "-n", target, f"BRATS_DIR={tmp_path}"], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        (command,) = [
            line for line in result.stdout.replace("\\\n", " ").splitlines() if "reproduce.py" in line
        ]
        commands[target] = " ".join(command.split())
    for target, command in commands.items():
        assert "2>&1 | grep --line-buffered -v -E '^(WARNING: All log messages|[IWE][0-9]{4} " in command, (
            target
        )
