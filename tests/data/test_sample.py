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


def test_sample_scans_are_a_nifti_volume_and_a_fully_sampled_fastmri_file(tmp_path):
    """The README's scans: the NIfTI volume holds the (downsampled) test slices along its last
    axis; the fastMRI file's k-space is their centred orthonormal DFT (NumPy's inverse gives them
    back), its header and ground truth give the reconstruction size, and both read as inputs."""
    from lda_tf.data.sample import load_sample, write_sample_scans
    from lda_tf.data.volumes import downsample
    from lda_tf.reconstruction import read_fastmri, read_nifti

    nifti, fastmri = write_sample_scans(tmp_path, "test", downsample=2)
    slices = downsample(load_sample("test"), 2, "test")
    volume = read_nifti(nifti)
    np.testing.assert_array_equal(volume.images, slices)
    assert volume.nifti.header.get_zooms() == (2.0, 2.0, 1.0)
    scan = read_fastmri(fastmri)
    assert scan.mask is None and scan.crop == slices.shape[1:] and scan.target_key == "reconstruction_esc"
    axes = (-2, -1)
    image = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(scan.kspace, axes=axes), norm="ortho"), axes=axes)
    np.testing.assert_allclose(np.abs(image), slices, atol=1e-6)
    np.testing.assert_array_equal(scan.target, slices)
