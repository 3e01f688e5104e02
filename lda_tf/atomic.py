"""No partial outputs: build a directory under a temporary name, rename it into place at the end."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


class OutputExistsError(FileExistsError):
    """The output exists and ``overwrite`` was not given."""


def check_writable(output_dir: str | os.PathLike, overwrite: bool) -> None:
    """Raise :class:`OutputExistsError` if ``output_dir`` exists and ``overwrite`` is not set
    (converters call it before their work too, to fail before converting anything)."""
    if Path(output_dir).exists() and not overwrite:
        raise OutputExistsError(f"{output_dir} exists; pass --overwrite to replace it")


@contextlib.contextmanager
def atomic_directory(output_dir: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary directory beside ``output_dir``; on success it becomes
    ``output_dir`` (replacing an existing one only with ``overwrite``); on error it is removed and
    ``output_dir`` is untouched."""
    output_dir = Path(output_dir)
    check_writable(output_dir, overwrite)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.partial-", dir=output_dir.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if output_dir.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.old-", dir=output_dir.parent))
        os.rename(output_dir, retired / "old")
        os.rename(staging, output_dir)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.rename(staging, output_dir)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "w", **open_kwargs) -> Iterator:
    """Open a temporary file beside ``path`` for writing; it replaces ``path`` only when the block
    succeeds, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, staging = tempfile.mkstemp(prefix=f".{path.name}.partial-", dir=path.parent)
    os.close(descriptor)
    try:
        with open(staging, mode, **open_kwargs) as handle:
            yield handle
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


def save_model(model, path: str | os.PathLike) -> None:
    """``model.save(path)`` through a temporary ``.keras`` name beside it, so ``path`` is never a
    partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial.keras")
    try:
        model.save(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
