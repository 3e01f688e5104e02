"""Converted datasets on disk: TFRecord shards per split plus ``manifest.json`` (SPEC 5).

Layout of a dataset directory::

    manifest.json                  # protocol, patients and slices per split, sources, shards
    train-00000-of-00001.tfrecord  # one tf.train.Example per slice
    val-00000-of-00001.tfrecord
    test-00000-of-00001.tfrecord

Each example holds ``image`` (float32 ``[H, W]`` magnitude, per-slice max-normalised to [0, 1], as
raw bytes), ``height``, ``width``, ``patient`` and ``slice``. A dataset is written by
:func:`write_dataset` into a temporary directory that is renamed into place only when complete.

The manifest's ``shards`` entry records per split ``files``, ``num_images`` and, per shard,
``num_images_by_file``, ``bytes`` and ``sha256``. Loading checks sizes (before reading) and image
counts (while reading) always, checksums when asked (:func:`verify_dataset`, called when a run
starts); manifests written before sizes and per-shard counts were recorded still load (the split's
count stands for its single shard's).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from lda_tf.atomic import atomic_directory

MANIFEST = "manifest.json"
SPLITS = ("train", "val", "test")


class SplitSlices(NamedTuple):
    """The images of one split with where each came from."""

    images: np.ndarray  # [N, H, W] float32 in [0, 1]
    patients: Sequence[str]
    slices: Sequence[int]


class MemberSlices(NamedTuple):
    """What a converter reads from one patient's raw file."""

    patient: str
    images: np.ndarray  # [n, H, W] normalised slices
    slices: list[int]
    source: dict  # manifest record: file, sha256, slices, ...


def collect_splits(
    members_by_split: dict[str, Sequence], read: Callable[[object], MemberSlices]
) -> tuple[dict[str, SplitSlices], dict[str, dict]]:
    """Read every member (patient case or file) of every non-empty split: the splits to write and
    their manifest entries (patients and source records)."""
    splits, manifest_splits = {}, {}
    for split, members in members_by_split.items():
        read_members = [read(member) for member in members]
        if not read_members:
            continue
        splits[split] = SplitSlices(
            np.concatenate([m.images for m in read_members]),
            [m.patient for m in read_members for _ in m.slices],
            [index for m in read_members for index in m.slices],
        )
        manifest_splits[split] = {
            "patients": [m.patient for m in read_members],
            "sources": {m.patient: m.source for m in read_members},
        }
    return splits, manifest_splits


def normalise_slice(image: np.ndarray, source: str) -> np.ndarray:
    """Per-slice max normalisation (SPEC 5) of a magnitude image; errors name ``source``."""
    image = np.abs(np.asarray(image, np.float64))
    if not np.all(np.isfinite(image)):
        raise ValueError(f"{source}: contains NaN or Inf values")
    peak = image.max()
    if peak <= 0:
        raise ValueError(f"{source}: the slice is empty (all zeros); cannot normalise by its maximum")
    return (image / peak).astype(np.float32)


def _example(image: np.ndarray, patient: str, slice_index: int) -> bytes:
    feature = {
        "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image.astype("<f4").tobytes()])),
        "height": tf.train.Feature(int64_list=tf.train.Int64List(value=[image.shape[0]])),
        "width": tf.train.Feature(int64_list=tf.train.Int64List(value=[image.shape[1]])),
        "patient": tf.train.Feature(bytes_list=tf.train.BytesList(value=[patient.encode()])),
        "slice": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(slice_index)])),
    }
    # deterministic=True: protobuf maps otherwise serialise in arbitrary order (no bit-for-bit output).
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(deterministic=True)


def sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_dataset(
    output_dir: str | os.PathLike,
    splits: dict[str, SplitSlices],
    manifest: dict,
    overwrite: bool = False,
    compression: str = "",
    inputs: Sequence[str | os.PathLike] = (),
) -> Path:
    """Write ``splits`` and ``manifest`` (plus each shard's name, size, image count and sha256)
    atomically; an existing ``output_dir`` is replaced only with ``overwrite`` and only if it is a
    converted dataset (holds ``manifest.json``), never one of ``inputs`` (:mod:`lda_tf.atomic`).

    ``compression`` is ``""`` or ``"GZIP"`` (recorded in the manifest; the reader follows it).
    """
    if compression not in ("", "GZIP"):
        raise ValueError(f"compression must be '' or 'GZIP'; got {compression!r}")
    shapes = {split: data.images.shape[1:] for split, data in splits.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"all splits must have one image shape; got {shapes}")
    manifest = dict(
        manifest, image_shape=list(next(iter(shapes.values()))), compression=compression, shards={}
    )
    output_dir = Path(output_dir)
    with atomic_directory(output_dir, overwrite, marker=MANIFEST, inputs=inputs) as staging:
        for split, data in splits.items():
            if not len(data.images) == len(data.patients) == len(data.slices):
                raise ValueError(f"split {split}: images, patients and slices differ in length")
            name = f"{split}-00000-of-00001.tfrecord"
            with tf.io.TFRecordWriter(str(staging / name), options=compression or None) as writer:
                for image, patient, slice_index in zip(data.images, data.patients, data.slices):
                    writer.write(_example(image, patient, slice_index))
            manifest["shards"][split] = shard_records(staging, [name], [len(data.images)])
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return output_dir


def shard_records(directory: Path, names: Sequence[str], counts: Sequence[int]) -> dict:
    """A split's ``shards`` entry of the manifest: ``files``, ``num_images`` (the split's total) and
    per shard ``num_images_by_file``, ``bytes`` and ``sha256``."""
    return {
        "files": list(names),
        "num_images": int(sum(counts)),
        "num_images_by_file": {name: int(count) for name, count in zip(names, counts)},
        "bytes": {name: (directory / name).stat().st_size for name in names},
        "sha256": {name: sha256(directory / name) for name in names},
    }


class CorruptDatasetError(ValueError):
    """A converted dataset's shard differs from what its manifest records (size, image count,
    checksum) or cannot be decoded; the message names the shard."""


_RECONVERT = "the file is damaged or was changed; convert the dataset again (data_prep/)"


def read_manifest(dataset_dir: str | os.PathLike) -> dict:
    """The manifest of a converted dataset; errors say what is missing (the directory, the file,
    valid JSON, or the entries every reader needs: ``image_shape`` and each split's ``files``)."""
    path = Path(dataset_dir) / MANIFEST
    if not Path(dataset_dir).is_dir():
        raise FileNotFoundError(f"{dataset_dir}: no such dataset directory (convert one with data_prep/)")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; {dataset_dir} is not a converted lda_tf dataset")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error
    problem = _manifest_problem(manifest)
    if problem:
        raise ValueError(f"{path}: {problem}; convert the dataset again with data_prep/")
    return manifest


def _manifest_problem(manifest) -> str | None:
    if not isinstance(manifest, dict):
        return "not a manifest (expected a JSON object)"
    shape = manifest.get("image_shape")
    if not (isinstance(shape, list) and len(shape) == 2 and all(isinstance(v, int) and v > 0 for v in shape)):
        return f"image_shape must be two positive integers; got {shape!r}"
    shards = manifest.get("shards")
    if not isinstance(shards, dict) or not shards:
        return "no 'shards' entry (the splits and their files)"
    for split, entry in shards.items():
        files = entry.get("files") if isinstance(entry, dict) else None
        if not (isinstance(files, list) and files and all(isinstance(f, str) for f in files)):
            return f"split {split!r} lists no shard files"
        if any(Path(f).name != f or f.startswith(".") for f in files):
            return f"split {split!r}: shard names must be plain file names in the dataset; got {files}"
    if manifest.get("compression", "") not in ("", "GZIP"):
        return f"compression must be '' or 'GZIP'; got {manifest.get('compression')!r}"
    return None


def _expected_count(entry: dict, name: str) -> int | None:
    """The image count the manifest records for shard ``name`` (older manifests: the split's
    count when the split has one shard), or None when it records none."""
    by_file = entry.get("num_images_by_file")
    if isinstance(by_file, dict) and name in by_file:
        return int(by_file[name])
    if len(entry["files"]) == 1 and "num_images" in entry:
        return int(entry["num_images"])
    return None


def verify_dataset(
    dataset_dir: str | os.PathLike,
    checksums: bool = False,
    splits: Sequence[str] | None = None,
) -> dict:
    """Check a converted dataset against its manifest and return the manifest.

    Always (fast: no shard is read): every shard of ``splits`` (all if None) exists and has the
    size the manifest records. With ``checksums`` (call it when a run starts): every shard's sha256
    too. Image counts are checked while loading (:func:`read_split_images`). Errors
    (:class:`CorruptDatasetError`, ``FileNotFoundError``) name the shard; a manifest too old to
    record a size is accepted by the fast check, one that records no checksum is refused by
    ``checksums=True`` with a message that says so.
    """
    dataset_dir = Path(dataset_dir)
    manifest = read_manifest(dataset_dir)
    chosen = manifest["shards"] if splits is None else {split: None for split in splits}
    for split in chosen:
        entry = _split_entry(manifest, dataset_dir, split)
        for name in entry["files"]:
            path = dataset_dir / name
            if not path.is_file():
                raise FileNotFoundError(f"{path}: shard of split {split!r} is missing; {_RECONVERT}")
            size = (entry.get("bytes") or {}).get(name)
            if size is not None and path.stat().st_size != size:
                raise CorruptDatasetError(
                    f"{path}: shard of split {split!r} has {path.stat().st_size} bytes, the manifest "
                    f"records {size}; {_RECONVERT}"
                )
            if checksums:
                expected = (entry.get("sha256") or {}).get(name)
                if expected is None:
                    raise CorruptDatasetError(
                        f"{dataset_dir / MANIFEST}: records no sha256 for {name}, so it cannot be verified; "
                        "convert the dataset again with data_prep/"
                    )
                if sha256(path) != expected:
                    raise CorruptDatasetError(
                        f"{path}: checksum differs from {MANIFEST}; the file is corrupt or was changed "
                        "(convert the dataset again with data_prep/)"
                    )
    return manifest


def verify_checksums(dataset_dir: str | os.PathLike) -> None:
    """Raise if a shard is missing or differs from the manifest's size or sha256
    (``verify_dataset(dataset_dir, checksums=True)``)."""
    verify_dataset(dataset_dir, checksums=True)


def _split_entry(manifest: dict, dataset_dir, split: str) -> dict:
    if split not in manifest["shards"]:
        raise ValueError(f"{dataset_dir} has no split {split!r}; it has {sorted(manifest['shards'])}")
    return manifest["shards"][split]


def _decode_fn(height: int, width: int):
    spec = {
        "image": tf.io.FixedLenFeature([], tf.string),
        "patient": tf.io.FixedLenFeature([], tf.string),
        "slice": tf.io.FixedLenFeature([], tf.int64),
    }

    def decode(record):
        example = tf.io.parse_single_example(record, spec)
        image = tf.reshape(tf.io.decode_raw(example["image"], tf.float32), [height, width])
        return {"image": image, "patient": example["patient"], "slice": example["slice"]}

    return decode


def load_split(dataset_dir: str | os.PathLike, split: str) -> tf.data.Dataset:
    """A split as a dataset of ``{"image": [H, W] float32, "patient": string, "slice": int64}``,
    in file order (shuffling belongs to the pipeline), after the fast check of its shards
    (:func:`verify_dataset`). Streaming cannot check counts or name a shard that fails to decode:
    :func:`read_split_images` does both."""
    manifest = verify_dataset(dataset_dir, splits=[split])
    height, width = manifest["image_shape"]
    files = [str(Path(dataset_dir) / name) for name in manifest["shards"][split]["files"]]
    records = tf.data.TFRecordDataset(files, compression_type=manifest.get("compression", ""))
    return records.map(_decode_fn(height, width), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def read_split_images(dataset_dir: str | os.PathLike, split: str) -> np.ndarray:
    """Every image of a split as ``[N, H, W]`` float32, shard by shard, after the fast check
    (:func:`verify_dataset`); a shard that cannot be decoded or holds another number of images than
    the manifest records raises :class:`CorruptDatasetError` naming it."""
    dataset_dir = Path(dataset_dir)
    manifest = verify_dataset(dataset_dir, splits=[split])
    entry = manifest["shards"][split]
    height, width = manifest["image_shape"]
    decode = _decode_fn(height, width)
    images = []
    for name in entry["files"]:
        path = dataset_dir / name
        records = tf.data.TFRecordDataset(str(path), compression_type=manifest.get("compression", ""))
        try:
            shard = [element["image"] for element in records.map(decode).as_numpy_iterator()]
        except tf.errors.OpError as error:
            message = re.sub(
                r"\{\{.*?\}\}|\[Op:.*", "", (error.message or type(error).__name__).splitlines()[0]
            ).strip()
            raise CorruptDatasetError(
                f"{path}: shard of split {split!r} cannot be read ({type(error).__name__}: {message}); "
                f"{_RECONVERT}"
            ) from None
        expected = _expected_count(entry, name)
        if expected is not None and len(shard) != expected:
            raise CorruptDatasetError(
                f"{path}: shard of split {split!r} holds {len(shard)} images, the manifest records "
                f"{expected}; {_RECONVERT}"
            )
        images.extend(shard)
    return np.stack(images) if images else np.zeros((0, height, width), np.float32)
