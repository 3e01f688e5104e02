"""Tables of every paper as Markdown (and CSV), ours beside the published values
(:mod:`lda_tf.papers.published`).

Two layouts:

- :func:`markdown` (the meta paper's, also ``experiments/evaluate.py``'s): one block per task,
  labelled by its CS ratio, and by the full task where tasks share a ratio (``10% cartesian_10``,
  ``10% radial_10_seed1``); one row per method (zero-filling, TV, conventional, meta-learning,
  and the TF1 release as it runs where the table has it):
  PSNR, SSIM, NMSE as ``mean +- std`` and sigma(omega_i); the published value of the same row and
  our PSNR minus the published one where the paper has the row; then the meta minus conventional
  PSNR gain per task and on average, ours and published. Rows come from :func:`table_rows`.
- :func:`grid` (the LDA paper's): one row per method, one column per setting, in blocks (ours,
  published), with extra columns such as ``#Par``.

:func:`group_by` / :func:`mean_by` are the one group-and-mean helper; :func:`write_table` writes a
table's files atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from lda_tf.atomic import atomic_file
from lda_tf.evaluation import METRICS, write_rows

METHOD_LABELS = {
    "zero_filling": "Zero-filling",
    "tv": "TV",
    "conventional": "Conventional",
    "meta": "Meta-learning",
    "release": "Release as run",
    "uniform": "Uniform weights",  # the task-correlation experiment (lda_tf.papers.task_correlation)
    "vector": "Task correlation, vector",
    "matrix": "Task correlation, matrix",
}
TABLE_COLUMNS = (
    "ratio",
    "task",
    "method",
    *(f"{name}_{part}" for name in METRICS for part in ("mean", "std")),
    "sigma_omega",
    *(f"published_{name}_mean" for name in METRICS),
    "published_sigma_omega",
    "psnr_difference",
)
Values = dict[str, dict[str, float]]  # method -> setting -> value


# ---------------------------------------------------------------------- grouping
def group_by(rows: Iterable[dict], key: str) -> dict[str, list[dict]]:
    """Rows grouped by ``str(row[key])``, groups in first-seen order."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(str(row[key]), []).append(row)
    return groups


def mean_by(rows: Iterable[dict], key: str, value: str) -> dict[str, float]:
    """Mean of ``value`` over rows grouped by ``key`` (in first-seen order)."""
    return {
        name: float(np.mean([float(row[value]) for row in members]))
        for name, members in group_by(rows, key).items()
    }


def mean_grid(rows: Iterable[dict], key: str, value: str, by: str = "method") -> Values:
    """``{row[by]: {row[key]: mean of value}}``: a :func:`grid` block from per-image rows."""
    return {name: mean_by(members, key, value) for name, members in group_by(rows, by).items()}


# ---------------------------------------------------------------------- the meta paper's layout
def _method_order(method: str) -> int:
    return list(METHOD_LABELS).index(method) if method in METHOD_LABELS else len(METHOD_LABELS)


def table_rows(summary: list[dict], published: list[dict]) -> list[dict]:
    """Our summary rows (:func:`lda_tf.evaluation.summarize`) sorted by ratio, task (first seen
    first) and method, each with the published values of the same (ratio, method) and the PSNR
    difference."""
    reference = {(row["ratio"], row["method"]): row for row in published}
    task_order = {
        task: index for index, task in enumerate(dict.fromkeys(str(item["task"]) for item in summary))
    }
    rows = []
    for entry in sorted(
        summary,
        key=lambda item: (float(item["ratio"]), task_order[str(item["task"])], _method_order(item["method"])),
    ):
        row = {name: entry.get(name) for name in TABLE_COLUMNS[: 3 + 2 * len(METRICS) + 1]}
        paper = reference.get((float(entry["ratio"]), entry["method"]))
        for name in METRICS:
            row[f"published_{name}_mean"] = paper[f"{name}_mean"] if paper else None
        row["published_sigma_omega"] = paper["sigma_omega"] if paper else None
        row["psnr_difference"] = entry["psnr_mean"] - paper["psnr_mean"] if paper else None
        rows.append(row)
    return rows


def task_labels(rows: list[dict]) -> dict[str, str]:
    """Each row's task -> its label: the CS ratio (``10%``), with the task where several tasks
    share that ratio (``10% cartesian_10``), so no two rows of different tasks read the same."""
    tasks_at = {}
    for row in rows:
        tasks_at.setdefault(float(row["ratio"]), {})[str(row["task"])] = None
    return {
        task: f"{ratio:g}%" + (f" {task}" if len(tasks) > 1 else "")
        for ratio, tasks in tasks_at.items()
        for task in tasks
    }


def gains(rows: list[dict]) -> list[dict]:
    """Meta minus conventional PSNR per task (ours and published) and their average (task and
    ratio None)."""
    result = []
    for task, members in group_by(rows, "task").items():
        ratio = members[0]["ratio"]
        methods = {row["method"]: row for row in members}
        if "meta" in methods and "conventional" in methods:
            meta, conventional = methods["meta"], methods["conventional"]
            published = None
            if meta["published_psnr_mean"] is not None and conventional["published_psnr_mean"] is not None:
                published = meta["published_psnr_mean"] - conventional["published_psnr_mean"]
            result.append(
                dict(
                    ratio=float(ratio),
                    task=task,
                    ours=meta["psnr_mean"] - conventional["psnr_mean"],
                    published=published,
                )
            )
    if result:
        published = [item["published"] for item in result]
        result.append(
            dict(
                ratio=None,
                task=None,
                ours=float(np.mean([item["ours"] for item in result])),
                published=None if None in published else float(np.mean(published)),
            )
        )
    return result


def _mean_std(row: dict, name: str) -> str:
    return f"{row[f'{name}_mean']:.4f} ± {row[f'{name}_std']:.4f}"


def _number(value, signed: bool = False) -> str:
    if value is None:
        return ""
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def _with_notes(lines: list[str], notes: Sequence[str]) -> str:
    if notes:
        lines = lines + [""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def gain_over_seeds(per_image: Iterable[dict]) -> str:
    """A note with the meta-minus-conventional PSNR per ratio and on average as mean +- std over
    the seeds of ``per_image`` rows (each seed's gain from its own means over the test images):
    the spread a gain is compared with. Empty for rows of one seed."""
    by_seed = group_by(per_image, "seed")
    if len(by_seed) < 2:
        return ""
    gains_by_task: dict[str, list[float]] = {}
    ratios = {}
    for rows in by_seed.values():
        for task, members in group_by(rows, "task").items():
            psnr = mean_by(members, "method", "psnr")
            if "meta" in psnr and "conventional" in psnr:
                gains_by_task.setdefault(task, []).append(psnr["meta"] - psnr["conventional"])
                ratios[task] = float(members[0]["ratio"])
    if not gains_by_task:
        return ""
    average = np.mean(list(gains_by_task.values()), axis=0)  # per seed
    cells = [f"{ratios[task]:g}% {np.mean(g):+.4f} ± {np.std(g):.4f}" for task, g in gains_by_task.items()]
    cells.append(f"average {np.mean(average):+.4f} ± {np.std(average):.4f}")
    return (
        f"meta minus conventional PSNR (dB), mean ± std over {len(by_seed)} seeds "
        f"({', '.join(by_seed)}): " + "; ".join(cells)
    )


def markdown(title: str, rows: list[dict], notes: Sequence[str] = ()) -> str:
    """The table, the gains and ``notes`` as Markdown; the paper's columns only when it has rows."""
    with_paper = any(row["published_psnr_mean"] is not None for row in rows)
    header = ["CS ratio", "Method", "PSNR", "SSIM", "NMSE", "σ(ω_i)"]
    if with_paper:
        header += ["paper PSNR", "paper SSIM", "paper NMSE", "paper σ(ω_i)", "PSNR − paper"]
    lines = [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    labels = task_labels(rows)
    previous_task = None
    for row in rows:
        ratio = "" if row["task"] == previous_task else labels[str(row["task"])]
        previous_task = row["task"]
        label = METHOD_LABELS.get(row["method"], row["method"])
        cells = [ratio, label, *(_mean_std(row, name) for name in METRICS), _number(row["sigma_omega"])]
        if with_paper:
            cells += [
                *(_number(row[f"published_{name}_mean"]) for name in METRICS),
                _number(row["published_sigma_omega"]),
                _number(row["psnr_difference"], signed=True),
            ]
        lines.append("| " + " | ".join(cells) + " |")
    table_gains = gains(rows)
    if table_gains:
        lines += [
            "",
            "Meta-learning minus conventional PSNR (dB):",
            "",
            "| CS ratio | ours | paper |",
            "|---|---|---|",
        ]
        for item in table_gains:
            ratio = "average" if item["task"] is None else labels[str(item["task"])]
            lines.append(f"| {ratio} | {_number(item['ours'], True)} | {_number(item['published'], True)} |")
    return _with_notes(lines, notes)


# ---------------------------------------------------------------------- the LDA paper's layout
def _cell(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if digits == 0 else f"{value:.{digits}f}"


Block = tuple[
    str, Values, dict[str, dict[str, float]]
]  # label, values, extra columns {column: {method: value}}


def grid(
    title: str,
    settings: list[str],
    header: list[str],
    blocks: list[Block],
    digits: int | Callable[[str, str], int] = 2,
    notes: Sequence[str] = (),
) -> str:
    """Markdown: one row per method, one column per setting (``header`` names them), then each
    block's extra columns (e.g. ``{"#Par": {method: value}}``); ``blocks`` are groups such as ours
    and published; ``digits`` may depend on (method, setting)."""
    extra_columns = list(dict.fromkeys(column for _, _, extra in blocks for column in extra))
    lines = [
        f"### {title}",
        "",
        "| | Method | " + " | ".join(header + extra_columns) + " |",
        "|---|---|" + "---|" * (len(header) + len(extra_columns)),
    ]
    for label, values, extra in blocks:
        for method, by_setting in values.items():
            cells = [
                _cell(by_setting.get(setting), digits if isinstance(digits, int) else digits(method, setting))
                for setting in settings
            ]
            cells += [_cell(extra.get(column, {}).get(method), 0) for column in extra_columns]
            lines.append(f"| {label} | {method} | " + " | ".join(cells) + " |")
    return _with_notes(lines, notes)


# ---------------------------------------------------------------------- files
def write_table(
    text: str,
    directory: str | os.PathLike,
    stem: str,
    rows: list[dict] | None = None,
    columns: Sequence[str] = TABLE_COLUMNS,
) -> tuple[Path, Path | None]:
    """``<stem>.md`` in ``directory`` and, given ``rows``, ``<stem>.csv``; each written atomically.
    Returns (Markdown path, CSV path or None)."""
    directory = Path(directory)
    markdown_path = directory / f"{stem}.md"
    with atomic_file(markdown_path, "w") as handle:
        handle.write(text)
    if rows is None:
        return markdown_path, None
    csv_path = directory / f"{stem}.csv"
    write_rows(rows, csv_path, columns)
    return markdown_path, csv_path
