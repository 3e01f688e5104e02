"""Peak memory and time of a training step with the tape's gradient against the adjoint gradient
(``LOATrainer(gradient="adjoint")``, :mod:`lda_tf.training.adjoint`): a conventional step and the
meta paper's bilevel step, at several phase counts and image sizes.

    # The issue's grid (meta paper network, meta policy, batch 8 = 4 + 4 for the bilevel step):
    python benchmarks/bench_adjoint.py --phases=11,15 --size=160x180,256x256
    # Also the tape through per-phase recomputation (UnrolledLOA(recompute_phases=True)):
    python benchmarks/bench_adjoint.py --gradients=tape,recompute,adjoint --size=160x180

Every (measure, gradient, phases, size) runs in its own subprocess, so that its peak memory is its
own: ``peak_memory_gib`` as in ``bench_model.py`` (the process's peak resident memory on CPU,
TensorFlow's runtime of about 0.7 GiB and the tracing included, or the GPU's peak allocation), and
``step_peak_gib``, the allocator's peak over the timed steps alone (TensorFlow's
``get_memory_info``, reset after the first call): the tensors a step holds at once. On CPU the
subprocesses run TensorFlow's BFC allocator (``TF_CPU_ALLOCATOR_USE_BFC=true``), the GPU's
allocator, which keeps these statistics (the default CPU allocator keeps none and reports 0); the
process's resident memory is no substitute, since freed memory stays resident. A configuration
that fails (e.g. killed for memory) is reported as such and the others still run. Each measured
function is traced and run once untimed (``trace_s`` is that first call), then timed
``--repeats`` times.

Measures: ``conventional`` (``LOATrainer.train_step`` in conventional mode, an Adam step on theta),
``meta_theta`` (one evaluation of the penalty objective (17) and the theta step: half of Algorithm
2's step, with its peak memory), ``meta_step`` (``LOATrainer.train_step`` in meta mode: a theta
round and an omega step, two evaluations). After the JSON lines it prints, per measure, phases and
size, the adjoint's time and memory relative to the tape's, and per gradient the memory added by
the extra phases next to what the stored phase states take.
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS
MEASURES = ("conventional", "meta_theta", "meta_step")
GRADIENTS = ("tape", "recompute", "adjoint")  # recompute: the tape through recompute_phases=True
flags.DEFINE_list("phases", ["11", "15"], "Phase counts T.")
flags.DEFINE_list("size", ["160x180", "256x256"], "Image sizes HxW.")
flags.DEFINE_integer("batch", 8, "Images per step (the bilevel step: half training, half validation).")
flags.DEFINE_list("measures", ["conventional", "meta_theta"], f"Which of {MEASURES}.")
flags.DEFINE_list("gradients", ["tape", "adjoint"], f"Which of {GRADIENTS}.")
flags.DEFINE_string("policy", "meta", "Phase policy (lda_tf.loa.phase.POLICIES).")
flags.DEFINE_integer("repeats", 2, "Timed repeats per measure.", lower_bound=1)
flags.DEFINE_bool("deterministic", True, "lda_tf.determinism (the library's default for training).")
flags.DEFINE_string("config", None, "Internal: run one configuration (JSON) in this process.")


def _peak_memory_bytes(tf) -> int:
    """The approach of bench_model.py: the GPU's peak allocation, else the process's peak RSS."""
    if tf.config.list_logical_devices("GPU"):
        return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _device(tf) -> str:
    return "GPU:0" if tf.config.list_logical_devices("GPU") else "CPU:0"


def run_configuration(config: dict) -> dict:
    """Build and time one (measure, gradient, phases, size) in this process."""
    import keras
    import tensorflow as tf

    from lda_tf import UnrolledLOA, determinism
    from lda_tf.data import parse_tasks
    from lda_tf.mri import MRIInputs, MRISampling, simulate_kspace
    from lda_tf.training import LOATrainer, adjoint
    from lda_tf.training.bilevel import BilevelConfig, penalty_objective

    determinism.configure(config["deterministic"], seed=0)
    batch, phases, (height, width) = config["batch"], config["phases"], config["size"]
    measure, gradient = config["measure"], config["gradient"]
    tasks = parse_tasks("radial:10,radial:20,radial:30,radial:40")
    rng = np.random.default_rng(0)
    target = tf.constant(rng.random((batch, height, width)).astype(np.float32))
    task_index = np.arange(batch) % len(tasks)
    masks = tf.constant(np.stack([tasks[i].mask((height, width)) for i in task_index]))
    inputs = MRIInputs(simulate_kspace(target, masks), masks, tf.constant(task_index, tf.int32))
    half = batch // 2
    split = lambda lo, hi: (MRIInputs(*(part[lo:hi] for part in inputs)), target[lo:hi])  # noqa: E731
    meta_data = {"train": split(0, half), "val": split(half, 2 * half)}

    conventional = measure == "conventional"
    network = UnrolledLOA.meta_paper(
        MRISampling(name="measurement"),
        num_tasks=0 if conventional else len(tasks),
        num_phases=phases,
        policy=config["policy"],
        recompute_phases=gradient == "recompute",
    )
    trainer = LOATrainer(
        network,
        "conventional" if conventional else "meta",
        BilevelConfig(delta0=0.0, delta_tol=0.0),  # delta 0: every step applies
        gradient="adjoint" if gradient == "adjoint" else "tape",
    )
    trainer.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))

    def meta_theta():
        theta, omega = network.theta_variables, network.omega_variables
        if gradient == "adjoint":
            evaluation = adjoint.penalty_objective(
                network, trainer.sample_loss, *meta_data.values(), theta, omega, trainer.penalty_weight
            )
        else:
            evaluation = penalty_objective(
                trainer.batch_loss, *meta_data.values(), theta, omega, trainer.penalty_weight
            )
        trainer.theta_optimizer.apply(evaluation.theta_gradients, theta)
        return evaluation.objective

    function = tf.function(
        {
            "conventional": lambda: trainer.train_step((inputs, target)),
            "meta_theta": meta_theta,
            "meta_step": lambda: trainer.train_step(meta_data),
        }[measure],
        jit_compile=False,
    )
    start = time.perf_counter()
    function()
    trace_s = time.perf_counter() - start
    tf.config.experimental.reset_memory_stats(_device(tf))  # from here: the steps' tensors only
    seconds = []
    for _ in range(config["repeats"]):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    # What the adjoint stores per phase: x, grad phi, x_{t-1} (complex64) and eps, phi ([B]).
    images = batch if conventional else half
    state_mib = images * height * width * 3 * 8 / 2**20
    return {
        **{k: v for k, v in config.items() if k != "size"},
        "size": f"{height}x{width}",
        "median_s": float(np.median(seconds)),
        "min_s": float(min(seconds)),
        "max_s": float(max(seconds)),
        "trace_s": trace_s,
        "peak_memory_gib": _peak_memory_bytes(tf) / 2**30,
        "step_peak_gib": tf.config.experimental.get_memory_info(_device(tf))["peak"] / 2**30,
        "state_mib_per_phase": state_mib,
        "device": "GPU" if tf.config.list_logical_devices("GPU") else f"CPU ({os.cpu_count()} cores)",
    }


def _run_in_subprocess(config: dict) -> dict:
    command = [sys.executable, __file__, f"--config={json.dumps(config)}"]
    environment = {**os.environ, "TF_CPU_ALLOCATOR_USE_BFC": "true"}  # memory statistics on CPU
    result = subprocess.run(command, capture_output=True, text=True, env=environment)
    if result.returncode != 0:  # e.g. killed for memory (-9): recorded, the other configurations run
        size = "x".join(str(v) for v in config["size"])
        reason = f"exit status {result.returncode}: {result.stderr.strip().splitlines()[-1:]}"
        return {**config, "size": size, "failed": reason}
    return next(json.loads(line) for line in result.stdout.splitlines() if line.startswith("{"))


def summarize(results: list[dict]) -> list[str]:
    """Adjoint (and recompute) against tape per (measure, phases, size); memory growth with T."""
    lines = [
        f"{r['measure']} {r['gradient']} T={r['phases']} {r['size']}: FAILED, {r['failed']}"
        for r in results
        if "failed" in r
    ]
    results = [r for r in results if "failed" not in r]
    key = lambda r: (r["measure"], r["phases"], r["size"])  # noqa: E731
    tape = {key(r): r for r in results if r["gradient"] == "tape"}
    for result in results:
        reference = tape.get(key(result))
        if result["gradient"] != "tape" and reference:
            lines.append(
                f"{result['measure']} T={result['phases']} {result['size']}: {result['gradient']} "
                f"{result['median_s']:.2f} s vs tape {reference['median_s']:.2f} s "
                f"({result['median_s'] / reference['median_s']:.2f}x), step peak "
                f"{result['step_peak_gib']:.2f} vs {reference['step_peak_gib']:.2f} GiB (process "
                f"{result['peak_memory_gib']:.2f} vs {reference['peak_memory_gib']:.2f} GiB)"
            )
    by_phases = {}
    for result in results:
        by_phases.setdefault((result["measure"], result["gradient"], result["size"]), {})[
            result["phases"]
        ] = result
    for (measure, gradient, size), runs in sorted(by_phases.items()):
        if len(runs) < 2:
            continue
        low, high = min(runs), max(runs)
        growth = (runs[high]["step_peak_gib"] - runs[low]["step_peak_gib"]) * 1024
        states = (high - low) * runs[high]["state_mib_per_phase"]
        lines.append(
            f"{measure} {gradient} {size}: T={low} -> {high} adds {growth:.0f} MiB to the step's peak "
            f"({growth / (high - low):.0f} MiB per phase; the added states: {states:.0f} MiB)"
        )
    return lines


def main(argv):
    del argv
    if FLAGS.config:  # one configuration, in this (child) process
        print(json.dumps(run_configuration(json.loads(FLAGS.config))), flush=True)
        return
    for name, values, allowed in (
        ("measures", FLAGS.measures, MEASURES),
        ("gradients", FLAGS.gradients, GRADIENTS),
    ):
        unknown = set(values) - set(allowed)
        if unknown:
            raise app.UsageError(f"--{name}: unknown {sorted(unknown)}; choose from {allowed}")
    sizes = [tuple(int(v) for v in size.split("x")) for size in FLAGS.size]
    results = []
    for size, phases, measure, gradient in itertools.product(
        sizes, [int(t) for t in FLAGS.phases], FLAGS.measures, FLAGS.gradients
    ):
        config = dict(
            measure=measure,
            gradient=gradient,
            phases=phases,
            size=size,
            batch=FLAGS.batch,
            policy=FLAGS.policy,
            repeats=FLAGS.repeats,
            deterministic=FLAGS.deterministic,
        )
        results.append(_run_in_subprocess(config))
        print(json.dumps(results[-1]), flush=True)
    for line in summarize(results):
        print(line)


if __name__ == "__main__":
    app.run(main)
