import json
import re
import subprocess
import sys

import nibabel
import numpy as np
import pytest

from lda_tf.data import load_images, read_manifest, verify_checksums
from lda_tf.data.brats import BratsProtocol, convert_brats
from tests.data.synthetic import BRATS_CROP, brats_volume, make_brats_tree, write_nifti

PROTOCOL = BratsProtocol(
    modality="t1", num_train=3, num_val=2, num_test=2, crop=BRATS_CROP, num_slices=4, seed=0
)


@pytest.fixture
def tree(tmp_path):
    return make_brats_tree(tmp_path / "raw")


def test_conversion_follows_the_protocol(tree, tmp_path):
    train_root, val_root, cases = tree
    output = tmp_path / "brats_t1"
    manifest = convert_brats(train_root, val_root, output, PROTOCOL)
    splits = manifest["splits"]
    train, val, test = (set(splits[name]["patients"]) for name in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (3, 2, 2)
    assert train.isdisjoint(test) and all(
        name.startswith("Brats18_TCIA01") for name in train | test
    )  # HGG only
    assert all(name.startswith("Brats18_CBICA") for name in val)  # validation release
    assert read_manifest(output) == json.loads((output / "manifest.json").read_text())
    verify_checksums(output)
    for split in ("train", "val", "test"):
        images = load_images(output, split)
        assert images.shape == (4 * len(splits[split]["patients"]),) + BRATS_CROP
        for index, patient in enumerate(splits[split]["patients"]):
            assert splits[split]["sources"][patient]["slices"] == [4, 5, 6, 7]  # central 4 of 12
            volume = brats_volume(cases[patient])
            for offset, z in enumerate(range(4, 8)):
                expected = volume[4:20, 4:22, z]  # centre crop 16x18 of 24x26
                np.testing.assert_allclose(images[4 * index + offset], expected / expected.max(), rtol=1e-6)
    assert images.max() == pytest.approx(1.0)


def test_patient_choice_is_seeded(tree, tmp_path):
    train_root, val_root, _ = tree
    first = convert_brats(train_root, val_root, tmp_path / "a", PROTOCOL)["splits"]
    again = convert_brats(train_root, val_root, tmp_path / "b", PROTOCOL)["splits"]
    other = convert_brats(
        train_root, val_root, tmp_path / "c", BratsProtocol(**{**PROTOCOL.__dict__, "seed": 5})
    )["splits"]
    assert first == again
    assert [first[s]["patients"] for s in first] != [other[s]["patients"] for s in other]


def _corrupt_every(train_root, modality, corrupt):
    for path in sorted((train_root / "HGG").glob(f"*/*_{modality}.nii.gz")):
        corrupt(path)


def _nan_volume(path):
    volume = np.asarray(nibabel.load(str(path)).get_fdata(), np.float32)
    volume[3, 3, 6] = np.nan
    write_nifti(path, volume)


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flatten(path):
    write_nifti(path, np.ones((24, 26), np.float32))


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (_nan_volume, "NaN or Inf"),
        (_truncate, "cannot read as NIfTI"),
        (_flatten, "expected a 3D volume"),
        (lambda path: path.unlink(), "missing the t1 volume"),
    ],
)
def test_bad_volumes_name_the_file_and_leave_no_output(tree, tmp_path, corrupt, message):
    train_root, val_root, _ = tree
    _corrupt_every(train_root, "t1", corrupt)
    output = tmp_path / "out"
    with pytest.raises(
        (ValueError, FileNotFoundError),
        match=rf"Brats18_TCIA01_\d+_1_t1\.nii\.gz.*{message}|{message}.*Brats18",
    ):
        convert_brats(train_root, val_root, output, PROTOCOL)
    assert not output.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["raw"]  # no partial directory either


def test_layout_errors(tree, tmp_path):
    train_root, val_root, _ = tree
    with pytest.raises(ValueError, match="fewer than the 30 train"):
        convert_brats(train_root, val_root, tmp_path / "out", BratsProtocol(crop=BRATS_CROP, num_slices=4))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no case folders"):
        convert_brats(train_root, empty, tmp_path / "out", PROTOCOL)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        convert_brats(tmp_path / "nowhere", val_root, tmp_path / "out", PROTOCOL)
    with pytest.raises(ValueError, match="smaller than the crop"):
        convert_brats(
            train_root, val_root, tmp_path / "out", BratsProtocol(**{**PROTOCOL.__dict__, "crop": (30, 30)})
        )
    assert not (tmp_path / "out").exists()


def test_command_line_converts_and_refuses_to_overwrite(tree, tmp_path):
    train_root, val_root, _ = tree
    output = tmp_path / "cli"
    command = [
        sys.executable,
        "data_prep/brats.py",
        f"--brats_train_dir={train_root}",
        f"--brats_val_dir={val_root}",
        f"--output_dir={output}",
        "--num_train=3",
        "--num_val=2",
        "--num_test=2",
        "--crop=16,18",
        "--num_slices=4",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    provenance = read_manifest(output)["provenance"]
    assert provenance["settings"]["num_train"] == 3 and provenance["lda_tf_version"]
    assert provenance["git_commit"]
    again = subprocess.run(command, capture_output=True, text=True)
    assert (
        again.returncode == 2
        and "exists; pass --overwrite" in again.stderr
        and "Traceback" not in again.stderr
    )
    bad_flag = subprocess.run(command[:-1] + ["--crop=16"], capture_output=True, text=True)
    assert bad_flag.returncode != 0 and "--crop must be two positive integers" in bad_flag.stderr


def test_overwrite_replaces_only_a_converted_dataset_and_only_when_complete(tree, tmp_path):
    train_root, val_root, _ = tree
    for not_ours in (train_root, train_root / "HGG", tmp_path / "raw", val_root / "inside"):
        with pytest.raises(ValueError, match="input"):
            convert_brats(train_root, val_root, not_ours, PROTOCOL, overwrite=True)
    thesis = tmp_path / "thesis.tex"
    thesis.write_text("years of work")
    with pytest.raises(ValueError, match="is a file"):
        convert_brats(train_root, val_root, thesis, PROTOCOL, overwrite=True)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="holds no manifest.json"):
        convert_brats(train_root, val_root, foreign, PROTOCOL, overwrite=True)
    assert thesis.read_text() == "years of work" and (foreign / "notes.txt").read_text() == "mine"
    output = tmp_path / "out"
    convert_brats(train_root, val_root, output, PROTOCOL)
    before = {path.name: path.read_bytes() for path in output.iterdir()}
    chosen = read_manifest(output)["splits"]["val"]["sources"]
    broken = next(iter(chosen.values()))["file"]
    with open(broken, "r+b") as handle:
        handle.truncate(100)
    with pytest.raises(ValueError, match="cannot read as NIfTI"):
        convert_brats(train_root, val_root, output, PROTOCOL, overwrite=True)
    assert {path.name: path.read_bytes() for path in output.iterdir()} == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["foreign", "out", "raw", "thesis.tex"]


def test_command_line_refuses_bad_output_and_seed_before_any_work(tree, tmp_path):
    train_root, val_root, _ = tree
    thesis = tmp_path / "thesis.tex"
    thesis.write_text("years of work")
    base = [
        sys.executable,
        "data_prep/brats.py",
        f"--brats_train_dir={train_root}",
        f"--brats_val_dir={val_root}",
        "--num_train=3",
        "--num_val=2",
        "--num_test=2",
        "--crop=16,18",
        "--num_slices=4",
    ]
    for extra, message in [
        ([f"--output_dir={thesis}", "--overwrite"], "error: --output_dir .*is a file"),
        ([f"--output_dir={thesis / 'out'}"], "error: --output_dir .*lies under .*which is a file"),
        ([f"--output_dir={train_root}", "--overwrite"], "error: --output_dir .*input"),
        ([f"--output_dir={tmp_path / 'out'}", "--seed=-1"], "error: --seed must be >= 0"),
    ]:
        done = subprocess.run(base + extra, capture_output=True, text=True)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert re.search(message, done.stderr), done.stderr
    assert thesis.read_text() == "years of work" and not (tmp_path / "out").exists()
