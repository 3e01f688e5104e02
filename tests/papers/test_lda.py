"""The LDA paper's experiments end to end in the smoke profile (tiny networks, 2 steps a stage),
sharing one output directory as users do: Table 1's 10 % and 50 % runs are reused by Figures 6
and 7. Numbers are not checked (they mean nothing after 2 steps); layout, files, reuse and the
descent of phi are. Tables 1 and Figure 7 run in `make test`; the rest are marked slow
(`make test-slow`)."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from lda_tf.papers.lda.reproduce import LDAReproduction
from lda_tf.papers.published import lda_values as published


@pytest.fixture(scope="module")
def output(tmp_path_factory):
    return tmp_path_factory.mktemp("lda")


def _run(experiment, output, **kwargs):
    return LDAReproduction(experiment, "smoke", str(output), verbose=0, log=lambda *_: None, **kwargs).run()


def _rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def test_table1_block_cs_prescribed_sampling(output):
    result = _run("table1", output)
    text = result.markdown
    assert "| ours | LDA |" in text and "| ours | initialization x0 |" in text
    assert "| published | LDA | 27.42 | 32.92 | 38.50 | 27,967 |" in text
    assert "not Set11" in text and "SMOKE profile" in text
    rows = _rows(result.per_image)
    assert len(rows) == 3 * 2 * 2  # ratios x methods x test images
    for ratio in (10, 25, 50):
        run = output / "runs" / f"block_r{ratio}_lda_d4_l2_K5"
        assert (run / "model.keras").is_file() and (run / "stages" / "phases_3.keras").is_file()
        assert (run / "stages" / "phases_5.keras").is_file() and (run / "logs").is_dir()
        assert json.loads((run / "config.json").read_text())["settings"]["data"]["ratio"] == ratio / 100
    recorded = json.loads((output / "lda_table1" / "config.json").read_text())
    assert recorded["settings"]["experiment"] == "table1" and "git_commit" in json.dumps(recorded)


def test_figure7_reuses_the_50_percent_run_and_phi_never_increases(output):
    model = output / "runs" / "block_r50_lda_d4_l2_K5" / "model.keras"
    stamp = model.stat().st_mtime
    result = _run("figure7", output)
    assert model.stat().st_mtime == stamp  # reused, not retrained
    assert "phi non-increasing: yes" in result.markdown
    assert "(Lyapunov, Lemma A4) rose in 0 iterations" in result.markdown
    assert result.figures[0].read_bytes()[:4] == b"\x89PNG"
    rows = _rows(result.per_image)
    assert len(rows) >= 6 and all(np.isfinite(float(row["psnr"])) for row in rows)


@pytest.mark.slow
def test_figure6_gd_agd_and_lda_versus_phases(output):
    result = _run("figure6", output)
    for label in ("LDA", "GD-Net", "AGD-Net"):
        assert f"| ours | {label} |" in result.markdown
    assert "K=3" in result.markdown and "K=5" in result.markdown
    assert (output / "runs" / "block_r10_agd_d4_l2_K5" / "model.keras").is_file()


@pytest.mark.slow
def test_table2_learned_sampling(output):
    result = _run("table2", output)
    assert (
        "jointly learned A" in result.markdown
        and "| published | AMP-Net | 29.45 | 35.90 | 229,254 |" in result.markdown
    )
    assert (output / "runs" / "learned_r30_lda_d4_l2_K5" / "model.keras").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("table, column", [("table4", "d=2"), ("table5", "l=1")])
def test_tables_4_and_5_network_complexity(output, table, column):
    result = _run(table, output)
    text = result.markdown
    assert column in text and "| ours | parameters |" in text and "| ours | time per image (s) |" in text
    parameters = {row["setting"]: int(row["parameters"]) for row in _rows(result.per_image)}
    # g's kernels 9 d + (l - 1) 9 d^2, eps0, and alpha, tau per phase (3 phases)
    expected = (
        {"2": 9 * 2 + 3 * 9 * 4 + 1 + 6, "4": 9 * 4 + 3 * 9 * 16 + 1 + 6}
        if table == "table4"
        else {"1": 9 * 4 + 1 + 6, "2": 9 * 4 + 9 * 16 + 1 + 6}
    )
    assert parameters == expected


@pytest.mark.slow
def test_table3_cs_mri_with_the_phase_curve(output):
    result = _run("table3", output)
    text = result.markdown
    assert "| ours | LDA |" in text and "| ours | Zero-filling |" in text and "| published | VN |" in text
    assert "embedded sample" in text and result.figures[0].is_file()
    methods = {row["method"] for row in _rows(result.per_image)}
    assert methods == {"zero_filling", "LDA K=3", "LDA K=5"}


def test_published_values_and_parameter_counts_agree_with_the_formula():
    # LDA's #Par (paper): 9 d + 3 * 9 d^2 kernels (complex: twice) + eps0 + 2 per phase.
    assert published(1, "params")["LDA"][""] == 9 * 32 + 3 * 9 * 32**2 + 1 + 2 * 15
    assert published(3, "params")["LDA"][""] == 2 * (9 * 32 + 3 * 9 * 32**2) + 1 + 2 * 11
    assert published(4, "params")["LDA"]["48"] == 9 * 48 + 3 * 9 * 48**2 + 1 + 2 * 7
    assert published(5, "psnr")["LDA"] == {"2": 25.83, "4": 26.79, "6": 26.95}


def test_binary_flag_errors(tmp_path):
    checks = [
        (["--paper=lda"], "--paper=lda needs --table=1..5 or --figure=6|7"),
        (["--paper=lda", "--table=1", "--figure=7"], "not both"),
        (["--paper=lda", "--table=1", f"--train_dir={tmp_path / 'missing'}"], "train_dir"),
        (["--paper=lda", "--table=3", "--brats_dir=/x"], "--brats_dir belongs to --paper=meta"),
        (["--figure=6"], "argument `--table/--figure of --paper=meta` must be one of 'table1'"),
        (["--train_dir=/x"], "--train_dir belongs to --paper=lda"),
    ]
    for args, message in checks:
        result = subprocess.run(
            [sys.executable, "experiments/reproduce.py", *args, f"--output_dir={tmp_path / 'o'}"],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr[-1500:])
        assert "Traceback" not in result.stderr
