"""experiments/reconstruct.py and lda_tf/reconstruction.py on small files in the real layouts
(fastMRI single-coil HDF5 with its ISMRMRD header, NIfTI with an oblique affine): the output is
fastMRI's submission layout; a fully sampled mask reproduces the input image to float precision,
through zero filling and through a network that is the identity there; an undersampled zero
filling equals NumPy's; the NIfTI output keeps the input's affine and header; bad inputs are
clear errors."""

import subprocess
import sys
from pathlib import Path

import h5py
import keras
import nibabel
import numpy as np
import pytest

from lda_tf import UnrolledLOA
from lda_tf.atomic import save_model
from lda_tf.data.tasks import Task
from lda_tf.mri import MRISampling
from lda_tf.reconstruction import measurement, read_fastmri, read_nifti, task_index_for

ROOT = Path(__file__).resolve().parents[1]
ACQUISITION = (3, 40, 36)  # slices, H, W (fastMRI knee: 640 x 368)
RECON = (32, 30)  # the reconstruction size (fastMRI knee: 320 x 320)

HEADER = """<?xml version="1.0" encoding="utf-8"?>
<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">
  <encoding>
    <encodedSpace><matrixSize><x>{H}</x><y>{W}</y><z>1</z></matrixSize></encodedSpace>
    <reconSpace><matrixSize><x>{h}</x><y>{w}</y><z>1</z></matrixSize></reconSpace>
  </encoding>
</ismrmrdHeader>
"""


def fft2c(image):  # NumPy's centred orthonormal DFT (fastMRI's fft2c)
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(image, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))


def ifft2c(kspace):
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(kspace, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))


def crop(images, size=RECON):
    top, left = (images.shape[-2] - size[0]) // 2, (images.shape[-1] - size[1]) // 2
    return images[..., top : top + size[0], left : left + size[1]]


def complex_image(seed: int, shape=ACQUISITION) -> np.ndarray:
    """A smooth complex 'anatomy' with a slowly varying phase, brightest in the middle."""
    rng = np.random.default_rng(seed)
    rows, cols = np.meshgrid(np.linspace(-1, 1, shape[1]), np.linspace(-1, 1, shape[2]), indexing="ij")
    body = np.exp(-3 * (rows**2 + cols**2))
    slices = [
        body * (1 + 0.3 * rng.random()) * np.exp(1j * (0.5 * rows + rng.random() * cols))
        + 0.02 * rng.standard_normal(shape[1:])
        for _ in range(shape[0])
    ]
    return np.stack(slices).astype(np.complex64)


def write_fastmri(path: Path, image: np.ndarray, ground_truth: bool = True, mask=None) -> np.ndarray:
    """A single-coil fastMRI file: kspace, ISMRMRD header, attributes; reconstruction_esc (train /
    val files) or a 1D column mask (challenge / test files, k-space zero off the mask)."""
    kspace = fft2c(image).astype(np.complex64)
    with h5py.File(path, "w") as handle:
        handle["kspace"] = kspace if mask is None else kspace * mask[None, None, :]
        handle["ismrmrd_header"] = np.bytes_(
            HEADER.format(H=image.shape[1], W=image.shape[2], h=RECON[0], w=RECON[1]).encode()
        )
        if ground_truth:
            handle["reconstruction_esc"] = crop(np.abs(image)).astype(np.float32)
            handle.attrs["max"] = float(np.abs(image).max())
        if mask is not None:
            handle["mask"] = mask.astype(bool)
            handle.attrs["acceleration"] = 1
        handle.attrs["acquisition"] = "CORPD_FBK"
        handle.attrs["patient_id"] = path.stem
    return kspace


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "experiments/reconstruct.py", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def identity_network(path: Path) -> Path:
    """A network that returns its start x0 = F^H y where the mask is full (grad f(x0) = 0 there):
    the residual policy with tau ~ 0 (u = z - tau grad r(z) = z = x0)."""
    keras.utils.set_random_seed(0)
    network = UnrolledLOA(MRISampling(name="measurement"), num_phases=2, num_tasks=0, policy="residual")
    for phase in network.phases:
        phase.log_tau.assign(-40.0)
    save_model(network, path)
    return path


def test_fastmri_submission_layout_full_mask_reproduces_the_ground_truth(tmp_path):
    inputs = tmp_path / "singlecoil_val"
    inputs.mkdir()
    images = {name: complex_image(seed) for seed, name in enumerate(("file1000001.h5", "file1000002.h5"))}
    for name, image in images.items():
        write_fastmri(inputs / name, image)
    done = run(
        "--model=zero_filling",
        f"--inputs={inputs}",
        "--task=cartesian_gaussian:100",
        f"--output_dir={tmp_path / 'out'}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    print(done.stdout)
    assert sorted(entry.name for entry in (tmp_path / "out").iterdir()) == [
        "config.json",
        "metrics.csv",
        "reconstructions",
    ]
    for name, image in images.items():
        with h5py.File(tmp_path / "out" / "reconstructions" / name, "r") as handle:
            assert (
                list(handle) == ["reconstruction"] and dict(handle.attrs) == {}
            )  # fastMRI's submission file
            recon = handle["reconstruction"][()]
        assert recon.dtype == np.float32 and recon.shape == (ACQUISITION[0], *RECON)
        np.testing.assert_allclose(recon, crop(np.abs(image)), rtol=0, atol=1e-5 * np.abs(image).max())
    metrics = (tmp_path / "out" / "metrics.csv").read_text().splitlines()
    assert metrics[0] == "file,method,slices,psnr,ssim,nmse" and len(metrics) == 3
    assert all(float(line.split(",")[5]) < 1e-10 for line in metrics[1:])  # NMSE
    assert "PSNR" in done.stdout and "[2/2] file1000002.h5: 3 slices of 40x36" in done.stdout


def test_undersampled_zero_filling_equals_numpy(tmp_path):
    image = complex_image(3)
    kspace = write_fastmri(tmp_path / "file1.h5", image)
    task = Task("cartesian", 0.5)
    done = run(
        "--model=zero_filling",
        f"--inputs={tmp_path / 'file1.h5'}",
        f"--task={task}",
        f"--output_dir={tmp_path / 'out'}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with h5py.File(tmp_path / "out" / "reconstructions" / "file1.h5", "r") as handle:
        recon = handle["reconstruction"][()]
    expected = crop(np.abs(ifft2c(kspace * task.mask(ACQUISITION[1:]))))
    assert 0.2 < task.mask(ACQUISITION[1:]).mean() < 0.8
    np.testing.assert_allclose(recon, expected, rtol=0, atol=1e-5 * expected.max())


def test_network_with_the_files_own_full_mask_and_nifti_reproduce_the_input(tmp_path):
    model = identity_network(tmp_path / "identity" / "model.keras")
    image = complex_image(4)
    write_fastmri(tmp_path / "file_test.h5", image, ground_truth=False, mask=np.ones(ACQUISITION[2]))
    done = run(
        f"--model={model}",
        f"--inputs={tmp_path / 'file_test.h5'}",
        "--batch_size=2",
        f"--output_dir={tmp_path / 'h5'}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "the file's own mask (100.0 % of k-space)" in done.stdout
    with h5py.File(tmp_path / "h5" / "reconstructions" / "file_test.h5", "r") as handle:
        recon = handle["reconstruction"][()]  # 3 slices in batches of 2: the last one padded
    assert recon.shape == (ACQUISITION[0], *RECON)  # cropped by the header's reconSpace
    np.testing.assert_allclose(recon, crop(np.abs(image)), rtol=0, atol=1e-5 * np.abs(image).max())

    volume = (np.abs(complex_image(5, (4, 20, 18))) * 900).astype(np.float32)
    volume[2] = 0  # a slice without signal
    volume = np.moveaxis(volume, 0, -1)  # [X, Y, Z]
    affine = np.array([[-0.9, 0.1, 0, 90], [0.1, 1.1, 0, -120], [0, 0, 3.0, -60], [0, 0, 0, 1]])
    original = nibabel.Nifti1Image(volume.astype(np.int16), affine)
    original.header.set_qform(affine, code=1)
    original.header.set_sform(affine, code=4)
    original.header["descrip"] = b"test scan"
    nibabel.save(original, tmp_path / "scan_t1.nii.gz")
    done = run(
        f"--model={model}",
        f"--inputs={tmp_path / 'scan_t1.nii.gz'}",
        "--task=cartesian_gaussian:100",
        "--write_zero_filled",
        f"--output_dir={tmp_path / 'nii'}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    original = nibabel.load(tmp_path / "scan_t1.nii.gz")  # as stored (the affine in float32)
    expected = np.asarray(original.get_fdata(), np.float32)
    for folder in ("reconstructions", "zero_filled"):
        written = nibabel.load(tmp_path / "nii" / folder / "scan_t1.nii.gz")
        np.testing.assert_array_equal(written.affine, original.affine)
        np.testing.assert_array_equal(written.header.get_sform(), original.header.get_sform())
        assert written.header.get_zooms() == original.header.get_zooms()
        assert int(written.header["sform_code"]) == 4 and int(written.header["qform_code"]) == 1
        assert written.header["descrip"] == original.header["descrip"]
        assert written.get_data_dtype() == np.float32 and written.shape == original.shape
        np.testing.assert_allclose(written.get_fdata(), expected, rtol=0, atol=1e-5 * expected.max())
    assert "metrics.csv" in done.stdout


def test_bad_inputs_are_clear_errors(tmp_path):
    multicoil = tmp_path / "multicoil.h5"
    with h5py.File(multicoil, "w") as handle:
        handle["kspace"] = np.zeros((2, 4, 8, 8), np.complex64)
    with pytest.raises(ValueError, match="multi-coil k-space .* single-coil"):
        read_fastmri(multicoil)

    challenge = tmp_path / "challenge.h5"
    write_fastmri(
        challenge, complex_image(0), ground_truth=False, mask=(np.arange(ACQUISITION[2]) % 2).astype(float)
    )
    volume = read_fastmri(challenge)
    assert volume.crop == RECON and volume.target is None
    with pytest.raises(ValueError, match="carries its own undersampling mask"):
        measurement(volume, Task("radial", 0.2))
    _, mask, how = measurement(volume, None)
    assert (
        how.startswith("the file's own mask (50.0 %")
        and np.all(mask[:, 1::2] == 1)
        and np.all(mask[:, ::2] == 0)
    )

    nifti = tmp_path / "scan.nii.gz"
    nibabel.save(nibabel.Nifti1Image(np.ones((8, 8, 2), np.float32), np.eye(4)), nifti)
    with pytest.raises(ValueError, match="needs a task mask"):
        measurement(read_nifti(nifti), None)

    keras.utils.set_random_seed(0)
    meta = UnrolledLOA(MRISampling(name="measurement"), num_phases=1, num_tasks=2)
    recorded = [Task("radial", 0.1), Task("radial", 0.2)]
    assert task_index_for(meta, recorded, Task("radial", 0.2), None, None) == 1
    assert task_index_for(meta, recorded, None, 0, None) == 0
    with pytest.raises(ValueError, match="task_index.*0 radial:10, 1 radial:20"):
        task_index_for(meta, recorded, Task("radial", 0.3), None, None)
    with pytest.raises(ValueError, match="`domain` is for U-LDA"):
        task_index_for(meta, recorded, None, 0, 1)

    done = run("--model=zero_filling", f"--inputs={multicoil}", f"--output_dir={tmp_path / 'out'}")
    assert done.returncode == 2 and "error:" in done.stderr and "multi-coil" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()
    done = run(
        "--model=zero_filling", f"--inputs={tmp_path / 'missing.h5'}", f"--output_dir={tmp_path / 'out'}"
    )
    assert done.returncode == 2 and "error: --inputs" in done.stderr and "no such file" in done.stderr
