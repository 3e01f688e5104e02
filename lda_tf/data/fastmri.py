"""fastMRI HDF5 -> converted dataset (U-LDA paper section 5.2; SPEC 5).

Reads single-coil (``kspace`` ``[slices, H, W]``, ``reconstruction_esc`` and ``reconstruction_rss``)
and multi-coil (``kspace`` ``[slices, coils, H, W]``, ``reconstruction_rss``) files, knee or brain.
The ground truth is the magnitude reconstruction the dataset ships (``esc`` for single-coil,
``rss`` otherwise, or as chosen), centre-cropped to 256x256 by default, each slice normalised by
its own maximum; ``skip_edge_slices`` drops that many slices at each end of a volume (they are
mostly noise). Files are split into train / val / test by a seeded permutation of the sorted file
names (one file is one patient volume), with the given fractions.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from lda_tf.atomic import check_writable
from lda_tf.checks import check_choice
from lda_tf.data.shards import MANIFEST, MemberSlices, collect_splits, normalise_slice, sha256, write_dataset
from lda_tf.data.volumes import center_crop

TARGETS = ("auto", "esc", "rss")
SPLIT_INDEX = {"train": 0, "val": 1, "test": 2}
DATASET_URL = "https://fastmri.med.nyu.edu/"


def ground_truth_key(handle, target: str, path: str) -> str:
    check_choice(target, TARGETS, "target")
    if "kspace" not in handle:
        raise ValueError(f"{path}: no 'kspace' dataset; not a fastMRI file")
    candidates = {"esc": ["reconstruction_esc"], "rss": ["reconstruction_rss"]}.get(
        target, ["reconstruction_esc", "reconstruction_rss"]
    )
    for key in candidates:
        if key in handle:
            return key
    if target == "esc" and "reconstruction_rss" in handle:
        coils = "multi-coil" if handle["kspace"].ndim == 4 else "this"
        raise ValueError(
            f"{path}: no reconstruction_esc ({coils} files carry only reconstruction_rss); "
            "use argument `target` 'rss' or 'auto'"
        )
    raise ValueError(
        f"{path}: no ground truth ({' or '.join(candidates)}); fastMRI test files carry none, use "
        "train/val files"
    )


def read_fastmri_file(
    path: str | os.PathLike,
    size: tuple[int, int] = (256, 256),
    target: str = "auto",
    skip_edge_slices: int = 0,
) -> tuple[np.ndarray, list[int], dict]:
    """Normalised ground-truth slices ``[n, H, W]``, their indices and the file's attributes."""
    import h5py

    path = os.fspath(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"{path}: cannot open as HDF5 ({error}); the file may be truncated") from error
    with handle:
        key = ground_truth_key(handle, target, path)
        try:
            volume = np.asarray(handle[key][()], np.float32)
        except (OSError, KeyError) as error:
            raise ValueError(f"{path}: cannot read {key} ({error})") from error
        attributes = {
            name: (value.item() if hasattr(value, "item") else value) for name, value in handle.attrs.items()
        }
    if volume.ndim != 3:
        raise ValueError(f"{path}: {key} must be [slices, H, W]; got shape {volume.shape}")
    indices = list(range(skip_edge_slices, volume.shape[0] - skip_edge_slices))
    if not indices:
        raise ValueError(
            f"{path}: {volume.shape[0]} slices leave none after skipping {skip_edge_slices} at each end"
        )
    cropped = center_crop(volume[indices], size, f"{path} {key}")
    images = np.stack(
        [normalise_slice(image, f"{path} {key} slice {index}") for image, index in zip(cropped, indices)]
    )
    attributes["ground_truth"] = key
    return images, indices, {name: str(value) for name, value in attributes.items()}


def check_fractions(fractions) -> tuple[float, float, float]:
    """Three finite, non-negative numbers summing to 1 (errors name ``split_fractions``)."""
    given = fractions
    try:
        fractions = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        fractions = (math.nan,)
    if (
        len(fractions) != 3
        or not all(math.isfinite(f) and f >= 0 for f in fractions)
        or abs(sum(fractions) - 1) > 1e-6
    ):
        raise ValueError(
            f"argument `split_fractions` must be three finite numbers >= 0 summing to 1; got {given}"
        )
    return fractions


def split_counts(num_files: int, fractions: tuple[float, float, float]) -> list[int]:
    """Files per split: the largest-remainder rounding of ``fractions * num_files`` (the counts sum
    to ``num_files``), then one file moved to every split with a positive fraction but no file, from
    the split with most files, while that one keeps at least one. Error if no such split remains.

    Decision: largest remainder, not independent rounding (which refused 5 files at 0.7/0.15/0.15:
    3.5 -> 4 train, 0.75 -> 1 val, nothing left for test, though 3/1/1 is possible)."""
    exact = [f * num_files for f in fractions]
    counts = [math.floor(value) for value in exact]
    by_remainder = sorted(range(3), key=lambda i: (-(exact[i] - counts[i]), i))
    for index in by_remainder[: num_files - sum(counts)]:
        counts[index] += 1
    for index in range(3):
        if fractions[index] > 0 and counts[index] == 0:
            donor = max(range(3), key=lambda i: counts[i])
            if counts[donor] < 2:
                return counts
            counts[donor] -= 1
            counts[index] += 1
    return counts


def split_files(
    files: list[Path], fractions: tuple[float, float, float], seed: int, source: str
) -> dict[str, list[Path]]:
    fractions = check_fractions(fractions)
    if seed < 0:
        raise ValueError(f"argument `seed` must be >= 0; got {seed}")
    order = [files[i] for i in np.random.default_rng(seed).permutation(len(files))]
    num_train, num_val, _ = split_counts(len(files), fractions)
    chosen = {
        "train": order[:num_train],
        "val": order[num_train : num_train + num_val],
        "test": order[num_train + num_val :],
    }
    empty = [split for split, members in chosen.items() if not members and fractions[SPLIT_INDEX[split]] > 0]
    if empty:
        raise ValueError(
            f"{source}: {len(files)} files are too few for the fractions {fractions} (empty: {empty})"
        )
    return chosen


def convert_fastmri(
    input_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    size: tuple[int, int] = (256, 256),
    target: str = "auto",
    skip_edge_slices: int = 0,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    overwrite: bool = False,
    provenance: dict | None = None,
) -> dict:
    """Convert every ``*.h5`` in ``input_dir`` (atomically into ``output_dir``); returns the manifest.
    Arguments and the output are checked first: the output is never the input folder (or inside or
    above it), and an existing one is replaced only with ``overwrite`` and only if it is a converted
    dataset (:func:`lda_tf.atomic.check_writable`)."""
    check_choice(target, TARGETS, "target")
    fractions = check_fractions(fractions)
    if seed < 0:
        raise ValueError(f"argument `seed` must be >= 0; got {seed}")
    if skip_edge_slices < 0:
        raise ValueError(f"argument `skip_edge_slices` must be >= 0; got {skip_edge_slices}")
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"argument `size` must be two positive integers; got {size}")
    check_writable(output_dir, overwrite, MANIFEST, [input_dir])
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise FileNotFoundError(f"{input_dir}: the fastMRI directory does not exist")
    files = sorted(input_dir.glob("*.h5"))
    if not files:
        raise ValueError(f"{input_dir}: no .h5 files; expected fastMRI HDF5 volumes (see {DATASET_URL})")

    def read(path: Path) -> MemberSlices:
        images, indices, attributes = read_fastmri_file(path, size, target, skip_edge_slices)
        record = {"file": str(path), "sha256": sha256(path), "slices": indices, "attributes": attributes}
        return MemberSlices(path.stem, images, indices, record)

    splits, manifest_splits = collect_splits(split_files(files, fractions, seed, str(input_dir)), read)
    manifest = {
        "dataset": "fastmri",
        "protocol": {
            "size": list(size),
            "target": target,
            "skip_edge_slices": skip_edge_slices,
            "fractions": list(fractions),
            "seed": seed,
        },
        "splits": manifest_splits,
        "provenance": provenance or {},
    }
    write_dataset(output_dir, splits, manifest, overwrite=overwrite, inputs=[input_dir])
    return manifest
