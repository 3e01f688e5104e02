"""The U-LDA paper's experiments (lda_tf.papers.ulda): published values against the paper's text,
Figure 6's CKA and NCC against their textbook formulas, the refusal without data, disjoint source
and target sets; and (slow) every experiment end to end in the smoke profile, sharing one output
directory as users do (Table 4 reuses Table 2's runs)."""

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lda_tf.data.images import convert_images
from lda_tf.data.shards import read_manifest
from lda_tf.papers.published import ulda_values
from lda_tf.papers.registry import PAPERS
from lda_tf.papers.ulda.analysis import linear_cka, ncc
from lda_tf.papers.ulda.reproduce import TRANSFERS, ULDAReproduction

PAPER = Path(__file__).resolve().parents[3] / "shared" / "papers" / "002_cf9355b1c7bb91b4.txt"


def _run(experiment, output, **kwargs):
    return ULDAReproduction(experiment, "smoke", str(output), verbose=0, log=lambda *_: None, **kwargs).run()


def _rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


# ---------------------------------------------------------------------------- published values
@pytest.mark.skipif(not PAPER.is_file(), reason="the paper's text is not beside this checkout")
def test_published_values_equal_the_papers_text():
    """Tables 1-3 (tab-separated rows) and Tables 4-6 of the extracted text against the CSV."""
    text = PAPER.read_text()
    names = {"DnCn [33]": "DnCn", "DnCb": "DnCn", "LDA [9]": "LDA", "UNet [3]": "UNet", "U-MRI [24]": "U-MRI"}
    names |= {"Meta [6]": "Meta", "HUMUS-Net [13]": "HUMUS-Net", "U-LDA (Ours)": "U-LDA"}
    for table, start in [
        (1, "Table 1: Average PSNR"),
        (2, "Table 2: Average PSNR"),
        (3, "Table 3: Average PSNR"),
    ]:
        block = text[text.index(start) :].split("\n\n", 3)[1]
        header, *lines = [line for line in block.splitlines()[1:] if line.strip()]
        columns = [c.rstrip("†%") for c in header.split("\t")[1:]]
        columns = columns[: len(columns) // 2]
        for line in lines:
            method, *values = line.split("\t")
            method = names.get(method, method)
            for metric, part in (("psnr", values[: len(columns)]), ("ssim", values[len(columns) :])):
                stored = ulda_values(table, metric)[method]
                assert stored == {c: float(v) for c, v in zip(columns, part)}, (table, method, metric)
    ablation = text[text.index("Adapter\tInit\tAUG") :].splitlines()[1:5]
    stored = list(ulda_values(4).values())
    assert [[float(v) for v in line.split("\t")[3:]] for line in ablation] == [
        list(s.values()) for s in stored
    ]
    for table, symbol in [(5, "α\t"), (6, "δ\t")]:
        keys = text[text.index(f"Table {table}:") :].split(symbol, 1)[1].splitlines()
        values = dict(zip(keys[0].split("\t"), [float(v) for v in keys[1].split("\t")[1:]]))
        assert ulda_values(table)["U-LDA"] == values


def test_published_values_spot_checks_and_errors():
    assert ulda_values(1, "psnr")["U-LDA"]["Cardiac"] == 37.26
    assert ulda_values(2, "ssim")["DnCn"]["25"] == 94.18  # printed "DnCb"
    assert ulda_values(4)["adapter/Init/AUG"] == {"anatomy": 33.31, "sampling": 34.90, "modality": 33.58}
    # Table 4's first row is the LDA row of Tables 1-3 (the paper's "no adapter, no Init, no AUG")
    first = ulda_values(4)["no adapter/no Init/no AUG"]
    assert [first["anatomy"], first["sampling"], first["modality"]] == [
        ulda_values(1)["LDA"]["Prostate"],
        ulda_values(2)["LDA"]["15"],
        ulda_values(3)["LDA"]["fastMRI"],
    ]
    with pytest.raises(ValueError, match="Tables 1-6"):
        ulda_values(7)


# ---------------------------------------------------------------------------- figure 6 measures
def test_linear_cka_equals_the_hsic_formula_and_its_invariances():
    """CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)) with K = X X^T, L = Y Y^T, H = I - 11^T/n
    (Kornblith et al. 2019, eq. (3)-(5)); 1 for X against an orthogonal transform and rescaling of
    itself (plus a constant shift), < 1 for unrelated features."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((12, 7)), rng.standard_normal((12, 5))
    y = y + 0.5 * x[:, :5]
    h = np.eye(12) - np.ones((12, 12)) / 12

    def hsic(a, b):
        return np.trace(a @ a.T @ h @ b @ b.T @ h)

    assert linear_cka(x, y) == pytest.approx(hsic(x, y) / np.sqrt(hsic(x, x) * hsic(y, y)), rel=1e-12)
    rotation, _ = np.linalg.qr(rng.standard_normal((7, 7)))
    assert linear_cka(x, 3.0 * x @ rotation + 2.0) == pytest.approx(1.0, rel=1e-12)
    assert 0.0 <= linear_cka(x, rng.standard_normal((12, 9))) < 0.9
    with pytest.raises(ValueError, match="same n >= 2"):
        linear_cka(x, y[:5])


def test_linear_cka_with_more_features_than_images():
    """Figure 6 compares a few images with ~1e5 features each: CKA goes through the n x n Gram
    matrices there (a p x p product would need p^2 floats). It equals the HSIC formula with few
    features, and runs at a million features per image."""
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((6, 50)), rng.standard_normal((6, 40))
    y[:, :20] += 0.7 * x[:, :20]
    h = np.eye(6) - np.ones((6, 6)) / 6

    def hsic(a, b):
        return np.trace(a @ a.T @ h @ b @ b.T @ h)

    assert linear_cka(x, y) == pytest.approx(hsic(x, y) / np.sqrt(hsic(x, x) * hsic(y, y)), rel=1e-12)
    wide = rng.standard_normal((4, 1_000_000))
    assert linear_cka(wide, 2.0 * wide + 1.0) == pytest.approx(1.0, rel=1e-9)


def test_ncc_is_the_mean_pearson_correlation_per_image():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((4, 3, 5)), rng.standard_normal((4, 3, 5))
    expected = np.mean([np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(x, y)])
    assert ncc(x, y) == pytest.approx(expected, rel=1e-12)
    assert ncc(x, 2 * x + 1) == pytest.approx(1.0) and ncc(x, -x) == pytest.approx(-1.0)


# ---------------------------------------------------------------------------- data and refusals
def test_the_paper_profile_and_table1_refuse_at_once_naming_the_data(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        ULDAReproduction("table2", "paper", str(tmp_path / "out"))
    message = str(error.value)
    assert "--data_root (not given); missing: fastmri_brain" in message
    assert "https://fastmri.med.nyu.edu/" in message and "data_prep/fastmri.py" in message
    with pytest.raises(FileNotFoundError, match="no offline stand-in.*cardiac.*prostate"):
        ULDAReproduction("table1", "quick", str(tmp_path / "out"))
    (tmp_path / "root" / "fastmri_brain").mkdir(parents=True)
    (tmp_path / "root" / "fastmri_brain" / "manifest.json").write_text("{}")
    with pytest.raises(FileNotFoundError) as error:
        ULDAReproduction("table1", "paper", str(tmp_path / "out"), data_root=str(tmp_path / "root"))
    assert "missing: fastmri_knee, cardiac, prostate" in str(error.value)
    assert "data_prep/images.py" in str(error.value)
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_binary_refusal_exits_2_without_a_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "experiments/reproduce.py", "--paper=ulda", "--table=3", "--profile=paper"]
        + [f"--output_dir={tmp_path / 'out'}"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "missing: imagenet, cifar10, fastmri_knee, stanford2d" in done.stderr
    assert "https://image-net.org/" in done.stderr


def test_source_and_target_images_are_disjoint_and_every_experiment_is_registered(tmp_path):
    reproduction = ULDAReproduction("table2", "smoke", str(tmp_path))
    sampling = TRANSFERS["sampling"]
    source, target = (reproduction.domain_set(sampling, sampling.columns[i]) for i in (0, 3))
    chosen = {
        name: read_manifest(path)["derived_from"]["selection"]["train"]["indices"]
        for name, path in (("source", source), ("target", target))
    }
    assert chosen == {"source": [0, 1, 2, 3], "target": [4, 5]}  # smoke: 4 source, 2 target images
    draw = reproduction.domain_set(sampling, sampling.columns[3], subset=(1, 0))
    assert set(read_manifest(draw)["derived_from"]["selection"]["train"]["indices"]) <= {4, 5}
    overlap = ULDAReproduction("table2", "smoke", str(tmp_path), target_overlap=True)
    target = overlap.domain_set(sampling, sampling.columns[3])
    assert read_manifest(target)["derived_from"]["selection"]["train"]["indices"] == [0, 1]  # the release
    assert target.name.endswith("_overlap") and overlap.runs.name == "runs_overlap"
    assert overlap.result_folder.name == "ulda_table2_overlap"
    assert PAPERS["ulda"] is ULDAReproduction
    assert set(ULDAReproduction.experiments) == {*(f"table{n}" for n in range(1, 7)), "figure6", "figure7"}


# ---------------------------------------------------------------------------- end to end (smoke)
@pytest.fixture(scope="module")
def output(tmp_path_factory):
    return tmp_path_factory.mktemp("ulda")


@pytest.mark.slow
def test_table2_cross_sampling_every_method_and_a_figure(output):
    result = _run("table2", output)
    text = result.markdown
    for method in ("Zero-filling", "TV", "DnCn", "LDA", "UNet", "Meta", "U-LDA"):
        assert f"| ours | {method} |" in text
    assert "| published | U-LDA | 32.13 | 37.54 | 40.48 | 34.90 | 38.80 |" in text
    assert "| published | DnCn | 29.85 |" in text and "| published | UNet | 26.93 |" in text
    assert "published only: U-MRI, HUMUS-Net" in text
    assert "NOT the paper's data" in text and "SMOKE profile" in text
    rows = _rows(result.per_image)
    assert len(rows) == 5 * 7 * 2  # columns x methods x test images
    assert all(np.isfinite(float(row["psnr"])) for row in rows)
    runs = output / "runs"
    for run in (
        "sampling_universal_init/universal",
        "sampling_universal_init/lda_domain3",
        "sampling_lda_pooled",
        "sampling_dncn_pooled",
        "sampling_dncn_finetune_15",
        "sampling_unet_pooled",
        "sampling_unet_finetune_25",
    ):
        assert (runs / run / "model.keras").is_file(), run
    assert {p.name for p in (runs / "sampling_transfer_aug").iterdir()} >= {"aug1", "aug2", "transfer"}
    assert result.figures[0].read_bytes()[:4] == b"\x89PNG"
    recorded = json.loads((output / "ulda_table2" / "config.json").read_text())
    assert recorded["settings"]["experiment"] == "table2" and recorded["settings"]["transfers"] == [
        "sampling"
    ]


@pytest.mark.slow
def test_table4_reuses_table2s_runs(output):
    model = output / "runs" / "sampling_transfer_aug" / "transfer" / "model.keras"
    stamp = model.stat().st_mtime
    result = _run("table4", output)
    assert model.stat().st_mtime == stamp  # Table 2's U-LDA is Table 4's last row, not retrained
    for row in (
        "no adapter/no Init/no AUG",
        "adapter/no Init/no AUG",
        "adapter/Init/no AUG",
        "adapter/Init/AUG",
    ):
        assert f"| ours | {row} |" in result.markdown
    assert "| published | adapter/Init/AUG | 33.31 | 34.90 | 33.58 |" in result.markdown


@pytest.mark.slow
@pytest.mark.parametrize("table, values", [("table5", ("0.1", "0.01")), ("table6", ("0.001", "0.1"))])
def test_tables_5_and_6_sweep_step_1(output, table, values):
    result = _run(table, output)
    assert len({row["method"] for row in _rows(result.per_image)}) == 2
    assert "published | U-LDA" in result.markdown and all(f"={v}" in result.markdown for v in values)


@pytest.mark.slow
def test_table3_cross_modality_on_the_stand_ins(output):
    result = _run("table3", output)
    assert "NOT ImageNet" in result.markdown and "NOT CIFAR-10" in result.markdown
    assert "no stand-in for Stanford2D†" in result.markdown
    assert "Meta: not run" in result.markdown
    columns = {row["column"] for row in _rows(result.per_image)}
    assert columns == {"ImageNet", "CIFAR-10", "fastMRI"}


@pytest.mark.slow
def test_figures_6_and_7(output):
    result = _run("figure6", output)
    rows = _rows(result.per_image)
    assert {int(row["phases"]) for row in rows} == {1, 3}  # smoke stairs: 1 phase, then 3
    assert all(-1 <= float(row["ncc"]) <= 1 and 0 <= float(row["cka"]) <= 1 + 1e-9 for row in rows)
    assert [p.name for p in result.figures] == ["figure6_cka.png", "figure6_ncc.png"]
    result = _run("figure7", output)
    rows = _rows(result.per_image)
    assert {(row["images"], row["draw"]) for row in rows} == {("1", "0"), ("1", "1"), ("2", "0"), ("2", "1")}
    assert {row["method"] for row in rows} == {"DnCn", "LDA", "UNet", "Meta", "U-LDA"}
    assert "± " in result.markdown and result.figures[0].name == "figure7_sampling.png"


@pytest.mark.slow
def test_table1_on_converted_datasets(tmp_path):
    """Four tiny datasets made by the image converter (the paper profile's layout under data_root)."""
    root = tmp_path / "root"
    rng = np.random.default_rng(0)
    for index, name in enumerate(("fastmri_brain", "fastmri_knee", "cardiac", "prostate")):
        raw = tmp_path / "raw" / name
        raw.mkdir(parents=True)
        yy, xx = np.mgrid[:40, :45]
        stack = [
            np.cos(0.1 * (index + 1) * yy + k) ** 2 + 0.1 * rng.random((40, 45)) + xx / 45 for k in range(12)
        ]
        np.save(raw / "stack.npy", np.stack(stack))
        convert_images(raw, root / name, size=(160, 180), split_by="image", fractions=(0.5, 0.25, 0.25))
    result = _run("table1", tmp_path / "out", data_root=str(root))
    assert "NOT the paper's data" not in result.markdown
    assert {row["column"] for row in _rows(result.per_image)} == {"Brain", "Knee", "Cardiac", "Prostate"}
    assert re.search(r"\| published \| U-LDA \| 37.88 \| 32.47 \| 37.26 \| 33.31 \|", result.markdown)
