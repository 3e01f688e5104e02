"""Time the unrolled network: forward, conventional train step, bilevel meta step (theta round and
omega step separately, and the whole Algorithm 2 step), with the naive formulation beside it.

    # The issue's reference configuration (batch 8, 160x180, 11 phases, l=3, d=4), both policies:
    python benchmarks/bench_model.py --policies=residual,meta
    # The cost of determinism (on by default in the library; with oneDNN's kernels off as well,
    # docs/reproducibility.md), forward, conventional and bilevel step:
    python benchmarks/bench_model.py --deterministic=false,true --onednn=default,false \
        --policies=meta --gradients=explicit --measures=forward,conventional,meta_step
    # Where the time goes: milliseconds per call by op type (TensorFlow's profiler), issue 19 goal 4:
    python benchmarks/bench_model.py --policies=residual --measures=forward --gradients=explicit --profile_ops
    # XLA on and off, CSV as well:
    python benchmarks/bench_model.py --xla=false,true --csv=benchmarks/results/model.csv
    # Scaling of time and memory in phases, image size and batch (CSV + PNG in benchmarks/results/):
    python benchmarks/bench_model.py --scaling
    # U-LDA at the paper's size (batch 2, 256x256, 15 phases, g 4 x 16 channels, 2 domains; the
    # conventional measure is one Step-1 step with the loss (3.2a)); the preset recomputes each
    # phase in the backward pass, --recompute=false,true times both:
    python benchmarks/bench_model.py --network=ulda --batch=2 --size=256x256 --phases=15 \
        --num_layers=4 --num_filters=16 --policies=elda --measures=forward,conventional --gradients=explicit

Every configuration runs in its own subprocess (so that its peak memory is its own), builds the
network and data, runs each measured function ``--warmup`` times (tracing and first runs, not
timed), then ``--repeats`` times; it prints one JSON line per (configuration, measure) with the
median, min and max seconds, the Python tracing's (``trace_s``) and the first call's (``first_s``,
tracing included; the rest of it is TensorFlow's graph optimisation and first run), the peak resident
memory of the process (CPU) or the device's peak allocation (GPU), and, for the ``explicit``
formulation, the speed-up over the ``autodiff`` one
(``grad r_eps`` by autodiff through ``g`` instead of the explicit ``J_g^H``; see
``lda_tf.loa.objective``) measured in the same run.

Each measured function is compiled as Keras's ``fit`` and ``predict`` compile their steps, without
AutoGraph (before 2026-12-06 with it: ``trace_s`` then included 2-3 s of AutoGraph's conversion of
the bilevel step that ``fit`` does not do). ``--function_folding=on,off`` times each measure with
TensorFlow's classic constant folding of function graphs on and off (off by default, as in the
training binaries: :mod:`lda_tf.runtime`; benchmarks/README.md, issue 19 goal 3, "Fourth look");
``--grappler_passes=lean,all`` with Grappler's passes that change nothing in these graphs skipped
(the default, as in training) and run ("Fifth look"). ``--recompute`` times per-phase recomputation
(``UnrolledLOA(recompute_phases=...)``): each phase is run again in the backward pass instead of
keeping its intermediates. ``--loop_phases`` times the phases as one ``tf.while_loop``
(``UnrolledLOA(loop_phases=...)``, lda_tf/loa/phase_loop.py): one phase's graph for any number of
phases, which shortens tracing and the first call.

Measures: ``forward`` (``model(inputs)``: inference, each phase skips the evaluations no sample
needs, lda_tf/loa/phase.py), ``forward_training`` (``model(inputs, training=True)``: the same
values computed as training computes them, every candidate and gradient for the whole batch),
``conventional`` (one supervised Adam step on theta,
batch of B), ``meta_theta`` (one penalty evaluation (17) and the theta step), ``meta_omega`` (one
evaluation and the omega step), ``meta_step`` (``LOATrainer.train_step`` in meta mode: both, with
Algorithm 2's gating; ``--theta_steps`` K theta steps per round, 1 by default, the authors'
script's 5 with ``--theta_steps=5``). Meta measures use B/2 training + B/2 validation images (the
paper: 4 + 4).
"""

from __future__ import annotations

import collections
import csv
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS
MEASURES = ("forward", "forward_training", "conventional", "meta_theta", "meta_omega", "meta_step")
RESULTS = Path(__file__).resolve().parent / "results"
flags.DEFINE_list("batch", ["8"], "Batch sizes B (images per step; meta: B/2 train + B/2 val).")
flags.DEFINE_list("phases", ["11"], "Phase counts T.")
flags.DEFINE_list("size", ["160x180"], "Image sizes HxW.")
flags.DEFINE_list(
    "policies",
    ["residual", "meta"],
    "Phase policies (lda_tf.loa.phase.POLICIES), or release: the authors' TF1 script as it runs "
    "(lda_tf.loa.release.ReleaseUnrolled; explicit gradients only).",
)
flags.DEFINE_list("xla", ["false"], "jit_compile values to time (false, true).")
flags.DEFINE_list(
    "deterministic",
    ["true"],
    "Determinism values to time (true: the library's default, lda_tf/determinism.py; false: TensorFlow's).",
)
flags.DEFINE_list(
    "onednn",
    ["default"],
    "oneDNN kernels to time (default: TensorFlow's, on for x86 CPUs; false: off, TensorFlow's own "
    "kernels), passed to each configuration's process as TF_ENABLE_ONEDNN_OPTS.",
)
flags.DEFINE_list("measures", list(MEASURES), f"Which of {MEASURES}.")
flags.DEFINE_list(
    "gradients", ["explicit", "autodiff"], "grad r_eps formulations; explicit is the library's."
)
flags.DEFINE_integer("num_layers", 3, "l: convolutions in g.", lower_bound=1)
flags.DEFINE_integer("num_filters", 4, "d: kernels per convolution.", lower_bound=1)
flags.DEFINE_integer("repeats", 5, "Timed repeats per measure.", lower_bound=1)
flags.DEFINE_integer("warmup", 2, "Untimed runs first (tracing, allocation).", lower_bound=1)
flags.DEFINE_string("csv", None, "Also write the results to this CSV file.")
flags.DEFINE_bool("scaling", False, "Run the scaling sweeps and write CSV + PNG to benchmarks/results/.")
flags.DEFINE_list(
    "sweeps",
    ["phases", "size", "batch"],
    "With --scaling: which sweeps to (re)run; the CSV keeps the others' rows.",
)
flags.DEFINE_list(
    "recompute",
    ["preset"],
    "Per-phase recomputation (UnrolledLOA recompute_phases) to time: preset (the network's preset: "
    "off for meta, on for ulda), false, true.",
)
flags.DEFINE_list(
    "loop_phases",
    ["false"],
    "The phases as one tf.while_loop (UnrolledLOA loop_phases) to time: false, true. Not for the release.",
)
flags.DEFINE_list(
    "function_folding",
    ["off"],
    "TensorFlow's classic constant folding of function graphs (lda_tf/runtime.py) to time: off (the "
    "training binaries' default), on (TensorFlow's default).",
)
flags.DEFINE_list(
    "grappler_passes",
    ["lean"],
    "Grappler's passes (lda_tf/runtime.py) to time: lean (the idle ones skipped: the training binaries' "
    "default), all (TensorFlow's default).",
)
flags.DEFINE_enum(
    "network", "meta", ["meta", "ulda"], "meta: the meta paper's network; ulda: U-LDA with 2 domain groups."
)
flags.DEFINE_bool(
    "profile_ops",
    False,
    "After timing, run each measure --repeats more times under TensorFlow's profiler and add "
    "op_ms: milliseconds per call by op type (CPU executor threads; the 15 largest) and op_total_ms.",
)
flags.DEFINE_integer(
    "theta_steps",
    1,
    "K: theta steps per round of Algorithm 2 in meta_step (the authors' script: 5, with the omega "
    "step updating theta too).",
    lower_bound=1,
)
flags.DEFINE_string("config", None, "Internal: run one configuration (JSON) in this process.")


def _peak_memory_bytes(tf) -> int:
    if tf.config.list_logical_devices("GPU"):
        return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _time(function, warmup: int, repeats: int) -> dict:
    """Median, min and max of ``repeats`` timed calls of a ``tf.function`` after ``warmup`` untimed
    ones; ``trace_s``: its Python tracing alone, and ``first_s``: the first call, tracing included
    (the wait before anything trains; the rest is TensorFlow's graph optimisation and first run)."""
    start = time.perf_counter()
    function.get_concrete_function()
    trace = time.perf_counter() - start
    function()
    first = time.perf_counter() - start
    for _ in range(warmup - 1):
        function()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return {
        "median_s": float(np.median(seconds)),
        "min_s": float(min(seconds)),
        "max_s": float(max(seconds)),
        "trace_s": trace,
        "first_s": first,
    }


def _op_profile(tf, function, repeats: int, top: int = 15) -> dict:
    """Milliseconds per call of each op type, from the profiler's trace of ``repeats`` calls: the
    events ``name:Type`` on the executor's compute threads (``tf_Compute*``), summed over threads
    (which run concurrently, so the total exceeds the wall time)."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(repeats):
            function()
        tf.profiler.experimental.stop()
        (path,) = Path(logdir).rglob("*.xplane.pb")
        space = xplane_pb2.XSpace.FromString(path.read_bytes())
    by_type = collections.Counter()
    for plane in space.planes:
        metadata = plane.event_metadata
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = metadata[event.metadata_id].name
                if ":" in name and "::" not in name:  # "scope/op:OpType"; "Class::Method" are the executor's
                    by_type[name.rsplit(":", 1)[1]] += event.duration_ps
    per_call_ms = {op: ps / 1e9 / repeats for op, ps in by_type.most_common()}
    return {
        "op_total_ms": sum(per_call_ms.values()),
        "op_ms": dict(list(per_call_ms.items())[:top]),
    }


def run_configuration(config: dict) -> list[dict]:
    """Build and time one configuration in this process; one result per measure."""
    import keras
    import tensorflow as tf

    from lda_tf import runtime

    if not runtime.set_graph_optimization(
        config.get("function_folding", "off") == "on", config.get("grappler_passes", "lean") == "all"
    ):
        raise RuntimeError("--function_folding, --grappler_passes: TensorFlow's runtime started before")

    from lda_tf import UnrolledLOA, determinism
    from lda_tf.data import parse_tasks
    from lda_tf.loa.release import ReleaseUnrolled
    from lda_tf.mri import MRIInputs, MRISampling, simulate_kspace
    from lda_tf.mri.release import ReleaseSampling
    from lda_tf.training import LOATrainer
    from lda_tf.training.bilevel import BilevelConfig, penalty_objective

    determinism.configure(config["deterministic"], seed=0)
    batch, phases, (height, width) = config["batch"], config["phases"], config["size"]
    tasks = parse_tasks("radial:10,radial:20,radial:30,radial:40")
    rng = np.random.default_rng(0)
    target = tf.constant(rng.random((batch, height, width)).astype(np.float32))
    task_index = np.arange(batch) % len(tasks)
    masks = tf.constant(np.stack([tasks[i].mask((height, width)) for i in task_index]))
    inputs = MRIInputs(simulate_kspace(target, masks), masks, tf.constant(task_index, tf.int32))
    half = max(batch // 2, 1)
    split = lambda lo, hi: (MRIInputs(*(part[lo:hi] for part in inputs)), target[lo:hi])  # noqa: E731
    meta_data = {"train": split(0, half), "val": split(half, 2 * half) if batch > 1 else split(0, 1)}

    ulda = config.get("network") == "ulda"
    if ulda:  # two domain groups, samples alternating between them
        inputs = MRIInputs(inputs.kspace, inputs.mask, tf.constant(np.arange(batch) % 2, tf.int32))

    def network(num_tasks):
        if config["policy"] == "release":  # the authors' TF1 script as it runs (lda_tf.loa.release)
            return ReleaseUnrolled(
                ReleaseSampling(name="measurement"),
                num_phases=phases,
                num_tasks=len(tasks),
                num_layers=config["num_layers"],
                num_filters=config["num_filters"],
            )
        preset = UnrolledLOA.ulda_paper if ulda else UnrolledLOA.meta_paper
        return preset(
            MRISampling(name="measurement"),
            **({"num_domains": 2} if ulda else {"num_tasks": num_tasks}),
            num_phases=phases,
            num_layers=config["num_layers"],
            num_filters=config["num_filters"],
            policy=config["policy"],
            regularizer_gradient=config["gradients"],
            **(
                {} if config["recompute"] == "preset" else {"recompute_phases": config["recompute"] == "true"}
            ),
            loop_phases=config.get("loop_phases", False),
        )

    def trainer(mode):
        result = LOATrainer(
            network(0 if mode == "conventional" else len(tasks)),
            mode,
            BilevelConfig(
                delta0=0.0,
                delta_tol=0.0,
                theta_steps=config.get("theta_steps", 1),
                omega_step_updates_theta=config.get("theta_steps", 1) > 1,
            ),
            **({"loss": "mse_ssim"} if ulda else {}),
        )  # delta 0: every step applies
        result.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
        return result

    jit = config["xla"]

    def compiled(function):
        """As Keras's fit and predict compile their steps: no AutoGraph conversion."""
        return tf.function(function, jit_compile=jit, autograph=False)

    functions = {}
    if {"forward", "forward_training"} & set(config["measures"]):
        model = network(len(tasks))
    if "forward" in config["measures"]:
        functions["forward"] = compiled(lambda: model(inputs))
    if "forward_training" in config["measures"]:
        functions["forward_training"] = compiled(lambda: model(inputs, training=True))
    if "conventional" in config["measures"]:
        conventional = trainer("conventional")
        functions["conventional"] = compiled(lambda: conventional.train_step((inputs, target)))
    meta = trainer("meta") if {"meta_theta", "meta_omega", "meta_step"} & set(config["measures"]) else None

    def bilevel_half(group: str):
        """One penalty evaluation (17) and the step of one variable group (tf.function turns
        default arguments into inputs, hence this factory)."""
        variables = meta.network.theta_variables if group == "theta" else meta.network.omega_variables
        optimizer = meta.theta_optimizer if group == "theta" else meta.omega_optimizer

        def step():
            evaluation = penalty_objective(
                meta.batch_loss,
                meta_data["train"],
                meta_data["val"],
                meta.network.theta_variables,
                meta.network.omega_variables,
                meta.penalty_weight,
            )
            optimizer.apply(
                evaluation.theta_gradients if group == "theta" else evaluation.omega_gradients, variables
            )
            return evaluation.objective

        return compiled(step)

    for measure, group in (("meta_theta", "theta"), ("meta_omega", "omega")):
        if measure in config["measures"]:
            functions[measure] = bilevel_half(group)
    if "meta_step" in config["measures"]:
        functions["meta_step"] = compiled(lambda: meta.train_step(meta_data))

    graph = runtime.graph_optimization()  # read back from the runtime
    results = []
    for measure, function in functions.items():
        timing = _time(function, config["warmup"], config["repeats"])
        if config.get("profile_ops"):
            timing.update(_op_profile(tf, function, config["repeats"]))
        results.append(
            {
                **{k: v for k, v in config.items() if k != "measures"},
                "size": f"{height}x{width}",
                "measure": measure,
                **timing,
                "peak_memory_gib": _peak_memory_bytes(tf) / 2**30,
                "function_folding": "on" if graph.function_constant_folding else "off",
                "grappler_passes": "all" if graph.all_grappler_passes else "lean",
                "device": "GPU" if tf.config.list_logical_devices("GPU") else f"CPU ({os.cpu_count()} cores)",
            }
        )
    return results


def _booleans(values: list[str]) -> list[bool]:
    return [value.lower() in ("true", "1", "yes") for value in values]


def _configurations() -> list[dict]:
    sizes = [tuple(int(v) for v in size.split("x")) for size in FLAGS.size]
    xla, deterministic, loop_phases = (
        _booleans(values) for values in (FLAGS.xla, FLAGS.deterministic, FLAGS.loop_phases)
    )
    combos = itertools.product(
        [int(b) for b in FLAGS.batch],
        [int(t) for t in FLAGS.phases],
        sizes,
        FLAGS.policies,
        xla,
        FLAGS.gradients,
        deterministic,
        FLAGS.recompute,
        FLAGS.onednn,
        loop_phases,
        FLAGS.function_folding,
        FLAGS.grappler_passes,
    )
    return [
        dict(
            batch=b,
            phases=t,
            size=s,
            policy=p,
            xla=x,
            gradients=g,
            deterministic=d,
            recompute=r,
            onednn=i,
            loop_phases=loop,
            function_folding=folding,
            grappler_passes=passes,
            network=FLAGS.network,
            num_layers=FLAGS.num_layers,
            num_filters=FLAGS.num_filters,
            measures=FLAGS.measures,
            warmup=FLAGS.warmup,
            repeats=FLAGS.repeats,
            profile_ops=FLAGS.profile_ops,
            theta_steps=FLAGS.theta_steps,
        )
        for b, t, s, p, x, g, d, r, i, loop, folding, passes in combos
        # the release has its own, explicit, gradient and its own phases
        if not (p == "release" and (g == "autodiff" or loop))
    ]


def _run_in_subprocess(config: dict) -> list[dict]:
    command = [sys.executable, __file__, f"--config={json.dumps(config)}"]
    environment = dict(os.environ)
    environment.pop("TF_ENABLE_ONEDNN_OPTS", None)
    if config.get("onednn", "default") != "default":
        environment["TF_ENABLE_ONEDNN_OPTS"] = "1" if config["onednn"].lower() in ("true", "1") else "0"
    result = subprocess.run(command, capture_output=True, text=True, env=environment)
    if result.returncode != 0:
        raise RuntimeError(f"configuration {config} failed:\n{result.stderr[-3000:]}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def _add_speedups(results: list[dict]) -> None:
    """``speedup_vs_autodiff`` on each explicit result with an autodiff twin."""
    key = lambda r: (  # noqa: E731
        r["batch"],
        r["phases"],
        r["size"],
        r["policy"],
        r["xla"],
        r["deterministic"],
        r["recompute"],
        r.get("loop_phases", False),
        r.get("onednn", "default"),
        r.get("function_folding", "off"),
        r.get("grappler_passes", "lean"),
        r["measure"],
    )
    reference = {key(r): r["median_s"] for r in results if r["gradients"] == "autodiff"}
    for result in results:
        if result["gradients"] == "explicit" and key(result) in reference:
            result["speedup_vs_autodiff"] = reference[key(result)] / result["median_s"]


def _write_csv(results: list[dict], path: Path) -> None:
    fields = sorted(
        {name for result in results for name in result},
        key=lambda n: list(results[0]).index(n) if n in results[0] else 99,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(results)


def _scaling(previous: list[dict]) -> list[dict]:
    """Sweeps around the reference point (batch 8, 160x180, 11 phases, residual policy); rows of
    ``previous`` from sweeps not named in ``--sweeps`` are kept."""
    base = dict(
        batch=8,
        phases=11,
        size=(160, 180),
        policy="residual",
        xla=False,
        gradients="explicit",
        recompute="preset",
        loop_phases=False,
        num_layers=FLAGS.num_layers,
        num_filters=FLAGS.num_filters,
        measures=["forward", "meta_theta"],
        warmup=1,
        repeats=2,
    )
    sweeps = {
        "phases": [1, 3, 5, 7, 9, 11, 13, 15],
        "size": [(128, 128), (160, 180), (192, 192), (256, 256), (320, 320)],
        "batch": [1, 2, 4, 8, 16, 32],
    }
    results = [row for row in previous if row["sweep"] not in FLAGS.sweeps]
    for swept in FLAGS.sweeps:
        for value in sweeps[swept]:
            for result in _run_in_subprocess({**base, swept: value}):
                results.append({**result, "sweep": swept})
                print(json.dumps(results[-1]), flush=True)
    return results


def _parse_row(row: dict) -> dict:
    """A CSV row back to numbers where it holds them."""
    parsed = {}
    for key, value in row.items():
        try:
            parsed[key] = int(value)
        except ValueError:
            try:
                parsed[key] = float(value)
            except ValueError:
                parsed[key] = value
    return parsed


def _plot_scaling(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 3, figsize=(13, 7))
    for column, swept in enumerate(("phases", "size", "batch")):
        rows = [r for r in results if r["sweep"] == swept]
        for measure in ("forward", "meta_theta"):
            chosen = [r for r in rows if r["measure"] == measure]
            x = [
                int(np.prod([int(v) for v in r["size"].split("x")])) if swept == "size" else r[swept]
                for r in chosen
            ]
            axes[0, column].plot(x, [r["median_s"] for r in chosen], "o-", label=measure)
            axes[1, column].plot(x, [r["peak_memory_gib"] for r in chosen], "o-", label=measure)
        label = "pixels (H x W)" if swept == "size" else swept
        axes[0, column].set(xlabel=label, ylabel="seconds (median)", title=f"time vs {label}")
        axes[1, column].set(xlabel=label, ylabel="peak memory (GiB, process)", title=f"memory vs {label}")
        for axis in axes[:, column]:
            axis.grid(alpha=0.3)
            axis.legend(fontsize=8)
    figure.suptitle(
        f"residual policy, l={FLAGS.num_layers}, d={FLAGS.num_filters}; others at batch 8, "
        "160x180, 11 phases "
        f"({platform.processor() or platform.machine()}, {os.cpu_count()} cores)",
        fontsize=9,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main(argv):
    del argv
    if FLAGS.config:  # one configuration, in this (child) process
        for result in run_configuration(json.loads(FLAGS.config)):
            print(json.dumps(result), flush=True)
        return
    if FLAGS.scaling:
        previous = []
        if (RESULTS / "scaling_cpu.csv").is_file():
            with open(RESULTS / "scaling_cpu.csv", newline="") as handle:
                previous = [_parse_row(row) for row in csv.DictReader(handle)]
        results = _scaling(previous)
        _write_csv(results, RESULTS / "scaling_cpu.csv")
        _plot_scaling(results, RESULTS / "scaling_cpu.png")
        print(f"written: {RESULTS / 'scaling_cpu.csv'}, {RESULTS / 'scaling_cpu.png'}")
        return
    unknown = set(FLAGS.measures) - set(MEASURES)
    if unknown:
        raise app.UsageError(f"--measures: unknown {sorted(unknown)}; choose from {MEASURES}")
    for name, allowed in (("function_folding", ("on", "off")), ("grappler_passes", ("lean", "all"))):
        if set(FLAGS[name].value) - set(allowed):
            raise app.UsageError(f"--{name}: {FLAGS[name].value}; each value must be {' or '.join(allowed)}")
    results = []
    for config in _configurations():
        results += _run_in_subprocess(config)
    _add_speedups(results)
    for result in results:
        print(json.dumps(result), flush=True)
    if FLAGS.csv:
        _write_csv(results, Path(FLAGS.csv))


if __name__ == "__main__":
    app.run(main)
