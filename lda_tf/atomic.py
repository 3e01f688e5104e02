"""No partial outputs: build a directory under a temporary name, rename it into place at the end.

Rules (issue 13):
- an output that exists is replaced only with ``overwrite``, only if it is a directory, and, when the
  caller names a ``marker`` file (a dataset's ``manifest.json``), only if that marker is in it: a
  regular file or a directory this package did not write is never replaced;
- an output is never an input, inside an input, or a folder holding an input (``inputs``);
- the new content is built beside the old one and swapped in only when complete, so a failure leaves
  the old output as it was;
- temporary names carry the writer's process id (``.<name>.partial-<pid>-<random>``); the next
  writer of the same output removes those whose process no longer runs (a killed converter);
- outputs get the permissions the user's umask gives (like any file the user creates).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path


class OutputExistsError(FileExistsError):
    """The output exists and ``overwrite`` was not given."""


class UnsafeOutputError(ValueError):
    """The output is a file, lies under a file, is (or holds, or lies inside) an input, or is a
    directory this package did not write: never replaced, even with ``overwrite``."""


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_not_file(path: str | os.PathLike, name: str = "output_dir") -> None:
    """Raise :class:`UnsafeOutputError` (naming the argument ``name``) when ``path`` or a folder
    above it is a file: an output is never a file and never lies under one."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UnsafeOutputError(
            f"`{name}` {path}: is a file, not an output directory; it is never replaced (choose another path)"
        )
    for ancestor in path.resolve().parents:
        if ancestor.exists() and not ancestor.is_dir():
            raise UnsafeOutputError(f"`{name}` {path}: lies under {ancestor}, which is a file")


def check_writable(
    output_dir: str | os.PathLike,
    overwrite: bool,
    marker: str | None = None,
    inputs: Iterable[str | os.PathLike] = (),
    name: str = "output_dir",
) -> None:
    """Raise unless ``output_dir`` may be written (module docstring); callers call it before any
    work, so a refused output costs nothing. Errors name the argument ``name``."""
    output_dir = Path(output_dir)
    check_not_file(output_dir, name)
    resolved = output_dir.resolve()
    for source in inputs:
        source_path = Path(source).resolve()
        if _under(resolved, source_path) or _under(source_path, resolved):
            relation = "is or lies inside" if _under(resolved, source_path) else "holds"
            raise UnsafeOutputError(
                f"`{name}` {output_dir}: {relation} the input {source}; choose an output outside the inputs"
            )
    if not output_dir.exists() and not output_dir.is_symlink():
        return
    if not overwrite:
        raise OutputExistsError(f"`{name}` {output_dir}: exists; pass --overwrite to replace it")
    if marker is not None and not (output_dir / marker).is_file():
        raise UnsafeOutputError(
            f"`{name}` {output_dir}: exists and holds no {marker}, so it was not written by lda_tf; "
            "--overwrite replaces only lda_tf's own outputs (choose another path or remove it yourself)"
        )


# ``.<name>.partial-<pid>[-<hex>][.keras]`` (being written) and ``.<name>.old-<pid>[-<hex>]`` (the
# output being replaced, during a swap): the writer's process id tells a stale one from a live one.
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|old)-(?P<pid>\d+)(?:-[0-9a-f]+)?(?:\.keras)?$")


def _process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary siblings of ``path`` (:func:`staging` names) left by writers that no
    longer run (killed mid-write); ones of a running process are kept. A writer killed between the
    two renames of :func:`swap` leaves no ``path`` and the old content under its ``.old-`` name:
    that one is put back in place instead of removed. Returns what was removed."""
    path = Path(path)
    removed: list[Path] = []
    if not path.parent.is_dir():
        return removed
    stale = sorted(  # old ones first: one may have to be put back
        (match["kind"] == "partial", candidate)
        for candidate in path.parent.iterdir()
        if (match := _TEMPORARY.match(candidate.name))
        and match["name"] == path.name
        and not _process_runs(int(match["pid"]))
    )
    for is_partial, candidate in stale:
        if not is_partial and not path.exists():
            os.rename(candidate, path)
            continue
        if candidate.is_dir() and not candidate.is_symlink():
            shutil.rmtree(candidate, ignore_errors=True)
        else:
            candidate.unlink(missing_ok=True)
        removed.append(candidate)
    return removed


def staging(path: str | os.PathLike, kind: str = "partial", suffix: str = "") -> Path:
    """A fresh name beside ``path`` where this process builds its replacement (not created)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}{suffix}")


def swap(staged: str | os.PathLike, path: str | os.PathLike) -> None:
    """Put the complete directory ``staged`` in place of ``path``; an old ``path`` is renamed aside
    first and removed last, so at every moment one complete version exists (:func:`remove_stale`
    puts it back if the writer dies between the renames)."""
    staged, path = Path(staged), Path(path)
    if not path.exists():
        os.rename(staged, path)
        return
    retired = staging(path, "old")
    os.rename(path, retired)
    os.rename(staged, path)
    shutil.rmtree(retired, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(
    output_dir: str | os.PathLike,
    overwrite: bool = False,
    marker: str | None = None,
    inputs: Iterable[str | os.PathLike] = (),
) -> Iterator[Path]:
    """Yield a fresh temporary directory beside ``output_dir``; on success it becomes
    ``output_dir`` (replacing an existing one only as :func:`check_writable` allows); on error it is
    removed and ``output_dir`` is untouched."""
    output_dir = Path(output_dir)
    remove_stale(output_dir)  # first: it may put back an output a killed swap left aside
    check_writable(output_dir, overwrite, marker, inputs)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging_dir = staging(output_dir)
    staging_dir.mkdir()  # mode 0777 less the umask
    try:
        yield staging_dir
    except BaseException:
        shutil.rmtree(staging_dir, ignore_errors=True)
        raise
    if output_dir.exists():
        check_writable(output_dir, overwrite, marker, inputs)  # it may have appeared meanwhile
    swap(staging_dir, output_dir)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "w", **open_kwargs) -> Iterator:
    """Open a temporary file beside ``path`` for writing; it replaces ``path`` only when the block
    succeeds, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path)
    partial = staging(path)
    os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # 0666 less the umask
    try:
        with open(partial, mode, **open_kwargs) as handle:
            yield handle
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def save_model(model, path: str | os.PathLike) -> None:
    """``model.save(path)`` through a temporary ``.keras`` name beside it, so ``path`` is never a
    partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path)
    partial = staging(path, suffix=".keras")
    try:
        model.save(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
