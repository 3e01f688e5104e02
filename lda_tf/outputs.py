"""Output directories of runs, reproductions and evaluations, how they are replaced (issue 13
item 1), and reading back a model file (item 7: :func:`load_model`).

A directory is *ours* when it holds a ``config.json`` written by
:func:`lda_tf.provenance.run_record` (a run, an evaluation, a reproduction's experiment folder).
``overwrite`` replaces only such a directory, never a file and never an unrecognised directory,
and never destroys before the new content is complete: it is built beside the old one
(:func:`lda_tf.atomic.staging`) and swapped in at the end (:func:`lda_tf.atomic.swap`), so a failed
or killed overwrite leaves the old content intact; a killed writer's leftovers are removed by the
next run (:func:`lda_tf.atomic.remove_stale`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from lda_tf.atomic import check_not_file, remove_stale

CONFIG = "config.json"


def load_model(path: str | os.PathLike, name: str = "model"):
    """The unrolled network (:class:`~lda_tf.loa.model.UnrolledNetwork`: an ``UnrolledLOA``, a
    ``ReleaseUnrolled`` or a CNN baseline of :mod:`lda_tf.cnn`) saved in the ``model.keras`` file
    ``path`` (the argument ``name`` of the caller). Raises :class:`FileNotFoundError` ("no such
    model file") or :class:`ValueError` ("not a readable Keras model file (...)", "not an unrolled
    network model"), never Keras's own errors (which say "File not found" for a file that is not a
    zip)."""
    import keras

    import lda_tf.cnn  # noqa: F401  registers the CNN baselines
    from lda_tf.loa import UnrolledNetwork  # registers the custom layers (lda_tf.loa imports both kinds)

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
    if not isinstance(model, UnrolledNetwork):
        raise ValueError(
            f"argument `{name}` {path}: not an unrolled network model (UnrolledLOA, ReleaseUnrolled, DnCn "
            f"or UNet; a {type(model).__name__})"
        )
    return model


def read_record(directory: str | os.PathLike) -> dict | None:
    """The ``config.json`` record in ``directory`` if this package wrote it
    (:func:`lda_tf.provenance.run_record`), else None (missing, unreadable, or someone else's)."""
    try:
        record = json.loads((Path(directory) / CONFIG).read_text())
    except (OSError, ValueError):
        return None
    ours = isinstance(record, dict) and {"tool", "settings", "lda_tf_version"} <= set(record)
    return record if ours else None


def check_output_dir(path: str | os.PathLike, name: str = "output_dir") -> bool:
    """Raise (naming the argument ``name``) when ``path`` or a folder above it is a file
    (:func:`lda_tf.atomic.check_not_file`), or ``path`` is a non-empty directory that is not ours;
    returns whether ``path`` exists (then it is ours or empty)."""
    path = Path(path)
    check_not_file(path, name)
    if not path.exists():
        return False
    entries = sorted(entry.name for entry in path.iterdir())
    if entries and read_record(path) is None:
        raise FileExistsError(
            f"argument `{name}` {path} exists and was not written by lda_tf (it holds "
            f"{', '.join(entries[:5])}); it is never replaced, even with `overwrite`: choose another "
            f"`{name}`"
        )
    return True


def prepare_output_dir(path: str | os.PathLike, overwrite: bool) -> None:
    """A binary's start with ``--output_dir`` and ``--overwrite``: put back or remove what a killed
    earlier run left (:func:`lda_tf.atomic.remove_stale`), then refuse a path that is not ours
    (:func:`check_output_dir`) or that exists without ``overwrite``."""
    remove_stale(path)
    if check_output_dir(path) and not overwrite:
        raise FileExistsError(f"--output_dir {path} exists; pass --overwrite to replace it")
