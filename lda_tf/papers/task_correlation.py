"""Task-correlation bilevel meta-learning (paper 004) as an experiment: the paper has none, so there
are no published numbers; this comparison is ours (docs/task_correlation.md).

One experiment, ``table1``, on the meta paper's tasks: the training tasks radial 10/20/30/40 %
(seen) and the unseen radial 15/25/35 % (with adaptation), five ways of training one unrolled
network (the meta paper's, ``kappa = 1`` where the method has no task weights):

============== =========================================== ==========================================
method         seen tasks                                  unseen tasks
============== =========================================== ==========================================
conventional   one network per task, on its own images     the same, per unseen task
uniform        one network, Algorithm 1 with ``w = 1/M``   continued on seen + unseen training tasks,
               (no step on the logits)                     uniform weights (the same data as vector)
meta           the meta paper's Algorithm 2 (penalty (17)) its adaptation: omega of the new tasks,
               with ``kappa = sigma(omega_i)``             theta frozen (5.4)
vector         Algorithm 1, ``w = softmax(c)``,            continued with the unseen tasks as the
               look-ahead hypergradient                    validation tasks, ``c`` over seen + unseen
matrix         Algorithm 1, one network ``theta_j`` per    a network per unseen task, all starting from
               task, ``W = softmax(C)`` columnwise         the vector model's, ``W`` over seen + unseen
============== =========================================== ==========================================

Reported: PSNR / SSIM / NMSE per task (mean +- std over the test images), sigma(omega_i) of the
meta row, the learned ``W`` of the four task-correlation runs (tables and a heatmap figure), and
the wall time per training step and peak memory of each method's step (measured in a fresh
process per method: :func:`step_cost`).

Decisions (docs/task_correlation.md):

- Adaptation of the vector and matrix models to an unseen task is Algorithm 1 itself: the unseen
  tasks become the validation tasks (the columns of ``W``), the training tasks are the seen and the
  unseen ones (``M = 7``), so the model learns how much each task's training data serves each
  unseen task; the matrix model's networks all start from the trained vector model (the seen-task
  matrix model has no network for an unseen ratio). The uniform row is continued on the same data
  with uniform weights, so the two differ only in the weights.
- Profiles: ``paper`` (the meta paper's budgets where it has them, 100 epochs of Algorithm 1,
  converted BraTS), ``quick`` (the embedded sample at 80x90, 3 phases, a few epochs: sized for a
  2-core CPU) and ``smoke`` (checks the chain; fewer tasks).

Output directory::

    runs/<run>/                     each training run (config, checkpoints, TensorBoard, model)
    task_correlation_table1/        config.json, per_image.csv, table1.{md,csv}, weights.png,
                                    step_cost.csv
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from lda_tf import outputs, recipes
from lda_tf.cli import PROJECT_ROOT
from lda_tf.comparison import ZERO_FILLING, Method, compare
from lda_tf.data import load_images, parse_tasks
from lda_tf.data.sample import sample_dir
from lda_tf.data.tasks import Task, format_tasks
from lda_tf.evaluation import network_reconstructor, summarize, write_rows
from lda_tf.papers import common
from lda_tf.papers.figures import plt, save_png
from lda_tf.papers.report import METHOD_LABELS, markdown, table_rows, write_table
from lda_tf.recipes import RunConfig

SEEN_TASKS = "radial:10,radial:20,radial:30,radial:40"
UNSEEN_TASKS = "radial:15,radial:25,radial:35"
NO_PUBLISHED = (
    "published values: none; paper 004 (Preprints.org 202504.2285) reports no experiment, so this "
    "comparison and its numbers are ours (docs/task_correlation.md)"
)
STEP_WHAT = {
    "conventional": "one Adam step on a batch of one task",
    "uniform": "Algorithm 1 without the logits' step: one theta step",
    "meta": "Algorithm 2, one round: K = 1 theta step and one omega step on (17), second order",
    "vector": "Algorithm 1: k = 1 theta step, then one look-ahead step on c",
    "matrix": "Algorithm 1 for N networks: k = 1 step on each theta_j, then one look-ahead step on C",
}
STEP_COST_FIELDS = ("method", "seconds_per_step", "first_step_seconds", "peak_rss_mib", "rss_increase_mib")


@dataclasses.dataclass(frozen=True)
class TaskCorrelationProfile(common.Profile):
    seen_tasks: str
    unseen_tasks: str
    downsample: int
    network: dict  # network settings of every trained run (by flat name)
    correlation: dict  # settings of the uniform, vector and matrix runs on the seen tasks
    meta: dict  # the meta paper's Algorithm 2
    conventional: dict  # per task
    adaptation: dict  # the meta network's adaptation to the unseen tasks
    unseen: dict  # the uniform, vector and matrix runs with the unseen tasks as validation tasks
    timed_steps: int  # steps timed per method (after the first, traced one)


PROFILES = common.Registry.of_profiles(
    TaskCorrelationProfile(
        "paper",
        seen_tasks=SEEN_TASKS,
        unseen_tasks=UNSEEN_TASKS,
        downsample=1,
        network={},
        correlation=dict(epochs=100),
        meta=dict(epochs=100),
        conventional=dict(epochs=2000, batch_size=25),
        adaptation=dict(epochs=50, max_images=100, batch_size=25),
        unseen=dict(epochs=50, max_images=100),
        timed_steps=10,
        description="paper profile: the meta paper's network (11 phases) and budgets (Algorithm 1 and 2: "
        "100 epochs at 1 + 1 images per task; conventional 2000 epochs at batch 25; adaptation 50 "
        "epochs on 100 images, Algorithm 1's adaptation likewise)",
    ),
    TaskCorrelationProfile(
        "quick",
        seen_tasks=SEEN_TASKS,
        unseen_tasks=UNSEEN_TASKS,
        downsample=2,
        network=dict(num_phases=3),
        correlation=dict(epochs=3, validation_every=3, checkpoint_every=3),
        meta=dict(epochs=3, validation_every=3, checkpoint_every=3),
        conventional=dict(epochs=10, batch_size=8, validation_every=10, checkpoint_every=10),
        adaptation=dict(epochs=2, max_images=100, batch_size=8),
        unseen=dict(epochs=1),
        timed_steps=3,
        description="QUICK profile, scaled down for a CPU: the embedded sample downsampled 2x (80x90), 3 "
        "phases instead of 11, Algorithms 1 and 2 3 epochs (180 steps of 1 + 1 images per task), "
        "conventional 10 epochs of batch 8 per task on train + val, adaptation 2 epochs (meta) and 1 "
        "epoch (Algorithm 1); numbers from so short a training compare the methods' starts only",
    ),
    TaskCorrelationProfile(
        "smoke",
        seen_tasks="radial:10,radial:40",
        unseen_tasks="radial:25",
        downsample=10,
        network=dict(num_phases=1),
        correlation=dict(epochs=1, steps_per_epoch=2, max_images=4),
        meta=dict(epochs=1, steps_per_epoch=2, max_images=4),
        conventional=dict(epochs=1, steps_per_epoch=2, batch_size=4, max_images=4),
        adaptation=dict(epochs=1, steps_per_epoch=2, batch_size=4, max_images=4),
        unseen=dict(epochs=1, steps_per_epoch=2, max_images=4),
        timed_steps=1,
        description="SMOKE profile: checks the whole chain (16x18 images, 1 phase, 2 steps per run, "
        "tasks radial 10/40 and unseen 25); its numbers mean nothing",
    ),
)


# ------------------------------------------------------------------------------------ step cost
def _memory_mib(field: str) -> float:
    """``VmRSS`` (resident memory now) or ``VmHWM`` (its peak) of this process, in MiB. (Not
    ``getrusage``'s ``ru_maxrss``: Linux keeps it across ``execve``, so a fresh process started by
    a large one reports its parent's peak.)"""
    with open("/proc/self/status") as handle:
        line = next(line for line in handle if line.startswith(f"{field}:"))
    return int(line.split()[1]) / 1024


def step_cost(config: RunConfig, steps: int) -> dict:
    """Wall time and memory of one training step of ``config``'s run, in this process: the recipe's
    network and trainer as :func:`lda_tf.training.fit.fit` builds them, one batch of its training
    data, the step traced and run once, then run ``steps`` times. Returns the median seconds per
    step, the first (tracing) step's seconds, the process's peak resident memory and its increase
    over the resident memory before the network was built (MiB)."""
    import tensorflow as tf

    from lda_tf import determinism, runtime
    from lda_tf.training.bilevel import BilevelConfig

    runtime.set_graph_optimization(config.function_constant_folding, config.all_grappler_passes)
    determinism.configure(config.deterministic, config.seed)
    recipe = recipes.RECIPES[config.recipe](config)
    batch = next(iter(recipe.datasets().train))
    before = _memory_mib("VmRSS")
    network = recipe.build_network()
    trainer = recipe.trainer_class(
        network,
        recipe.mode,
        config.bilevel or BilevelConfig(),
        magnitude_loss=network.features.complex_valued,
        **recipe.trainer_options(),
    )
    trainer.compile(*recipe.optimizers())
    step = tf.function(trainer.train_step, autograph=False)  # as fit compiles it
    start = time.perf_counter()
    float(step(batch)["loss"])
    first = time.perf_counter() - start
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        float(step(batch)["loss"])
        times.append(time.perf_counter() - start)
    peak = _memory_mib("VmHWM")
    return dict(
        seconds_per_step=float(np.median(times)) if times else first,
        first_step_seconds=first,
        peak_rss_mib=peak,
        rss_increase_mib=peak - before,
    )


def _step_cost_main() -> None:
    """``python -c`` entry of :func:`step_cost_in_subprocess`: settings JSON in ``argv[1]``."""
    request = json.loads(sys.argv[1])
    result = step_cost(RunConfig.from_dict(request["config"]), request["steps"])
    print("STEP_COST " + json.dumps(result))


def step_cost_in_subprocess(config: RunConfig, steps: int) -> dict:
    """:func:`step_cost` in a fresh Python process, so that its peak memory is this method's own."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(PROJECT_ROOT), environment.get("PYTHONPATH")])
    )
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    code = "from lda_tf.papers.task_correlation import _step_cost_main; _step_cost_main()"
    request = json.dumps({"config": config.to_dict(), "steps": steps})
    done = subprocess.run(
        [sys.executable, "-c", code, request],
        capture_output=True,
        text=True,
        env=environment,
        cwd=PROJECT_ROOT,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("STEP_COST ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the step-cost measurement of {config.output_dir} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix("STEP_COST "))


# ------------------------------------------------------------------------------------ W
def learned_weights(run: Path) -> np.ndarray:
    """The final ``W`` ``[M, K]`` of a task-correlation run, from the last row of its
    ``history.csv`` (``weight_task<i>`` or ``weight_task<i>_val<j>``)."""
    with open(run / "history.csv") as handle:
        last = list(csv.DictReader(handle))[-1]
    entries = {}
    for name, value in last.items():
        match = re.fullmatch(r"weight_task(\d+)(?:_val(\d+))?", name)
        if match:
            entries[int(match.group(1)), int(match.group(2) or 0)] = float(value)
    rows, columns = max(i for i, _ in entries) + 1, max(k for _, k in entries) + 1
    weights = np.zeros((rows, columns))
    for (i, k), value in entries.items():
        weights[i, k] = value
    return weights


def weights_markdown(title: str, weights: np.ndarray, train: list[Task], val: list[Task] | None) -> str:
    """``W`` as a Markdown table: rows the training tasks, columns the validation tasks (``w`` for
    the vector model's one column)."""
    header = [task.name for task in val] if val else ["w"]
    lines = [
        f"### {title}",
        "",
        "| training task | " + " | ".join(header) + " |",
        "|---|" + "---|" * len(header),
    ]
    for task, row in zip(train, weights):
        lines.append(f"| {task.name} | " + " | ".join(f"{value:.4f}" for value in row) + " |")
    return "\n".join(lines) + "\n"


def weights_figure(panels: list[tuple[str, np.ndarray, list[Task], list[Task] | None]], path: Path) -> Path:
    """One heatmap per run of ``W - 1/M`` (the learned weights against uniform ones; red: more
    weight), annotated with ``W``; rows: training tasks, columns: validation tasks."""
    figure, axes = plt.subplots(
        1, len(panels), figsize=(3.6 * len(panels), 3.8), squeeze=False, constrained_layout=True
    )
    for axis, (title, weights, train, val) in zip(axes[0], panels):
        deviation = weights - 1.0 / weights.shape[0]
        limit = max(float(np.abs(deviation).max()), 1e-4)
        image = axis.imshow(deviation, vmin=-limit, vmax=limit, cmap="RdBu_r", aspect="auto")
        axis.set_yticks(range(len(train)), [task.name for task in train], fontsize=7)
        columns = [task.name for task in val] if val else ["w"]
        axis.set_xticks(range(len(columns)), columns, fontsize=7, rotation=30)
        axis.set_title(title, fontsize=8)
        for (i, k), value in np.ndenumerate(weights):
            axis.text(k, i, f"{value:.3f}", ha="center", va="center", fontsize=6)
        figure.colorbar(image, ax=axis, shrink=0.8).ax.tick_params(labelsize=6)
    figure.suptitle("learned W = softmax(C) over the training tasks (colour: W - 1/M)", fontsize=9)
    return save_png(figure, path)


# ------------------------------------------------------------------------------------ the experiment
class TaskCorrelationReproduction(common.Reproduction):
    """``table1`` by one profile (:data:`PROFILES`) into ``output_dir`` (module docstring).

    Data: ``dataset_dir`` (a converted dataset, e.g. BraTS T1 by ``data_prep/brats.py``), else the
    embedded sample (MNI152 slices, labelled as such)."""

    paper = "task_correlation"
    description = "task-correlation bilevel meta-learning (004): our comparison, no published numbers"
    experiments = {"table1": "radial 10/20/30/40 % and unseen 15/25/35 % (adaptation)"}
    default_experiment = "table1"
    profiles = PROFILES
    data_options = ("dataset_dir",)

    def __init__(self, experiment: str, profile: str, output_dir: str, **options):
        super().__init__(experiment, profile, output_dir, **options)
        dataset_dir = self.data["dataset_dir"]
        if dataset_dir and not Path(dataset_dir).is_dir():
            raise FileNotFoundError(f"dataset_dir {dataset_dir} is not a directory")
        self.seen = parse_tasks(self.profile.seen_tasks)
        self.unseen = parse_tasks(self.profile.unseen_tasks)

    @property
    def result_folder(self) -> Path:
        return self.output / f"task_correlation_{self.experiment}"

    def data_source(self) -> tuple[str, str]:
        if self.data["dataset_dir"]:
            return self.data["dataset_dir"], f"converted dataset {self.data['dataset_dir']}"
        return str(sample_dir()), (
            "embedded sample: MNI152 template slices (one contrast, T1-weighted), NOT BraTS; "
            "60/30/20 train/val/test images"
        )

    # ------------------------------------------------------------------ runs
    def config(self, name: str, dataset_dir: str) -> RunConfig:
        """The settings of run ``name`` (see :meth:`run_names`) in ``runs/<name>``."""
        profile, seen, unseen = self.profile, self.profile.seen_tasks, self.profile.unseen_tasks
        common_settings = dict(
            dataset_dir=dataset_dir, downsample=profile.downsample, seed=self.seed, verbose=self.verbose
        )
        network = profile.network
        directory = str(self.runs / name)
        if name in ("uniform", "vector", "matrix"):
            return recipes.task_correlation_config(
                directory,
                tasks=seen,
                correlation_model="matrix" if name == "matrix" else "vector",
                correlation_hypergradient="none" if name == "uniform" else "lookahead",
                **profile.correlation,
                **network,
                **common_settings,
            )
        if name in ("uniform_unseen", "vector_unseen", "matrix_unseen"):
            method = name.removesuffix("_unseen")
            start = "uniform" if method == "uniform" else "vector"
            return recipes.task_correlation_config(
                directory,
                tasks=f"{seen},{unseen}",
                validation_tasks=unseen,
                init_model=str(self.runs / start / "model.keras"),
                correlation_model="matrix" if method == "matrix" else "vector",
                correlation_hypergradient="none" if method == "uniform" else "lookahead",
                **profile.unseen,
                **network,
                **common_settings,
            )
        if name == "meta":
            return recipes.meta_config(directory, tasks=seen, **profile.meta, **network, **common_settings)
        if name == "adapt_meta":
            return recipes.adaptation_config(
                directory,
                tasks=unseen,
                init_model=str(self.runs / "meta" / "model.keras"),
                **profile.adaptation,
                **common_settings,
            )
        task = name.removeprefix("conventional_")
        spec = next(t for t in self.seen + self.unseen if t.name == task)
        return recipes.conventional_config(
            directory, tasks=format_tasks([spec]), **profile.conventional, **network, **common_settings
        )

    def run_names(self) -> list[str]:
        """Every run, in training order (a run's init model is trained before it)."""
        conventional = [f"conventional_{task.name}" for task in self.seen + self.unseen]
        unseen = ["adapt_meta", "uniform_unseen", "vector_unseen", "matrix_unseen"]
        return ["uniform", "vector", "matrix", "meta", *conventional, *unseen]

    def train_run(self, name: str, dataset_dir: str):
        return outputs.load_model(self.train_or_reuse(name, lambda _: self.config(name, dataset_dir), name))

    # ------------------------------------------------------------------ evaluation
    def methods(self, networks: dict, tasks: list[Task], suffix: str) -> list[Method]:
        """The table's methods on ``tasks`` (``suffix``: the runs of the unseen tasks)."""
        conventional = {task: network_reconstructor(networks[f"conventional_{task.name}"]) for task in tasks}
        matrix = networks[f"matrix{suffix}"].members  # member j: validation task j (= tasks[j])
        by_task = {task: network_reconstructor(member) for task, member in zip(tasks, matrix)}
        meta = networks["adapt_meta" if suffix else "meta"]
        return [
            ZERO_FILLING,
            Method("conventional", conventional.get),
            Method.of_network("uniform", networks[f"uniform{suffix}"]),
            Method.of_network("meta", meta),
            Method.of_network("vector", networks[f"vector{suffix}"]),
            Method("matrix", by_task.get),
        ]

    def reproduce(self) -> common.Result:
        folder = self.folder
        dataset_dir, data_label = self.data_source()
        networks = {name: self.train_run(name, dataset_dir) for name in self.run_names()}
        test = load_images(dataset_dir, "test", downsample=self.profile.downsample)
        rows, weights = [], {}
        with self.timed("evaluation"):
            for tasks, suffix in ((self.seen, ""), (self.unseen, "_unseen")):
                block_rows, block_weights, _ = compare(self.methods(networks, tasks, suffix), test, tasks)
                rows += block_rows
                weights.update({key: value for key, value in block_weights.items() if key[1] == "meta"})
        per_image = self.write_per_image(rows)

        costs = []
        with self.timed("step cost"):
            for method, run in [("conventional", f"conventional_{self.seen[0].name}")] + [
                (name, name) for name in ("uniform", "meta", "vector", "matrix")
            ]:
                cost = step_cost_in_subprocess(self.config(run, dataset_dir), self.profile.timed_steps)
                costs.append({"method": method, **cost})
        write_rows(costs, folder / "step_cost.csv", STEP_COST_FIELDS)

        correlation_runs = [
            ("vector, seen tasks", "vector", self.seen, None),
            ("matrix, seen tasks", "matrix", self.seen, self.seen),
            ("vector, unseen tasks", "vector_unseen", self.seen + self.unseen, None),
            ("matrix, unseen tasks", "matrix_unseen", self.seen + self.unseen, self.unseen),
        ]
        panels = [
            (title, learned_weights(self.runs / run), train, val)
            for title, run, train, val in correlation_runs
        ]
        figure = weights_figure(panels, folder / "weights.png")

        notes = [
            f"data: {data_label}; {len(test)} test images per task",
            self.profile.description,
            "seen tasks "
            + ", ".join(t.name for t in self.seen)
            + "; unseen tasks "
            + ", ".join(t.name for t in self.unseen)
            + " (conventional: trained per unseen task; meta: omega adapted, theta frozen; uniform, vector, "
            "matrix: Algorithm 1 continued on seen + unseen training tasks with the unseen tasks as "
            "validation tasks)",
            NO_PUBLISHED,
            self.timing_note(),
        ]
        result_rows, texts = [], []
        for label, tasks in (("seen tasks", self.seen), ("unseen tasks, after adaptation", self.unseen)):
            names = [task.name for task in tasks]
            block_rows = table_rows(summarize([row for row in rows if row["task"] in names], weights), [])
            result_rows += block_rows
            title = f"Task-correlation bilevel meta-learning, {label}: {', '.join(names)}"
            texts.append(markdown(title, block_rows, notes if tasks is self.unseen else ()))
        text = "\n".join(texts) + "\n" + step_cost_markdown(costs)
        for title, weights_matrix, train, val in panels:
            text += "\n" + weights_markdown(f"Learned W: {title}", weights_matrix, train, val)
        markdown_path, csv_path = write_table(text, folder, self.experiment, result_rows)
        return common.Result(text, markdown_path, per_image, self.runs, csv_path, (figure,))


def step_cost_markdown(costs: list[dict]) -> str:
    """The step-cost table: one row per method (the batch is the run's: ``train_per_task`` +
    ``val_per_task`` images of every task, or ``batch_size`` for conventional training)."""
    lines = [
        "### Wall time per training step and peak memory (one step of each method's training, fresh process)",
        "",
        "| method | one step | s / step | first step (tracing) s | peak RSS MiB | RSS increase MiB |",
        "|---|---|---|---|---|---|",
    ]
    for cost in costs:
        method = cost["method"]
        lines.append(
            f"| {METHOD_LABELS.get(method, method)} | {STEP_WHAT.get(method, '')} | "
            f"{cost['seconds_per_step']:.3f} | "
            f"{cost['first_step_seconds']:.1f} | {cost['peak_rss_mib']:.0f} | "
            f"{cost['rss_increase_mib']:.0f} |"
        )
    return "\n".join(lines) + "\n"
