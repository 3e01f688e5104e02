"""The papers' published numbers, as printed, from ``lda_tf/reference/<paper>_paper_tables.csv``.

- ``meta_paper_tables.csv``: Tables 1-5 of the meta paper's journal version (Bian et al., J. Imaging
  7(11):231, 2021; ``shared/papers/000``), one row per (table, ratio, method): contrast, mask,
  ratio (percent), metric means and standard deviations, sigma_omega. (Some of its conventional
  NMSE entries, e.g. Table 1 at 20 %, are larger than its 10 % ones; they are copied unchanged.)
- ``lda_paper_tables.csv``: Tables 1-5 of the LDA paper (Chen, Liu, Ye, Zhang), one row per
  (table, method, setting, metric) with its value; setting "" for a method-wide value (#Par).
- ``ulda_paper_tables.csv``: Tables 1-6 of the U-LDA paper (Chen, Ding, Ye; ``shared/papers/002``),
  in the LDA file's schema: settings are the columns (``Brain``, ``15`` for 15 %, ``ImageNet``;
  Table 4: ``anatomy``, ``sampling``, ``modality``; Table 5: alpha; Table 6: delta), metrics
  ``psnr`` (dB) and ``ssim`` (percent, as printed); Table 4's methods name the ablation
  (``adapter/Init/no AUG``). Table 2's first row, printed "DnCb", is stored as DnCn.

Decision: the two files keep their own schemas (the meta paper's rows carry mean and std per
metric, the LDA paper's one value per cell); one reader parses both, two views shape them.
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

REFERENCE = Path(__file__).resolve().parent.parent / "reference"
Values = dict[str, dict[str, float]]  # method -> setting -> value


def reference_rows(paper: str) -> list[dict[str, str]]:
    """The rows of ``lda_tf/reference/<paper>_paper_tables.csv`` as strings."""
    with resources.files("lda_tf.reference").joinpath(f"{paper}_paper_tables.csv").open() as handle:
        return list(csv.DictReader(handle))


def _number(text: str) -> float | None:
    return float(text) if text else None


def meta_table(table: int) -> list[dict]:
    """The rows of the meta paper's Table ``table`` (1-5): ratio (percent), method, metrics
    (``<metric>_mean``, ``<metric>_std``, ``sigma_omega``; ``None`` where the paper has none)."""
    rows = [row for row in reference_rows("meta") if int(row["table"]) == table]
    if not rows:
        raise ValueError(f"the meta paper has Tables 1-5; got {table}")
    numeric = [name for name in rows[0] if name.endswith(("_mean", "_std")) or name == "sigma_omega"]
    return [
        {
            **row,
            "table": int(row["table"]),
            "ratio": float(row["ratio"]),
            **{n: _number(row[n]) for n in numeric},
        }
        for row in rows
    ]


def cell_values(paper: str, table: int, metric: str) -> Values:
    """``{method: {setting: value}}`` of one table and metric of a paper stored one value per cell
    (``lda``, ``ulda``), methods and settings in the file's order."""
    values: Values = {}
    for row in reference_rows(paper):
        if int(row["table"]) == table and row["metric"] == metric:
            values.setdefault(row["method"], {})[row["setting"]] = float(row["value"])
    return values


def lda_values(table: int, metric: str) -> Values:
    """``{method: {setting: value}}`` of one table and metric of the LDA paper."""
    return cell_values("lda", table, metric)


def ulda_values(table: int, metric: str = "psnr") -> Values:
    """``{method: {setting: value}}`` of one table (1-6) and metric (psnr, ssim) of the U-LDA paper."""
    values = cell_values("ulda", table, metric)
    if not values:
        raise ValueError(f"the U-LDA paper has Tables 1-6 (SSIM in Tables 1-3); got table {table}, {metric}")
    return values
