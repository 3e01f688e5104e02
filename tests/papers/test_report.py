"""Published reference values and the report layout."""

import re
from pathlib import Path

import numpy as np
import pytest

from lda_tf.evaluation import summarize
from lda_tf.papers.published import REFERENCE, lda_values, meta_table
from lda_tf.papers.report import (
    gain_over_seeds,
    gains,
    grid,
    markdown,
    mean_by,
    mean_grid,
    table_rows,
    write_table,
)

PAPER = Path(__file__).resolve().parents[3] / "shared" / "papers" / "000_3a690aa18282a34d.txt"


def test_published_tables_have_every_row():
    for table, ratios in [
        (1, [10, 20, 30, 40]),
        (2, [15, 25, 35]),
        (3, [10, 20, 30, 40]),
        (4, [15, 25, 35]),
        (5, [10, 20, 30, 40]),
    ]:
        rows = meta_table(table)
        assert [(row["ratio"], row["method"]) for row in rows] == [
            (float(r), m) for r in ratios for m in ("conventional", "meta")
        ]
        assert all(row["sigma_omega"] is None for row in rows if row["method"] == "conventional")
        assert all(0 < row["sigma_omega"] < 1 for row in rows if row["method"] == "meta")
    with pytest.raises(ValueError, match="Tables 1-5"):
        meta_table(6)


def test_published_values_spot_checks():
    """Values typed from the journal version's tables (J. Imaging 7(11):231)."""
    table1 = {(row["ratio"], row["method"]): row for row in meta_table(1)}
    assert table1[(10.0, "meta")]["psnr_mean"] == 23.2672 and table1[(10.0, "meta")]["sigma_omega"] == 0.9218
    assert table1[(40.0, "conventional")]["ssim_std"] == 0.0422
    table5 = {(row["ratio"], row["method"]): row for row in meta_table(5)}
    assert (
        table5[(40.0, "meta")]["nmse_mean"] == 0.0171 and table5[(20.0, "conventional")]["psnr_std"] == 1.2819
    )


@pytest.mark.skipif(not PAPER.is_file(), reason="the paper's text is not beside this checkout")
def test_published_values_equal_the_papers_text():
    """Every stored number against the extracted text of the journal version."""
    text = PAPER.read_text()
    block = text[text.index(" Table 1. Quantitative evaluations") : text.index(" Figure 1. The pictures")]
    number = r"([\d.]+) ± ([\d.]+)"
    expected, ratio = {}, None
    for table, body in zip(*[iter(re.split(r"Table (\d)\. ", block)[1:])] * 2):
        for line in body.splitlines():
            conventional = re.match(rf"(\d+)% Conventional {number} {number} {number}\s*$", line)
            meta = re.match(rf"Meta-learning {number} {number} {number} ([\d.]+)\s*$", line)
            if conventional:
                ratio = float(conventional.group(1))
                expected[(int(table), ratio, "conventional")] = [
                    float(v) for v in conventional.groups()[1:]
                ] + [None]
            elif meta:
                expected[(int(table), ratio, "meta")] = [float(v) for v in meta.groups()]
    stored = {
        (row["table"], row["ratio"], row["method"]): [
            row[f"{m}_{p}"] for m in ("psnr", "ssim", "nmse") for p in ("mean", "std")
        ]
        + [row["sigma_omega"]]
        for table in range(1, 6)
        for row in meta_table(table)
    }
    assert len(expected) == 36 and stored == expected


def _rows(method, ratio, psnr_values):
    return [
        dict(method=method, task=f"radial_{ratio}", ratio=ratio, image=i, psnr=p, ssim=0.5, nmse=0.01)
        for i, p in enumerate(psnr_values)
    ]


def test_table_rows_gains_and_markdown(tmp_path):
    rows = (
        _rows("meta", 10, [24.0, 26.0])
        + _rows("conventional", 10, [22.0, 22.0])
        + _rows("zero_filling", 10, [18.0, 20.0])
        + _rows("meta", 20, [30.0, 30.0])
        + _rows("conventional", 20, [29.0, 29.0])
    )
    summary = summarize(rows, {("radial_10", "meta"): 0.9, ("radial_20", "meta"): 0.8})
    table = table_rows(summary, meta_table(1))
    assert [(row["ratio"], row["method"]) for row in table] == [
        (10, "zero_filling"),
        (10, "conventional"),
        (10, "meta"),
        (20, "conventional"),
        (20, "meta"),
    ]
    meta10 = table[2]
    assert meta10["psnr_mean"] == 25.0 and meta10["psnr_std"] == 1.0 and meta10["sigma_omega"] == 0.9
    assert meta10["published_psnr_mean"] == 23.2672 and meta10["psnr_difference"] == pytest.approx(
        25.0 - 23.2672
    )
    assert table[0]["published_psnr_mean"] is None
    table_gains = gains(table)
    assert [g["ours"] for g in table_gains] == [3.0, 1.0, 2.0]
    np.testing.assert_allclose(
        [g["published"] for g in table_gains],
        [23.2672 - 21.7570, 28.2944 - 26.6202, ((23.2672 - 21.7570) + (28.2944 - 26.6202)) / 2],
    )
    text = markdown("Table 1", table, ["a note"])
    lines = text.splitlines()
    assert lines[2].startswith("| CS ratio | Method | PSNR | SSIM | NMSE | σ(ω_i) | paper PSNR")
    assert "| 10% | Zero-filling | 19.0000 ± 1.0000 |" in text
    assert (
        "|  | Meta-learning | 25.0000 ± 1.0000 | 0.5000 ± 0.0000 | 0.0100 ± 0.0000 | 0.9000 | 23.2672 |"
        in text
    )
    assert "| average | +2.0000 |" in text and "- a note" in text
    markdown_path, csv_path = write_table(text, tmp_path, "table1", table)
    assert markdown_path.read_text() == text and csv_path.read_text().count("\n") == 6


def test_reference_files_ship_with_the_package():
    for paper in ("meta", "lda"):
        assert (REFERENCE / f"{paper}_paper_tables.csv").is_file()
    assert REFERENCE.parent.name == "lda_tf"


def test_group_and_mean_keep_first_seen_order():
    rows = [
        dict(method="LDA", setting="10", psnr=30.0),
        dict(method="x0", setting="10", psnr=20.0),
        dict(method="LDA", setting="10", psnr=32.0),
        dict(method="LDA", setting="25", psnr=35.0),
    ]
    assert mean_by(rows, "setting", "psnr") == {"10": 82.0 / 3, "25": 35.0}
    assert mean_grid(rows, "setting", "psnr") == {"LDA": {"10": 31.0, "25": 35.0}, "x0": {"10": 20.0}}


def test_grid_layout_and_write_table_without_csv(tmp_path):
    text = grid(
        "Table 1: t",
        ["10", "25"],
        ["10%", "25%"],
        [("ours", {"LDA": {"10": 31.0}}, {"#Par": {"LDA": 1234}}), ("published", lda_values(1, "psnr"), {})],
        notes=["n"],
    )
    lines = text.splitlines()
    assert lines[0] == "### Table 1: t" and lines[2] == "| | Method | 10% | 25% | #Par |"
    assert (
        "| ours | LDA | 31.00 | - | 1,234 |" in lines and "| published | LDA | 27.42 | 32.92 | - |" in lines
    )
    assert lines[-1] == "- n"
    markdown_path, csv_path = write_table(text, tmp_path, "table1")
    assert csv_path is None and markdown_path.read_text() == text


def test_rows_that_differ_only_in_mask_type_or_seed_are_labelled_by_the_task():
    rows = []
    for task in ("radial_10", "cartesian_10", "radial_10_seed1"):
        for method, psnr in (("conventional", 20.0), ("meta", 21.0)):
            rows += [dict(method=method, task=task, ratio=10, image=0, psnr=psnr, ssim=0.5, nmse=0.01)]
    rows += [dict(method="meta", task="radial_20", ratio=20, image=0, psnr=30.0, ssim=0.5, nmse=0.01)]
    table = table_rows(summarize(rows), published=[])
    assert [row["task"] for row in table[::2][:3]] == ["radial_10", "cartesian_10", "radial_10_seed1"]
    text = markdown("Evaluation", table)
    for label in ("| 10% radial_10 |", "| 10% cartesian_10 |", "| 10% radial_10_seed1 |"):
        assert text.count(label) == 2, (label, text)  # the table's block and the gains row
    assert text.count("| 20% |") == 1 and "| 10% |" not in text  # a ratio of one task keeps its label
    assert [g["task"] for g in gains(table)] == ["radial_10", "cartesian_10", "radial_10_seed1", None]


def _seed_rows() -> list[dict]:
    """Two seeds, two test images, one task: meta gains 1.0 dB with seed 0 and 3.0 dB with seed 1."""
    psnr = {(0, "conventional"): (20.0, 22.0), (0, "meta"): (21.0, 23.0)}
    psnr |= {(1, "conventional"): (20.0, 20.0), (1, "meta"): (23.0, 23.0)}
    return [
        dict(task="radial_10", ratio=10.0, method=method, seed=seed, psnr=value, ssim=0.5, nmse=0.1)
        for (seed, method), values in psnr.items()
        for value in values
    ]


def test_several_seeds_give_the_spread_over_seeds():
    meta = [row for row in summarize(_seed_rows()) if row["method"] == "meta"][0]
    # seed means 22.0 and 23.0: mean 22.5, std over the two seeds 0.5 (not over the 4 images)
    assert (meta["psnr_mean"], meta["psnr_std"], meta["images"]) == (22.5, 0.5, 2)
    baseline = dict(task="radial_10", ratio=10.0, method="tv", seed=0, psnr=21.0, ssim=0.5, nmse=0.1)
    tv = [
        row
        for row in summarize([*_seed_rows(), baseline, {**baseline, "psnr": 23.0}])
        if row["method"] == "tv"
    ]
    assert (tv[0]["psnr_mean"], tv[0]["psnr_std"]) == (22.0, 0.0)  # one seed: no spread over seeds
    note = gain_over_seeds(_seed_rows())
    assert "2 seeds (0, 1)" in note and "10% +2.0000 ± 1.0000" in note and "average +2.0000 ± 1.0000" in note
    assert gain_over_seeds([row for row in _seed_rows() if row["seed"] == 0]) == ""
