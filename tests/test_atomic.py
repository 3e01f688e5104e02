import os
import stat
import subprocess
import sys

import pytest

from lda_tf.atomic import (
    OutputExistsError,
    UnsafeOutputError,
    atomic_directory,
    atomic_file,
    check_writable,
    remove_stale,
)


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def _ours(path, text="old"):
    path.mkdir()
    (path / "manifest.json").write_text("{}")
    (path / "data").write_text(text)
    return path


def test_a_file_is_never_replaced(tmp_path):
    target = tmp_path / "thesis.tex"
    target.write_text("years of work")
    with pytest.raises(UnsafeOutputError, match="is a file"):
        check_writable(target, overwrite=True, marker="manifest.json")
    with pytest.raises(UnsafeOutputError, match="lies under .*thesis.tex, which is a file"):
        check_writable(target / "out", overwrite=True)
    assert target.read_text() == "years of work"


def test_a_directory_without_our_marker_is_never_replaced(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("years of work")
    with pytest.raises(UnsafeOutputError, match="holds no manifest.json"):
        with atomic_directory(foreign, overwrite=True, marker="manifest.json"):
            pass
    assert (foreign / "thesis.tex").read_text() == "years of work"
    with pytest.raises(OutputExistsError, match="pass --overwrite"):
        check_writable(_ours(tmp_path / "ours"), overwrite=False, marker="manifest.json")


@pytest.mark.parametrize("where", ["same", "inside", "above"])
def test_an_input_is_never_the_output(tmp_path, where):
    source = tmp_path / "raw"
    (source / "case").mkdir(parents=True)
    (source / "manifest.json").write_text("{}")  # even a tree that looks like ours
    output = {"same": source, "inside": source / "case" / "out", "above": tmp_path}[where]
    with pytest.raises(UnsafeOutputError, match="input"):
        check_writable(output, overwrite=True, marker="manifest.json", inputs=[source])
    assert (source / "case").is_dir()


def test_a_failed_overwrite_keeps_the_old_output(tmp_path):
    output = _ours(tmp_path / "out")
    with pytest.raises(RuntimeError):
        with atomic_directory(output, overwrite=True, marker="manifest.json") as staging:
            (staging / "data").write_text("new")
            raise RuntimeError("conversion failed half-way")
    assert (output / "data").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with atomic_directory(output, overwrite=True, marker="manifest.json") as staging:
        (staging / "manifest.json").write_text("{}")
        (staging / "data").write_text("new")
    assert (output / "data").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".out.partial-{dead_pid}-0123abcd"
    live = tmp_path / f".out.partial-{os.getpid()}-0123abcd"
    other = tmp_path / f".other.partial-{dead_pid}-0123abcd"
    stale_file = tmp_path / f".report.csv.partial-{dead_pid}-0123abcd"
    for folder in (stale, live, other):
        folder.mkdir()
    stale_file.write_text("half")
    with atomic_directory(tmp_path / "out") as staging:
        (staging / "manifest.json").write_text("{}")
    assert not stale.exists() and live.exists() and other.exists()
    with atomic_file(tmp_path / "report.csv") as handle:
        handle.write("done")
    assert not stale_file.exists()
    assert remove_stale(tmp_path / "other") == [other]


def test_outputs_follow_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        with atomic_directory(tmp_path / "out") as staging:
            (staging / "manifest.json").write_text("{}")
        with atomic_file(tmp_path / "report.csv") as handle:
            handle.write("x")
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "out") == 0o755
    assert _mode(tmp_path / "report.csv") == 0o644
