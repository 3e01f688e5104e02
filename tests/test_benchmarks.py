"""The benchmark binary runs and reports what it promises (a tiny configuration; no timing asserted)."""

import csv
import json
import subprocess
import sys

TINY = ["--batch=2", "--size=16x18", "--repeats=1", "--warmup=1"]


def bench_model(*flags: str) -> list[dict]:
    """``benchmarks/bench_model.py`` run with ``flags``: its JSON lines (it must exit 0)."""
    result = subprocess.run(
        [sys.executable, "benchmarks/bench_model.py", *flags], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_bench_model_prints_one_json_line_per_measure_with_speedups(tmp_path):
    output = tmp_path / "bench.csv"
    lines = bench_model(
        *TINY,
        "--phases=1",
        "--policies=residual",
        "--measures=forward,meta_step",
        "--theta_steps=2",
        f"--csv={output}",
    )
    assert [(r["measure"], r["gradients"]) for r in lines] == [
        ("forward", "explicit"),
        ("meta_step", "explicit"),
        ("forward", "autodiff"),
        ("meta_step", "autodiff"),
    ]
    for line in lines:
        assert (
            line["median_s"] > 0
            and line["min_s"] <= line["median_s"] <= line["max_s"]
            and line["peak_memory_gib"] > 0
            and 0 < line["trace_s"] < line["first_s"]
            and line["theta_steps"] == 2
        )
    assert all("speedup_vs_autodiff" in r for r in lines if r["gradients"] == "explicit")
    with open(output) as handle:
        assert len(list(csv.DictReader(handle))) == 4


def test_bench_model_times_u_lda_with_and_without_per_phase_recomputation():
    lines = bench_model(
        *TINY,
        "--network=ulda",
        "--phases=2",
        "--num_layers=2",
        "--policies=elda",
        "--measures=conventional",
        "--gradients=explicit",
        "--recompute=false,true",
    )
    assert [(r["network"], r["recompute"], r["measure"]) for r in lines] == [
        ("ulda", "false", "conventional"),
        ("ulda", "true", "conventional"),
    ]


def test_bench_model_times_the_phases_unrolled_and_looped():
    lines = bench_model(
        *TINY,
        "--phases=2",
        "--policies=meta,release",
        "--measures=forward",
        "--gradients=explicit",
        "--loop_phases=false,true",
    )  # the release has its own phases: no looped configuration
    assert [(r["policy"], r["loop_phases"]) for r in lines] == [
        ("meta", False),
        ("meta", True),
        ("release", False),
    ]


def test_bench_model_times_each_graph_optimisation():
    lines = bench_model(
        *TINY,
        "--phases=1",
        "--policies=residual",
        "--measures=forward",
        "--gradients=explicit",
        "--function_folding=on,off",
        "--grappler_passes=all,lean",
    )  # each line reports the settings read back from its process's runtime
    assert [(r["function_folding"], r["grappler_passes"]) for r in lines] == [
        ("on", "all"),
        ("on", "lean"),
        ("off", "all"),
        ("off", "lean"),
    ]
    for flag in ("--function_folding", "--grappler_passes"):
        result = subprocess.run(
            [sys.executable, "benchmarks/bench_model.py", f"{flag}=no"], capture_output=True, text=True
        )
        assert result.returncode != 0 and flag in result.stderr


def test_bench_model_profiles_ops_by_type():
    """--profile_ops reports per-call milliseconds by op type: the convolutions of g and J_g^H and
    the FFTs of A and A^H must be among them, and no executor-internal event."""
    (line,) = bench_model(
        *TINY,
        "--repeats=2",
        "--phases=1",
        "--policies=residual",
        "--measures=forward",
        "--gradients=explicit",
        "--profile_ops",
    )
    ops = line["op_ms"]
    assert any(op.endswith("Conv2D") for op in ops) and any(op.endswith("Conv2DBackpropInput") for op in ops)
    assert {"FFT2D", "IFFT2D"} <= set(ops) and "Process" not in ops
    assert all(ms > 0 for ms in ops.values()) and sum(ops.values()) <= line["op_total_ms"] + 1e-9


def test_solve_past_phases_reports_descent_and_names_a_wrong_task_index(tmp_path):
    """benchmarks/convergence/solve_past_phases.py on a saved 2-phase network: every extra
    iteration is a descent step on phi (Algorithm 1), the JSON line covers the iterates run, and a
    task index the network lacks is an ``error: --task_index`` with exit status 2."""
    from tests.loa.helpers import four_task_batch, small_model

    network = small_model(num_phases=2)
    network(four_task_batch()[0])
    network.save(tmp_path / "model.keras")
    script = "benchmarks/convergence/solve_past_phases.py"
    common = [sys.executable, script, f"--model={tmp_path / 'model.keras'}", "--task=radial:20"]
    result = subprocess.run(
        [*common, "--task_index=1", "--downsample=4", "--images=2", "--iterations=5"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = [json.loads(row) for row in result.stdout.splitlines() if row.startswith("{")]
    assert (line["trained_phases"], line["iterations"], line["task_index"], line["images"]) == (2, 5, 1, 2)
    assert line["phi_increases"] == 0 and set(line["psnr_at"]) == {"1", "5"}
    assert line["psnr_min_after"] <= line["psnr_end"] <= line["psnr_max_after"]

    wrong = subprocess.run([*common, "--task_index=4"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "error: --task_index must be one of 0..3" in wrong.stderr
