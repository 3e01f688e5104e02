import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from lda_tf.data import load_images, read_manifest
from lda_tf.data.fastmri import convert_fastmri, split_counts, split_files
from tests.data.synthetic import make_fastmri_files


@pytest.mark.parametrize("multicoil, key", [(False, "reconstruction_esc"), (True, "reconstruction_rss")])
def test_conversion_crops_normalises_and_splits_by_file(tmp_path, multicoil, key):
    files = make_fastmri_files(tmp_path / "raw", num_files=4, multicoil=multicoil)
    output = tmp_path / "out"
    manifest = convert_fastmri(
        tmp_path / "raw", output, size=(24, 24), skip_edge_slices=1, fractions=(0.5, 0.25, 0.25)
    )
    patients = {split: entry["patients"] for split, entry in manifest["splits"].items()}
    assert sorted(sum(patients.values(), [])) == sorted(path.stem for path in files)
    assert [len(patients[s]) for s in ("train", "val", "test")] == [2, 1, 1]
    first = patients["train"][0]
    source = manifest["splits"]["train"]["sources"][first]
    assert source["slices"] == [1, 2, 3] and source["attributes"]["ground_truth"] == key
    assert source["attributes"]["acquisition"] == "CORPD_FBK"
    with h5py.File(tmp_path / "raw" / f"{first}.h5") as handle:
        expected = handle[key][1:4, 4:28, 3:27]
    images = load_images(output, "train")
    assert images.shape == (6, 24, 24)
    np.testing.assert_allclose(images[:3], expected / expected.max(axis=(1, 2), keepdims=True), rtol=1e-6)


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _drop(name):
    def drop(path):
        with h5py.File(path, "a") as handle:
            for key in [k for k in handle if k.startswith(name)]:
                del handle[key]

    return drop


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (_truncate, "cannot open as HDF5"),
        (_drop("reconstruction"), "no ground truth"),
        (_drop("kspace"), "not a fastMRI file"),
    ],
)
def test_bad_files_name_the_file_and_leave_no_output(tmp_path, corrupt, message):
    files = make_fastmri_files(tmp_path / "raw", num_files=3)
    corrupt(files[1])
    with pytest.raises(ValueError, match=rf"{files[1].name}.*{message}"):
        convert_fastmri(tmp_path / "raw", tmp_path / "out", size=(24, 24), fractions=(1 / 3, 1 / 3, 1 / 3))
    assert not (tmp_path / "out").exists()


def test_directory_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no .h5 files"):
        convert_fastmri(tmp_path / "empty", tmp_path / "out")
    make_fastmri_files(tmp_path / "raw", num_files=2)
    with pytest.raises(ValueError, match="too few"):
        convert_fastmri(tmp_path / "raw", tmp_path / "out", size=(24, 24))
    with pytest.raises(ValueError, match="smaller than the crop"):
        convert_fastmri(tmp_path / "raw", tmp_path / "out", size=(256, 256), fractions=(0.5, 0.5, 0.0))


def test_command_line(tmp_path):
    make_fastmri_files(tmp_path / "raw", num_files=4)
    done = subprocess.run(
        [
            sys.executable,
            "data_prep/fastmri.py",
            f"--input_dir={tmp_path / 'raw'}",
            f"--output_dir={tmp_path / 'out'}",
            "--size=24,24",
            "--split_fractions=0.5,0.25,0.25",
            "--skip_edge_slices=1",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert read_manifest(tmp_path / "out")["provenance"]["settings"]["skip_edge_slices"] == 1


def test_five_files_split_three_one_one():
    files = [Path(f"file{index}.h5") for index in range(5)]
    chosen = split_files(files, (0.7, 0.15, 0.15), seed=0, source="raw")
    assert [len(chosen[split]) for split in ("train", "val", "test")] == [3, 1, 1]
    assert sorted(sum(chosen.values(), [])) == files
    for num_files in range(3, 40):
        counts = split_counts(num_files, (0.7, 0.15, 0.15))
        assert sum(counts) == num_files and min(counts) >= 1
        assert all(abs(c - f * num_files) < 1.5 for c, f in zip(counts, (0.7, 0.15, 0.15)))
    assert split_counts(10, (0.5, 0.5, 0.0)) == [5, 5, 0]


def test_esc_on_multicoil_files_names_the_cause(tmp_path):
    make_fastmri_files(tmp_path / "raw", num_files=3, multicoil=True)
    with pytest.raises(ValueError, match="multi-coil files carry only reconstruction_rss") as error:
        convert_fastmri(tmp_path / "raw", tmp_path / "out", size=(24, 24), target="esc")
    assert "test files" not in str(error.value)


def test_output_inside_the_input_is_refused(tmp_path):
    make_fastmri_files(tmp_path / "raw", num_files=3)
    for output in (tmp_path / "raw", tmp_path / "raw" / "out", tmp_path):
        with pytest.raises(ValueError, match="input"):
            convert_fastmri(tmp_path / "raw", output, size=(24, 24), overwrite=True)
    assert len(list((tmp_path / "raw").iterdir())) == 3


@pytest.mark.parametrize(
    "flag, message",
    [
        ("--split_fractions=nan,0.5,0.5", "error: --split_fractions must be three finite numbers"),
        ("--split_fractions=inf,0,0", "error: --split_fractions must be three finite numbers"),
        ("--split_fractions=a,b,c", "error: --split_fractions must be three finite numbers"),
        ("--seed=-3", "error: --seed must be >= 0"),
        ("--output_dir={raw}/file1000000.h5/out", "error: --output_dir .*lies under .*which is a file"),
    ],
)
def test_command_line_bad_flags_exit_2_before_any_work(tmp_path, flag, message):
    make_fastmri_files(tmp_path / "raw", num_files=3)
    done = subprocess.run(
        [
            sys.executable,
            "data_prep/fastmri.py",
            f"--input_dir={tmp_path / 'raw'}",
            f"--output_dir={tmp_path / 'out'}",
            "--size=24,24",
            flag.format(raw=tmp_path / "raw"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert re.search(message, done.stderr), done.stderr
    assert not (tmp_path / "out").exists()
