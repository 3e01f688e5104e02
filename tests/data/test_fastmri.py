import subprocess
import sys

import h5py
import numpy as np
import pytest

from lda_tf.data import load_images, read_manifest
from lda_tf.data.fastmri import convert_fastmri
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
