"""Tables in the LDA paper's layout, ours beside the published ones
(``lda_tf/reference/lda_paper_tables.csv``, transcribed from Tables 1-5 of the LDA paper)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from importlib import resources

import numpy as np

Values = dict[str, dict[str, float]]  # method -> setting -> value


def published(table: int, metric: str) -> Values:
    """``{method: {setting: value}}`` of one table and metric (setting "" for a method-wide value)."""
    values: Values = {}
    with resources.files("lda_tf.reference").joinpath("lda_paper_tables.csv").open() as handle:
        for row in csv.DictReader(handle):
            if int(row["table"]) == table and row["metric"] == metric:
                values.setdefault(row["method"], {})[row["setting"]] = float(row["value"])
    return values


def mean_by(rows: list[dict], key: str, value: str) -> dict[str, float]:
    """Mean of ``value`` over rows grouped by ``key`` (in first-seen order)."""
    groups: dict[str, list[float]] = {}
    for row in rows:
        groups.setdefault(str(row[key]), []).append(float(row[value]))
    return {name: float(np.mean(members)) for name, members in groups.items()}


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
    notes: list[str] = (),
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
    lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"
