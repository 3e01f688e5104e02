"""The embedded sample dataset: real brain MR slices that ship with the package (SPEC 5 stand-in).

Axial slices of the MNI ICBM152 2009a nonlinear symmetric T1 template (1 mm, as bundled with
nilearn), centre-cropped to 160x180 like the BraTS protocol and max-normalised per slice, split by
disjoint slice ranges with 5-slice gaps between them (axial index z of the 197x233x189 volume):

- train: z = 20..79 (60 slices), test: z = 85..104 (20, the central slices), val: z = 110..139 (30).

It is one (average) brain, so it is for demos, tests and smoke runs, not for results. The files
are regenerated bit-for-bit by ``data_prep/make_sample.py``; ``LICENSE`` beside them gives the
template's copyright notice. The format is that of any converted dataset (``lda_tf.data.shards``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lda_tf.data.pipeline import load_images
from lda_tf.data.shards import verify_checksums

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
SLICE_RANGES = {"train": (20, 80), "test": (85, 105), "val": (110, 140)}
CROP = (160, 180)


def sample_dir() -> Path:
    """The sample's dataset directory, after checking its shards against the manifest."""
    verify_checksums(SAMPLE_DIR)
    return SAMPLE_DIR


def load_sample(split: str) -> np.ndarray:
    """A split of the sample as ``[N, 160, 180]`` float32 images in [0, 1]."""
    return load_images(sample_dir(), split)


# The ISMRMRD header fastMRI files carry; the reader takes the reconstruction size from reconSpace.
_ISMRMRD_HEADER = """<?xml version="1.0" encoding="utf-8"?>
<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">
  <encoding>
    <encodedSpace><matrixSize><x>{height}</x><y>{width}</y><z>1</z></matrixSize></encodedSpace>
    <reconSpace><matrixSize><x>{height}</x><y>{width}</y><z>1</z></matrixSize></reconSpace>
  </encoding>
</ismrmrdHeader>
"""


def write_sample_scans(output_dir, split: str = "test", downsample: int = 1) -> list[Path]:
    """The sample's ``split`` as the two kinds of scan ``experiments/reconstruct.py`` reads, so a
    newcomer can try it without a download: ``sample_t1.nii.gz`` (the slices as a volume
    ``[H, W, slices]``, 1 mm voxels, ``downsample`` mm in-plane) and ``sample_t1.h5`` (the same
    slices as a fully sampled single-coil fastMRI file: ``kspace = F x`` on the centred
    orthonormal grid (SPEC 1), ``reconstruction_esc = x``, and an ISMRMRD header). Writes into the
    existing folder ``output_dir``; returns the two paths."""
    import h5py
    import nibabel

    from lda_tf.data.volumes import downsample as reduce

    images = load_sample(split)
    if downsample > 1:
        images = reduce(images, downsample, f"sample {split}")
    output_dir = Path(output_dir)
    affine = np.diag([float(downsample), float(downsample), 1.0, 1.0])
    nifti = output_dir / "sample_t1.nii.gz"
    nibabel.save(nibabel.Nifti1Image(np.ascontiguousarray(np.moveaxis(images, 0, -1)), affine), nifti)
    axes = (-2, -1)
    kspace = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(images, axes=axes), norm="ortho"), axes=axes)
    fastmri = output_dir / "sample_t1.h5"
    with h5py.File(fastmri, "w") as handle:
        handle["kspace"] = kspace.astype(np.complex64)
        handle["reconstruction_esc"] = images.astype(np.float32)
        header = _ISMRMRD_HEADER.format(height=images.shape[1], width=images.shape[2])
        handle["ismrmrd_header"] = np.bytes_(header.encode())
        handle.attrs["acquisition"] = "sample (MNI152 T1 template slices, lda_tf)"
        handle.attrs["max"] = float(images.max())
        handle.attrs["patient_id"] = "mni152"
    return [nifti, fastmri]
