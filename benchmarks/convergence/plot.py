"""Validation PSNR per epoch of the long convergence runs (benchmarks/convergence/run.sh), with zero
filling and TV on the same validation images as horizontal lines (docs/convergence.md).

    python benchmarks/convergence/plot.py --runs_dir=runs/convergence \
        --output=benchmarks/results/convergence.png

Left: radial 20 % (the conventional run's task and the meta run's second task). Right: the mean
over the meta run's four tasks. ``--figures_output`` also draws the quick counterparts of the
journal paper's Figures 2-5 from the same histories: sigma(omega_i) per epoch for each sampling
ratio, and validation PSNR against the phase count T at the end of each stair stage (the last
stage possibly unfinished). The TV weight of each task is chosen on the training images
(``lda_tf.baselines.select_tv_weight``), not on the validation images it is drawn against. Stair
stages (``stair_history.json``) are marked by the phase count reached. Also prints the curves'
last and best values as a Markdown table.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("runs_dir", "runs/convergence", "Directory holding meta/ and conventional_radial20/.")
flags.DEFINE_string("output", "benchmarks/results/convergence.png", "Where to write the figure (PNG).")
flags.DEFINE_string(
    "figures_output",
    "benchmarks/results/convergence_sigma_phases.png",
    "Where to write sigma(omega_i) per epoch and PSNR per phase count (PNG); empty: not drawn.",
)
flags.DEFINE_integer(
    "tv_images", 8, "Training images on which each task's TV weight is chosen.", lower_bound=1
)

META, CONVENTIONAL = "meta", "conventional_radial20"


def read_history(run: Path) -> dict[str, np.ndarray]:
    """history.csv as columns; epochs without validation hold NaN."""
    path = run / "history.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run benchmarks/convergence/run.sh first")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {name: np.array([float(row[name] or "nan") for row in rows]) for name in rows[0]}


def stair_stages(run: Path) -> list[dict]:
    """The run's ``stair_history.json`` (one entry per growth), empty before the first growth."""
    path = run / "stair_history.json"
    return json.loads(path.read_text()) if path.is_file() else []


def stair_epochs(run: Path) -> list[tuple[int, int]]:
    return [(s["epoch"], s["to_phases"]) for s in stair_stages(run)]


def stage_ends(run: Path, history: dict[str, np.ndarray], column: str) -> list[tuple[int, float]]:
    """``(T, value of column)`` on the last epoch of each stair stage; the current stage's last
    epoch so far counts as its end."""
    stages = stair_stages(run)
    settings = json.loads((run / "config.json").read_text())["settings"]
    phases = stages[0]["from_phases"] if stages else settings["stair"]["initial_phases"]
    ends = []
    for stage in stages:
        ends.append((phases, float(history[column][history["epoch"] == stage["epoch"] - 1][0])))
        phases = stage["to_phases"]
    if len(history["epoch"]) and (not stages or history["epoch"][-1] >= stages[-1]["epoch"]):
        ends.append((phases, float(history[column][-1])))
    return ends


def paper_figures(runs: Path, meta: dict[str, np.ndarray], conventional: dict[str, np.ndarray], plt):
    """sigma(omega_i) per epoch (Figures 2-3) and PSNR per phase count (Figures 4-5)."""
    figure, (weights, phases) = plt.subplots(1, 2, figsize=(11, 4))
    for task, ratio in enumerate((10, 20, 30, 40)):
        weights.plot(meta["epoch"] + 1, meta[f"kappa_task{task}"], ".-", label=f"radial {ratio} %")
        ends = stage_ends(runs / META, meta, f"val_psnr_task{task}")
        phases.plot(*zip(*ends), "o-", label=f"meta, radial {ratio} %")
    ends = stage_ends(runs / CONVENTIONAL, conventional, "val_psnr")
    phases.plot(*zip(*ends), "ks--", label="conventional, radial 20 %")
    weights.set(title="task weights (meta run)", xlabel="epoch", ylabel="sigma(omega_i)")
    phases.set(title="end of each stair stage", xlabel="phases T", ylabel="validation PSNR (dB)")
    for axis in (weights, phases):
        axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def save(figure, path: str) -> None:
    output = Path(path)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.partial.png")
    figure.savefig(temporary, dpi=110)
    temporary.replace(output)
    print(f"written: {output}")


def baselines(run: Path) -> dict[str, dict[str, float]]:
    """{task name: {"zero_filling": PSNR, "tv": PSNR}} on the run's validation images."""
    from lda_tf.comparison import ZERO_FILLING, compare, tv_method
    from lda_tf.recipes import RECIPES, RunConfig

    config = RunConfig.from_dict(json.loads((run / "config.json").read_text())["settings"])
    recipe = RECIPES[config.recipe](config)
    train, val = recipe.images("train")[: FLAGS.tv_images], recipe.images("val")
    tv, _ = tv_method(train)
    rows, _, _ = compare([ZERO_FILLING, tv], val, recipe.tasks)
    means: dict[str, dict[str, float]] = {}
    for task in recipe.tasks:
        for method in ("zero_filling", "tv"):
            values = [r["psnr"] for r in rows if r["task"] == task.name and r["method"] == method]
            means.setdefault(task.name, {})[method] = float(np.mean(values))
    return means


def main(argv):
    del argv
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = Path(FLAGS.runs_dir)
    meta, conventional = read_history(runs / META), read_history(runs / CONVENTIONAL)
    lines = baselines(runs / META)
    task_names = list(lines)
    radial20 = task_names[1]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4), sharey=False)
    panels = (
        (left, "radial 20 %", meta["val_psnr_task1"], conventional["val_psnr"], lines[radial20]),
        (
            right,
            "mean of radial 10/20/30/40 %",
            meta["val_psnr"],
            None,
            {m: float(np.mean([lines[t][m] for t in task_names])) for m in ("zero_filling", "tv")},
        ),
    )
    summary = []
    for axis, title, meta_curve, conventional_curve, anchors in panels:
        axis.plot(meta["epoch"] + 1, meta_curve, "C0.-", label="meta (Algorithm 2)")
        if conventional_curve is not None:
            axis.plot(conventional["epoch"] + 1, conventional_curve, "C1.-", label="conventional")
        axis.axhline(anchors["tv"], color="k", linestyle="--", label="TV")
        axis.axhline(anchors["zero_filling"], color="gray", linestyle=":", label="zero filling")
        for color, run in (("C0", META), ("C1", CONVENTIONAL)):  # stair growth: "T" = phases from here
            for epoch, phases in stair_epochs(runs / run):
                axis.axvline(epoch + 0.5, color=color, alpha=0.25)
                axis.text(epoch + 0.5, axis.get_ylim()[0], f" T={phases}", color=color, fontsize=7)
        axis.set(title=title, xlabel="epoch", ylabel="validation PSNR (dB)")
        axis.legend(fontsize=8)
        for name, curve in (("meta", meta_curve), ("conventional", conventional_curve)):
            if curve is not None and np.isfinite(curve).any():
                summary.append((title, name, len(curve), curve[np.isfinite(curve)][-1], np.nanmax(curve)))
        summary += [(title, method, "", value, "") for method, value in anchors.items()]
    figure.suptitle("Embedded sample, 80x90, 11-phase network with stair training (benchmarks/convergence)")
    figure.tight_layout()
    save(figure, FLAGS.output)
    if FLAGS.figures_output:
        save(paper_figures(runs, meta, conventional, plt), FLAGS.figures_output)
    print("| panel | curve | epochs | last PSNR | best PSNR |\n| --- | --- | --- | --- | --- |")
    for title, name, epochs, last, best in summary:
        best_text = f"{best:.2f}" if best != "" else ""
        print(f"| {title} | {name} | {epochs} | {last:.2f} | {best_text} |")


if __name__ == "__main__":
    app.run(main)
