"""Results tables in the meta paper's layout, with its published numbers beside ours.

The published values of Tables 1-5 of the journal version (Bian et al., J. Imaging 7(11):231,
2021; ``shared/papers/000``) are stored in ``lda_tf/reference/meta_paper_tables.csv`` (columns:
table, contrast, mask, ratio, method, metric means and standard deviations, sigma_omega), copied
from the paper as printed. (Some of its conventional NMSE entries, e.g. Table 1 at 20 %, are larger
than its 10 % ones; we copy them unchanged.)

A table has one block per CS ratio and one row per method (zero-filling, TV, conventional,
meta-learning): PSNR, SSIM, NMSE as ``mean +- std`` and sigma(omega_i); the published value of the
same row and our PSNR minus the published one where the paper has the row; then the meta minus
conventional PSNR gain per ratio and on average, ours and published.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from lda_tf.atomic import atomic_file
from lda_tf.evaluation import METRICS, write_rows

PUBLISHED_TABLES = Path(__file__).resolve().parent / "reference" / "meta_paper_tables.csv"
METHOD_LABELS = {
    "zero_filling": "Zero-filling",
    "tv": "TV",
    "conventional": "Conventional",
    "meta": "Meta-learning",
}
TABLE_COLUMNS = (
    "ratio",
    "method",
    *(f"{name}_{part}" for name in METRICS for part in ("mean", "std")),
    "sigma_omega",
    *(f"published_{name}_mean" for name in METRICS),
    "published_sigma_omega",
    "psnr_difference",
)


def published_table(table: int) -> list[dict]:
    """The rows of the paper's Table ``table`` (1-5): ratio (percent), method, metrics."""
    with open(PUBLISHED_TABLES, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if int(row["table"]) == table]
    if not rows:
        raise ValueError(f"the meta paper has Tables 1-5; got {table}")
    numeric = [name for name in rows[0] if name.endswith(("_mean", "_std")) or name == "sigma_omega"]
    for row in rows:
        row["table"], row["ratio"] = int(row["table"]), float(row["ratio"])
        for name in numeric:
            row[name] = float(row[name]) if row[name] else None
    return rows


def _method_order(method: str) -> int:
    return list(METHOD_LABELS).index(method) if method in METHOD_LABELS else len(METHOD_LABELS)


def table_rows(summary: list[dict], published: list[dict]) -> list[dict]:
    """Our summary rows (:func:`lda_tf.evaluation.summarize`) sorted by ratio and method, each with
    the published values of the same (ratio, method) and the PSNR difference."""
    reference = {(row["ratio"], row["method"]): row for row in published}
    rows = []
    for entry in sorted(summary, key=lambda item: (float(item["ratio"]), _method_order(item["method"]))):
        row = {name: entry.get(name) for name in TABLE_COLUMNS[: 2 + 2 * len(METRICS) + 1]}
        paper = reference.get((float(entry["ratio"]), entry["method"]))
        for name in METRICS:
            row[f"published_{name}_mean"] = paper[f"{name}_mean"] if paper else None
        row["published_sigma_omega"] = paper["sigma_omega"] if paper else None
        row["psnr_difference"] = entry["psnr_mean"] - paper["psnr_mean"] if paper else None
        rows.append(row)
    return rows


def gains(rows: list[dict]) -> list[dict]:
    """Meta minus conventional PSNR per ratio (ours and published) and their average (ratio None)."""
    by_ratio: dict[float, dict] = {}
    for row in rows:
        by_ratio.setdefault(float(row["ratio"]), {})[row["method"]] = row
    result = []
    for ratio, methods in by_ratio.items():
        if "meta" in methods and "conventional" in methods:
            meta, conventional = methods["meta"], methods["conventional"]
            published = None
            if meta["published_psnr_mean"] is not None and conventional["published_psnr_mean"] is not None:
                published = meta["published_psnr_mean"] - conventional["published_psnr_mean"]
            result.append(
                dict(ratio=ratio, ours=meta["psnr_mean"] - conventional["psnr_mean"], published=published)
            )
    if result:
        published = [item["published"] for item in result]
        result.append(
            dict(
                ratio=None,
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


def markdown(title: str, rows: list[dict], notes: list[str] = ()) -> str:
    """The table, the gains and ``notes`` as Markdown; the paper's columns only when it has rows."""
    with_paper = any(row["published_psnr_mean"] is not None for row in rows)
    header = ["CS ratio", "Method", "PSNR", "SSIM", "NMSE", "σ(ω_i)"]
    if with_paper:
        header += ["paper PSNR", "paper SSIM", "paper NMSE", "paper σ(ω_i)", "PSNR − paper"]
    lines = [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    previous_ratio = None
    for row in rows:
        ratio = "" if row["ratio"] == previous_ratio else f"{row['ratio']:g}%"
        previous_ratio = row["ratio"]
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
            ratio = "average" if item["ratio"] is None else f"{item['ratio']:g}%"
            lines.append(f"| {ratio} | {_number(item['ours'], True)} | {_number(item['published'], True)} |")
    if notes:
        lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def write_table(
    rows: list[dict], markdown_text: str, directory: str | os.PathLike, stem: str
) -> tuple[Path, Path]:
    """``<stem>.csv`` and ``<stem>.md`` in ``directory``, each written atomically."""
    directory = Path(directory)
    csv_path, markdown_path = directory / f"{stem}.csv", directory / f"{stem}.md"
    write_rows(rows, csv_path, TABLE_COLUMNS)
    with atomic_file(markdown_path, "w") as handle:
        handle.write(markdown_text)
    return csv_path, markdown_path
