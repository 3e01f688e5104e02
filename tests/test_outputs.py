"""Output directories (lda_tf.outputs, lda_tf.atomic): what counts as ours, files never replaced,
stale staging removed; and model files read back with one clear error per kind of damage (issue 13
items 1, 7)."""

import json
import subprocess
import sys
import zipfile

import keras
import pytest

from lda_tf import atomic, outputs
from lda_tf.provenance import run_record


@pytest.fixture(scope="module")
def dense_model(tmp_path_factory):
    """A valid Keras file that is not an UnrolledLOA."""
    path = tmp_path_factory.mktemp("dense") / "model.keras"
    keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]).save(path)
    return path


def test_missing_and_unreadable_model_files_say_what_is_wrong(tmp_path, dense_model):
    with pytest.raises(FileNotFoundError, match=r"none\.keras: no such model file"):
        outputs.load_model(tmp_path / "none.keras")
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"\x00 not a model " * 100)
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(dense_model.read_bytes()[: dense_model.stat().st_size // 2])
    not_keras = tmp_path / "other.keras"
    with zipfile.ZipFile(not_keras, "w") as archive:
        archive.writestr("readme.txt", "a zip, not a Keras model")
    for path in (garbage, truncated, not_keras, tmp_path):
        with pytest.raises(ValueError, match=r"not a readable Keras model file \(.+\)") as error:
            outputs.load_model(path, "init_model")
        assert f"argument `init_model` {path}:" in str(error.value)
    with pytest.raises(ValueError, match="not an unrolled network model"):
        outputs.load_model(dense_model)


def test_files_and_folders_not_ours_are_refused(tmp_path):
    (tmp_path / "file").write_text("precious")
    for path in (tmp_path / "file", tmp_path / "file" / "below"):
        with pytest.raises(atomic.UnsafeOutputError, match="is a file"):
            outputs.check_output_dir(path)
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "thesis.tex").write_text("precious")
    (tmp_path / "thesis" / "config.json").write_text(json.dumps({"tool": "latexmk"}))
    with pytest.raises(FileExistsError, match="not written by lda_tf"):
        outputs.check_output_dir(tmp_path / "thesis")
    (tmp_path / "ours").mkdir()
    (tmp_path / "ours" / "config.json").write_text(json.dumps(run_record("x", {})))
    assert outputs.check_output_dir(tmp_path / "ours") and not outputs.check_output_dir(tmp_path / "new")


def test_swap_replaces_and_stale_staging_of_dead_processes_is_removed(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    staged = atomic.staging(target)
    staged.mkdir()
    (staged / "new.txt").write_text("new")
    atomic.swap(staged, target)
    assert [path.name for path in target.iterdir()] == ["new.txt"]
    dead = int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout
    )
    stale, other = tmp_path / f".out.partial-{dead}", tmp_path / f".other.partial-{dead}"
    stale.mkdir(), other.mkdir()
    alive = atomic.staging(target)
    alive.mkdir()
    assert atomic.remove_stale(target) == [stale]
    assert alive.exists() and other.exists() and not stale.exists()


def test_a_swap_killed_between_its_renames_puts_the_old_content_back(tmp_path):
    dead = int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout
    )
    old, partial = tmp_path / f".out.old-{dead}", tmp_path / f".out.partial-{dead}"
    old.mkdir(), partial.mkdir()
    (old / "result.csv").write_text("old")
    atomic.remove_stale(tmp_path / "out")
    assert (tmp_path / "out" / "result.csv").read_text() == "old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
