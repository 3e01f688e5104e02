"""Checkpoints of a run (lda_tf.training.checkpoint): a resume falls back from a damaged newest
checkpoint to the newest intact one, and says so; none intact is an error, not a fresh start
(issue 13 item 5)."""

import json
import shutil
from pathlib import Path

import pytest

from lda_tf.recipes import meta_config, train
from lda_tf.training.checkpoint import DamagedCheckpoints, newest_intact
from tests.training.test_run import QUICK, finished  # noqa: F401  (the module's finished run)


def _resumable(source: Path, tmp_path: Path) -> Path:
    """A copy of the finished run as if killed after its last checkpoint."""
    run = tmp_path / "run"
    shutil.copytree(source, run)
    (run / "model.keras").unlink()
    return run


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8] = bytes(255 - byte for byte in data[middle : middle + 8])
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


DAMAGE = {
    "data flipped": ("ckpt-2.data-00000-of-00001", _flip),
    "data truncated": ("ckpt-2.data-00000-of-00001", _truncate),
    "data deleted": ("ckpt-2.data-00000-of-00001", Path.unlink),
    "index flipped": ("ckpt-2.index", _flip),
    "index truncated": ("ckpt-2.index", _truncate),
    "index deleted": ("ckpt-2.index", Path.unlink),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_newest_checkpoint_falls_back_to_the_newest_intact_one(finished, tmp_path, damage):  # noqa: F811
    checkpoints = tmp_path / "checkpoints"
    shutil.copytree(finished / "checkpoints", checkpoints)
    assert newest_intact(checkpoints) == checkpoints / "ckpt-2"
    name, spoil = DAMAGE[damage]
    spoil(checkpoints / name)
    with pytest.warns(UserWarning, match=r"damaged checkpoint: .*ckpt-2.*; resuming from ckpt-1"):
        assert newest_intact(checkpoints) == checkpoints / "ckpt-1"


def test_resume_after_damage_trains_on_from_the_intact_checkpoint(finished, tmp_path):  # noqa: F811
    run = _resumable(finished, tmp_path)
    _flip(run / "checkpoints" / "ckpt-2.data-00000-of-00001")
    with pytest.warns(UserWarning, match="ckpt-2"):
        train(meta_config(str(run), **QUICK))
    assert (run / "model.keras").is_file()
    record = json.loads((run / "config.json").read_text())
    assert len(record["invocations"]) == 2  # resumed, not started afresh
    assert len((run / "history.csv").read_text().splitlines()) == 1 + 3  # epochs 1, 2 and 2 again


def test_a_garbage_state_file_resumes_from_the_checkpoint_files(finished, tmp_path):  # noqa: F811
    run = _resumable(finished, tmp_path)
    (run / "checkpoints" / "checkpoint").write_text("garbage {{{ not a checkpoint state\n")
    train(meta_config(str(run), **QUICK))
    record = json.loads((run / "config.json").read_text())
    assert len(record["invocations"]) == 2  # resumed from ckpt-2; the checkpoints were not wiped
    assert len((run / "history.csv").read_text().splitlines()) == 1 + 2  # nothing retrained
    assert (run / "checkpoints" / "ckpt-1.index").is_file()


def test_no_intact_checkpoint_is_an_error_that_says_so(finished, tmp_path):  # noqa: F811
    run = _resumable(finished, tmp_path)
    for number in (1, 2):
        _flip(run / "checkpoints" / f"ckpt-{number}.data-00000-of-00001")
    before = (run / "config.json").read_bytes()
    with pytest.raises(DamagedCheckpoints, match="no intact checkpoint") as error:
        train(meta_config(str(run), **QUICK))
    assert "holds no checkpoint" not in str(error.value) and "ckpt-1" in str(error.value)
    assert (run / "config.json").read_bytes() == before
    assert (run / "checkpoints" / "ckpt-2.index").is_file()
