"""Small raw datasets in the real layouts: a BraTS 2018 tree (NIfTI) and fastMRI HDF5 files."""

from pathlib import Path

import numpy as np

BRATS_SHAPE = (24, 26, 12)  # x, y, z (BraTS: 240 x 240 x 155)
BRATS_CROP = (16, 18)
FASTMRI_RECON = (5, 32, 30)  # slices, H, W of the reconstruction (fastMRI: 320 x 320)


def brats_volume(case_number: int) -> np.ndarray:
    """Positive volume whose every voxel value identifies case, slice and position."""
    x, y, z = np.meshgrid(*[np.arange(n) for n in BRATS_SHAPE], indexing="ij")
    return (1.0 + x + 30.0 * y + 1000.0 * z + 1e5 * case_number).astype(np.float32)


def write_nifti(path: Path, volume: np.ndarray) -> None:
    import nibabel

    affine = np.diag([-1.0, -1.0, 1.0, 1.0])  # BraTS volumes are LPS-oriented
    nibabel.save(nibabel.Nifti1Image(volume, affine), str(path))


def make_brats_tree(
    root: Path, num_hgg: int = 6, num_lgg: int = 1, num_val: int = 3, modalities=("t1", "t2")
):
    """``root/train/{HGG,LGG}/<case>/<case>_<mod>.nii.gz`` and ``root/val/<case>/...``."""
    cases = {}
    number = 0
    for folder, count, prefix in [
        (root / "train" / "HGG", num_hgg, "Brats18_TCIA01_{:03d}_1"),
        (root / "train" / "LGG", num_lgg, "Brats18_TCIA09_{:03d}_1"),
        (root / "val", num_val, "Brats18_CBICA_A{:02d}_1"),
    ]:
        for index in range(count):
            name = prefix.format(index)
            case = folder / name
            case.mkdir(parents=True)
            for modality in modalities:
                write_nifti(case / f"{name}_{modality}.nii.gz", brats_volume(number))
            cases[name] = number
            number += 1
    return root / "train", root / "val", cases


def make_fastmri_files(directory: Path, num_files: int = 4, multicoil: bool = False, seed: int = 0):
    import h5py

    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(num_files):
        slices, height, width = FASTMRI_RECON
        recon = rng.random(FASTMRI_RECON).astype(np.float32) + index
        shape = (slices, 2, 40, 36) if multicoil else (slices, 40, 36)
        with h5py.File(directory / f"file{1000000 + index}.h5", "w") as handle:
            handle["kspace"] = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(
                np.complex64
            )
            handle["reconstruction_rss"] = recon
            if not multicoil:
                handle["reconstruction_esc"] = recon * 0.5
            handle.attrs["acquisition"] = "CORPD_FBK"
            handle.attrs["max"] = float(recon.max())
            handle.attrs["norm"] = float(np.linalg.norm(recon))
            handle.attrs["patient_id"] = f"patient{index}"
    return sorted(directory.glob("*.h5"))
