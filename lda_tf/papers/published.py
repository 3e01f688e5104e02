"""The papers' published numbers, as printed, from ``lda_tf/reference/<paper>_paper_tables.csv``.

- ``meta_paper_tables.csv``: Tables 1-5 of the meta paper's journal version (Bian et al., J. Imaging
  7(11):231, 2021; ``shared/papers/000``), one row per (table, ratio, method): contrast, mask,
  ratio (percent), metric means and standard deviations, sigma_omega. (Some of its conventional
  NMSE entries, e.g. Table 1 at 20 %, are larger than its 10 % ones; they are copied unchanged.)
- ``lda_paper_tables.csv``: Tables 1-5 of the LDA paper (Chen, Liu, Ye, Zhang), one row per
  (table, method, setting, metric) with its value; setting "" for a method-wide value (#Par).

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


def lda_values(table: int, metric: str) -> Values:
    """``{method: {setting: value}}`` of one table and metric of the LDA paper."""
    values: Values = {}
    for row in reference_rows("lda"):
        if int(row["table"]) == table and row["metric"] == metric:
            values.setdefault(row["method"], {})[row["setting"]] = float(row["value"])
    return values
