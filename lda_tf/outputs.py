"""Output directories of runs, reproductions and evaluations, how they are replaced (issue 13
item 1), and reading back a model file (item 7: :func:`load_model`).

A directory is *ours* when it holds a ``config.json`` written by
:func:`lda_tf.provenance.run_record` (a run, an evaluation, a reproduction's experiment folder).
``overwrite`` replaces only such a directory, never a file and never an unrecognised directory,
and never destroys before the new content is complete: it is built beside the old one in
``.<name>.partial-<pid>`` and :func:`swap`\\ ped in at the end, so a failed or killed overwrite leaves
the old content intact. A staging directory left by a killed process is removed by the next run
(:func:`remove_stale`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

CONFIG = "config.json"


def load_model(path: str | os.PathLike, name: str = "model"):
    """The :class:`~lda_tf.loa.model.UnrolledLOA` saved in the ``model.keras`` file ``path`` (the
    argument ``name`` of the caller). Raises :class:`FileNotFoundError` ("no such model file") or
    :class:`ValueError` ("not a readable Keras model file (...)", "not an UnrolledLOA model"),
    never Keras's own errors (which say "File not found" for a file that is not a zip)."""
    import keras

    from lda_tf.loa.model import UnrolledLOA  # registers the custom layers

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"argument `{name}` {path}: no such model file")
    if not path.is_file():
        raise ValueError(f"argument `{name}` {path}: not a readable Keras model file (a directory)")
    try:
        model = keras.models.load_model(path)
    except Exception as error:  # Keras raises many kinds (ValueError, BadZipFile, OSError, ...)
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(
            f"argument `{name}` {path}: not a readable Keras model file ({type(error).__name__}: {reason})"
        ) from None
    if not isinstance(model, UnrolledLOA):
        raise ValueError(f"argument `{name}` {path}: not an UnrolledLOA model (a {type(model).__name__})")
    return model


def is_ours(directory: str | os.PathLike) -> bool:
    """``directory`` holds a ``config.json`` record this package wrote."""
    try:
        record = json.loads((Path(directory) / CONFIG).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and {"tool", "settings", "lda_tf_version"} <= set(record)


def check_not_file(path: str | os.PathLike, name: str = "output_dir") -> None:
    """Raise :class:`FileExistsError` (naming the argument ``name``) when ``path`` or a folder
    above it is a file."""
    path = Path(path)
    for parent in (path, *path.parents):
        if parent.exists() and not parent.is_dir():
            raise FileExistsError(f"argument `{name}` {path}: {parent} is a file, not a directory")


def check_output_dir(path: str | os.PathLike, name: str = "output_dir") -> bool:
    """Raise :class:`FileExistsError` (naming the argument ``name``) when ``path`` or a folder
    above it is a file, or ``path`` is a non-empty directory that is not ours; returns whether
    ``path`` exists (then it is ours or empty)."""
    path = Path(path)
    check_not_file(path, name)
    if not path.exists():
        return False
    entries = sorted(entry.name for entry in path.iterdir())
    if entries and not is_ours(path):
        raise FileExistsError(
            f"argument `{name}` {path} exists and was not written by lda_tf (it holds "
            f"{', '.join(entries[:5])}); it is never replaced, even with `overwrite`: choose another "
            f"`{name}`"
        )
    return True


def staging(path: str | os.PathLike) -> Path:
    """Where this process builds the replacement of ``path`` (removed first if it exists: the name
    is this process's own)."""
    path = Path(path)
    directory = path.with_name(f".{path.name}.partial-{os.getpid()}")
    shutil.rmtree(directory, ignore_errors=True)
    return directory


def swap(staged: str | os.PathLike, path: str | os.PathLike) -> None:
    """Put the complete ``staged`` directory in place of ``path`` (the old one is removed last)."""
    staged, path = Path(staged), Path(path)
    if not path.exists():
        os.rename(staged, path)
        return
    retired = path.with_name(f".{path.name}.old-{os.getpid()}")
    shutil.rmtree(retired, ignore_errors=True)
    os.rename(path, retired)
    os.rename(staged, path)
    shutil.rmtree(retired, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(path: str | os.PathLike) -> list[Path]:
    """Remove the staging directories (``.<name>.partial-<pid>``, ``.<name>.old-<pid>``) of
    ``path`` whose process is gone; returns them. A process killed between the two renames of
    :func:`swap` leaves no ``path`` and the old content in ``.<name>.old-<pid>``: that one is put
    back in place instead of removed."""
    path = Path(path)
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(partial|old)-(\d+)$")
    removed = []
    if not path.parent.is_dir():
        return removed
    stale = sorted(
        (match.group(1) == "partial", entry)  # old ones first: one may have to be put back
        for entry in path.parent.iterdir()
        if (match := pattern.match(entry.name))
        and entry.is_dir()
        and not entry.is_symlink()
        and not _alive(int(match.group(2)))
    )
    for is_partial, entry in stale:
        if not is_partial and not path.exists():
            os.rename(entry, path)
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed
