"""The same command twice gives the same numbers (issue 20): each pair runs at once in two fresh
processes (one per core), and their outputs must be bit-identical."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run_twice(arguments: list[list[str]]) -> list[str]:
    processes = [
        subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in arguments
    ]
    outputs = [process.communicate() for process in processes]
    for process, (_, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-3000:]
    return [stdout for stdout, _ in outputs]


def test_training_steps_are_bit_identical_across_processes():
    """Meta (bilevel, second order) and conventional steps at 80x90, where TensorFlow's defaults
    gave a different meta update in each process (tests/training/determinism_check.py)."""
    check = "tests/training/determinism_check.py"
    first, second = (
        json.loads(line.removeprefix("RESULT "))
        for stdout in _run_twice([[check, "deterministic"]] * 2)
        for line in stdout.splitlines()
        if line.startswith("RESULT ")
    )
    assert first == second


def test_the_training_runs_graph_optimisation_changes_no_value():
    """The training runs' graph optimisation (lda_tf/runtime.py: TensorFlow's classic constant
    folding of function graphs off, Grappler's idle passes skipped) against TensorFlow's default
    (both on): the same meta (second-order) and conventional steps, bit for bit, and each process
    reports the settings it ran with."""
    check = "tests/training/determinism_check.py"
    tensorflow_default, training = (
        json.loads(line.removeprefix("RESULT "))
        for stdout in _run_twice(
            [[check, "deterministic", f"graph={name}"] for name in ("tensorflow", "training")]
        )
        for line in stdout.splitlines()
        if line.startswith("RESULT ")
    )
    assert tensorflow_default.pop("graph") == {"function_constant_folding": True, "all_grappler_passes": True}
    assert training.pop("graph") == {"function_constant_folding": False, "all_grappler_passes": False}
    assert tensorflow_default == training


@pytest.mark.slow
def test_release_training_is_bit_identical_across_processes(tmp_path):
    """The release row's training (tests/training/release_determinism_check.py) with TensorFlow's
    defaults otherwise (oneDNN on), where it differed before its kernel gradients were summed
    pairwise. Slow (about 2 minutes)."""
    check = "tests/training/release_determinism_check.py"
    runs = [[check, str(tmp_path / name)] for name in ("first", "second")]
    first, second = (
        line for stdout in _run_twice(runs) for line in stdout.splitlines() if line.startswith("RESULT ")
    )
    assert first == second


def test_reproduce_twice_gives_the_same_table(tmp_path):
    """``reproduce.py --profile=smoke`` twice: every test image's metrics and the table agree
    exactly (the timing note aside), and config.json records determinism."""
    outputs = [tmp_path / name for name in ("first", "second")]
    _run_twice(
        [
            [
                "experiments/reproduce.py",
                "--table=1",
                "--profile=smoke",
                f"--output_dir={output}",
                "--verbose=0",
            ]
            for output in outputs
        ]
    )
    first, second = (output / "table1" for output in outputs)
    for name in ("per_image.csv", "table1.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert json.loads((first / "config.json").read_text())["settings"]["deterministic"] is True
    run_config = json.loads((outputs[0] / "runs" / "meta_t1" / "config.json").read_text())
    assert run_config["settings"]["deterministic"] is True
