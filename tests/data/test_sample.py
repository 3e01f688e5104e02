import shutil

import numpy as np
import pytest

from lda_tf.data import read_manifest, verify_checksums
from lda_tf.data.sample import SAMPLE_DIR, load_sample


def test_sample_loads_offline_with_documented_splits():
    counts = {split: load_sample(split).shape for split in ("train", "val", "test")}
    assert counts == {"train": (60, 160, 180), "val": (30, 160, 180), "test": (20, 160, 180)}
    images = load_sample("test")
    assert images.dtype == np.float32 and np.allclose(images.max(axis=(1, 2)), 1.0) and images.min() >= 0


def test_sample_slices_are_disjoint_and_licensed():
    manifest = read_manifest(SAMPLE_DIR)
    ranges = manifest["protocol"]["slice_ranges"]
    covered = [set(range(*ranges[split])) for split in ("train", "val", "test")]
    assert all(a.isdisjoint(b) for i, a in enumerate(covered) for b in covered[i + 1 :])
    assert "McGill University" in (SAMPLE_DIR / "LICENSE").read_text()
    assert sum(f.stat().st_size for f in SAMPLE_DIR.iterdir()) < 5 * 2**20


def test_checksum_mismatch_is_detected(tmp_path):
    copy = tmp_path / "sample"
    shutil.copytree(SAMPLE_DIR, copy)
    verify_checksums(copy)
    shard = copy / "test-00000-of-00001.tfrecord"
    data = bytearray(shard.read_bytes())
    data[100] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum differs"):
        verify_checksums(copy)
