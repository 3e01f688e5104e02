"""Converted datasets on disk: TFRecord shards per split plus ``manifest.json`` (SPEC 5).

Layout of a dataset directory::

    manifest.json                  # protocol, patients and slices per split, sources, checksums
    train-00000-of-00001.tfrecord  # one tf.train.Example per slice
    val-00000-of-00001.tfrecord
    test-00000-of-00001.tfrecord

Each example holds ``image`` (float32 ``[H, W]`` magnitude, per-slice max-normalised to [0, 1], as
raw bytes), ``height``, ``width``, ``patient`` and ``slice``. A dataset is written by
:func:`write_dataset` into a temporary directory that is renamed into place only when complete.
"""

from __future__ import annotations

import hashlib
import json
import os
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
) -> Path:
    """Write ``splits`` and ``manifest`` (plus shard names, counts and checksums) atomically.

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
    with atomic_directory(output_dir, overwrite) as staging:
        for split, data in splits.items():
            if not len(data.images) == len(data.patients) == len(data.slices):
                raise ValueError(f"split {split}: images, patients and slices differ in length")
            name = f"{split}-00000-of-00001.tfrecord"
            with tf.io.TFRecordWriter(str(staging / name), options=compression or None) as writer:
                for image, patient, slice_index in zip(data.images, data.patients, data.slices):
                    writer.write(_example(image, patient, slice_index))
            manifest["shards"][split] = {
                "files": [name],
                "num_images": len(data.images),
                "sha256": {name: sha256(staging / name)},
            }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return output_dir


def read_manifest(dataset_dir: str | os.PathLike) -> dict:
    """The manifest of a converted dataset; errors say what is missing."""
    path = Path(dataset_dir) / MANIFEST
    if not Path(dataset_dir).is_dir():
        raise FileNotFoundError(f"{dataset_dir}: no such dataset directory (convert one with data_prep/)")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; {dataset_dir} is not a converted lda_tf dataset")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error


def verify_checksums(dataset_dir: str | os.PathLike) -> None:
    """Raise if a shard is missing or differs from the manifest's sha256."""
    manifest = read_manifest(dataset_dir)
    for split, entry in manifest["shards"].items():
        for name, expected in entry["sha256"].items():
            path = Path(dataset_dir) / name
            if not path.is_file():
                raise FileNotFoundError(f"{path}: shard of split {split!r} is missing")
            if sha256(path) != expected:
                raise ValueError(
                    f"{path}: checksum differs from {MANIFEST}; the file is corrupt or was changed"
                )


def load_split(dataset_dir: str | os.PathLike, split: str) -> tf.data.Dataset:
    """A split as a dataset of ``{"image": [H, W] float32, "patient": string, "slice": int64}``,
    in file order (shuffling belongs to the pipeline)."""
    manifest = read_manifest(dataset_dir)
    if split not in manifest["shards"]:
        raise ValueError(f"{dataset_dir} has no split {split!r}; it has {sorted(manifest['shards'])}")
    height, width = manifest["image_shape"]
    files = [str(Path(dataset_dir) / name) for name in manifest["shards"][split]["files"]]
    spec = {
        "image": tf.io.FixedLenFeature([], tf.string),
        "patient": tf.io.FixedLenFeature([], tf.string),
        "slice": tf.io.FixedLenFeature([], tf.int64),
    }

    def decode(record):
        example = tf.io.parse_single_example(record, spec)
        image = tf.reshape(tf.io.decode_raw(example["image"], tf.float32), [height, width])
        return {"image": image, "patient": example["patient"], "slice": example["slice"]}

    records = tf.data.TFRecordDataset(files, compression_type=manifest.get("compression", ""))
    return records.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
