"""Reconstruct a user's own scans with a trained network (issue 18, part 1; SPEC 1).

Two kinds of input file:

- **fastMRI** ``.h5`` (single-coil: ``kspace`` ``[slices, H, W]`` complex on the centred
  orthonormal grid, as fastMRI's ``ifft2c`` reads it). Challenge and test files carry their own
  undersampling ``mask`` (1D over the ``W`` phase-encoding columns): it is applied as acquired.
  Fully sampled (train / val) files are undersampled retrospectively with a task's mask
  (``cartesian_gaussian:25``) at the acquisition grid. Every slice is reconstructed at the
  acquisition grid (the network is size-agnostic), then centre-cropped to the file's
  reconstruction size: the shape of its ground truth (``reconstruction_esc``, else ``_rss``), or
  the ISMRMRD header's ``reconSpace`` matrix size (fastMRI's rule), 320x320 for knee. Output: the
  fastMRI submission layout, one ``.h5`` per input, named as the input, with one dataset
  ``reconstruction`` float32 ``[slices, h, w]`` (fastMRI's ``save_reconstructions``). Multi-coil
  files (``kspace`` ``[slices, coils, H, W]``) are refused: no network here models coil
  sensitivities.
- **NIfTI** ``.nii`` / ``.nii.gz`` magnitude volumes (BraTS-like, slices along the last axis):
  each slice's k-space is simulated with the task's mask, ``y = P F x`` (SPEC 1), and the output
  is a NIfTI volume with the input's affine and header (data type float32), so a viewer overlays
  it on the original.

Decision (intensity normalisation): the networks were trained on slices with ``max|xhat| = 1``
(SPEC 5), so each slice's k-space is divided by ``s = max |F^H P y|`` (the zero-filled image's
peak, known from the measured data alone) before the network and the magnitude multiplied by
``s`` after it. Zero filling ``|F^H P y|`` is linear and needs no normalisation. A slice with no
signal (``s = 0``) is written as zeros.

Where the file holds a ground truth (fastMRI's reconstruction; a NIfTI input is its own), the
volume's PSNR, SSIM and NMSE follow fastMRI's evaluation conventions
(:func:`lda_tf.metrics.volume_metrics`).
"""

from __future__ import annotations

import dataclasses
import os
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

from lda_tf.data.tasks import Task
from lda_tf.data.volumes import center_crop, load_nifti
from lda_tf.loa.model import UnrolledNetwork
from lda_tf.mri.fft import fft2c, ifft2c
from lda_tf.mri.measurement import MRIInputs, MRISampling

FASTMRI_SUFFIXES = (".h5",)
NIFTI_SUFFIXES = (".nii", ".nii.gz")
GROUND_TRUTH_KEYS = ("reconstruction_esc", "reconstruction_rss")
ISMRMRD = "{http://www.ismrm.org/ISMRMRD}"

# (kspace [B, H, W] complex64, mask [B, H, W] float32, task_index [B] int32 or None) -> [B, H, W]
BatchReconstructor = Callable[[MRIInputs], tf.Tensor]


@dataclasses.dataclass
class Volume:
    """One input file, read: ``kspace`` (fastMRI, as acquired) or ``images`` (NIfTI slices), both
    ``[slices, H, W]``; the file's own ``mask`` ``[H, W]`` if it has one; the reconstruction size
    ``crop``; the ground truth ``target`` ``[slices, h, w]`` if any; the NIfTI image (affine and
    header) to write the output like."""

    path: Path
    kind: str  # "fastmri" or "nifti"
    kspace: np.ndarray | None = None
    images: np.ndarray | None = None
    mask: np.ndarray | None = None
    crop: tuple[int, int] | None = None
    target: np.ndarray | None = None
    target_key: str | None = None
    nifti: object = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.kspace if self.kspace is not None else self.images).shape


def kind_of(path: str | os.PathLike) -> str:
    """``fastmri`` or ``nifti`` by the file name; error for anything else."""
    name = Path(path).name.lower()
    if name.endswith(FASTMRI_SUFFIXES):
        return "fastmri"
    if name.endswith(NIFTI_SUFFIXES):
        return "nifti"
    raise ValueError(f"argument `inputs` {path}: not a fastMRI .h5 or a NIfTI .nii / .nii.gz file")


def input_files(inputs: list[str]) -> list[Path]:
    """The files ``inputs`` names (a folder stands for its ``.h5`` / ``.nii`` / ``.nii.gz`` files,
    sorted), each checked to exist; error if none, or if two would write the same output."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(
                entry
                for entry in path.iterdir()
                if entry.is_file() and entry.name.lower().endswith(FASTMRI_SUFFIXES + NIFTI_SUFFIXES)
            )
            if not found:
                raise ValueError(f"argument `inputs` {path}: a folder without .h5, .nii or .nii.gz files")
            files += found
        elif path.is_file():
            kind_of(path)
            files.append(path)
        else:
            raise FileNotFoundError(f"argument `inputs` {path}: no such file or folder")
    if not files:
        raise ValueError("argument `inputs`: no input files given")
    names = [file.name for file in files]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(
            f"argument `inputs`: several inputs named {', '.join(repeated)} (outputs are named as inputs)"
        )
    return files


def _header_recon_size(handle, path: Path) -> tuple[int, int] | None:
    if "ismrmrd_header" not in handle:
        return None
    try:
        root = ElementTree.fromstring(bytes(handle["ismrmrd_header"][()]))
        size = root.find(f"{ISMRMRD}encoding/{ISMRMRD}reconSpace/{ISMRMRD}matrixSize")
        return int(size.find(f"{ISMRMRD}x").text), int(size.find(f"{ISMRMRD}y").text)
    except (ElementTree.ParseError, AttributeError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: ismrmrd_header has no readable reconSpace matrixSize ({error})") from None


def read_fastmri(path: str | os.PathLike, crop: tuple[int, int] | None = None) -> Volume:
    """A fastMRI file's k-space, own mask, reconstruction size and ground truth (module
    docstring); ``crop`` overrides the reconstruction size. Errors name the file."""
    import h5py

    path = Path(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"{path}: cannot open as HDF5 ({error}); the file may be truncated") from None
    with handle:
        if "kspace" not in handle:
            raise ValueError(f"{path}: no 'kspace' dataset; not a fastMRI file")
        shape = handle["kspace"].shape
        if len(shape) == 4:
            raise ValueError(
                f"{path}: multi-coil k-space {list(shape)} [slices, coils, H, W]; the networks of lda_tf "
                "reconstruct single-coil k-space [slices, H, W] (no coil sensitivities are modelled): use "
                "fastMRI's single-coil files"
            )
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"{path}: kspace must be [slices, H, W]; got shape {list(shape)}")
        try:
            kspace = np.asarray(handle["kspace"][()])
            target_key = next((key for key in GROUND_TRUTH_KEYS if key in handle), None)
            target = np.asarray(handle[target_key][()], np.float32) if target_key else None
            mask = np.asarray(handle["mask"][()], np.float32) if "mask" in handle else None
        except (OSError, KeyError, TypeError) as error:
            raise ValueError(f"{path}: cannot read its datasets ({type(error).__name__}: {error})") from None
        recon_size = _header_recon_size(handle, path)
    if not np.iscomplexobj(kspace):
        raise ValueError(f"{path}: kspace must be complex; got {kspace.dtype}")
    kspace = kspace.astype(np.complex64)
    if not np.all(np.isfinite(kspace)):
        raise ValueError(f"{path}: kspace holds NaN or Inf values")
    height, width = kspace.shape[-2:]
    if mask is not None:
        if mask.ndim == 1 and mask.shape[0] == width:
            mask = np.broadcast_to(mask[None, :], (height, width))
        elif mask.shape != (height, width):
            raise ValueError(
                f"{path}: mask of shape {list(mask.shape)} fits neither [W] = [{width}] nor [H, W]"
            )
        mask = (np.asarray(mask) != 0).astype(np.float32)
    if target is not None:
        if target.ndim != 3 or target.shape[0] != kspace.shape[0]:
            raise ValueError(
                f"{path}: {target_key} of shape {list(target.shape)} does not match {len(kspace)} slices"
            )
        recon_size = target.shape[-2:]
    if crop is not None:
        recon_size = tuple(crop)
    if recon_size is None:
        raise ValueError(
            f"{path}: no reconstruction size (no ground truth, no ismrmrd_header reconSpace); "
            "give argument `crop`"
        )
    if recon_size[0] > height or recon_size[1] > width:
        raise ValueError(
            f"{path}: reconstruction size {recon_size} exceeds the acquisition grid {height}x{width}"
        )
    if target is not None and tuple(target.shape[-2:]) != tuple(recon_size):
        target = center_crop(target, recon_size, f"{path} {target_key}")
    return Volume(
        path,
        "fastmri",
        kspace=kspace,
        mask=mask,
        crop=tuple(recon_size),
        target=target,
        target_key=target_key,
    )


def read_nifti(path: str | os.PathLike) -> Volume:
    """A NIfTI volume's slices along its last axis ``[slices, X, Y]``, its image (affine,
    header), and itself as ground truth."""
    import nibabel

    volume = load_nifti(path)  # errors: missing, unreadable, not 3D, NaN
    images = np.ascontiguousarray(np.moveaxis(volume, -1, 0))
    if images.min() < 0:
        raise ValueError(f"{path}: negative voxels; expected a magnitude image (e.g. T1, T2, FLAIR)")
    return Volume(
        Path(path), "nifti", images=images, target=images, target_key="input", nifti=nibabel.load(path)
    )


def read_volume(path: str | os.PathLike, crop: tuple[int, int] | None = None) -> Volume:
    return read_fastmri(path, crop) if kind_of(path) == "fastmri" else read_nifti(path)


def measurement(volume: Volume, task: Task | None) -> tuple[np.ndarray, np.ndarray, str]:
    """The undersampled k-space ``y = P k`` ``[slices, H, W]``, the mask ``P`` ``[H, W]`` and how
    it was chosen: the file's own mask, else the task's (``task`` must then be given)."""
    height, width = volume.shape[-2:]
    if volume.mask is not None:
        if task is not None:
            raise ValueError(
                f"{volume.path}: the file carries its own undersampling mask (it was acquired undersampled); "
                "argument `task` applies to fully sampled files only: leave it out"
            )
        mask, how = volume.mask, "the file's own mask"
    else:
        if task is None:
            raise ValueError(
                f"{volume.path}: a fully sampled {volume.kind} input needs a task mask to undersample it "
                "retrospectively: give argument `task`, e.g. cartesian_gaussian:25"
            )
        mask, how = np.asarray(task.mask((height, width)), np.float32), f"task {task}"
    if volume.kspace is not None:
        kspace = volume.kspace * mask
    else:
        kspace = (fft2c(tf.complex(volume.images, tf.zeros_like(volume.images))) * mask).numpy()
    return kspace.astype(np.complex64), mask, f"{how} ({100 * mask.mean():.1f} % of k-space)"


def network_batches(network: UnrolledNetwork) -> BatchReconstructor:
    """The network's ``x_T``; one trace per batch shape (:func:`lda_tf.evaluation.network_reconstructor`)."""
    if not isinstance(network.measurement, MRISampling):
        raise ValueError(
            f"argument `model`: the network measures with {type(network.measurement).__name__}, not MRI "
            "k-space; only MRI networks reconstruct scans"
        )
    return tf.function(lambda inputs: network(inputs, training=False), reduce_retracing=True)


def zero_filled(kspace: np.ndarray) -> np.ndarray:
    """``|F^H P y|`` ``[slices, H, W]`` float32 (``kspace`` is already ``P y``)."""
    return np.abs(ifft2c(tf.constant(kspace)).numpy()).astype(np.float32)


def reconstruct(
    reconstructor: BatchReconstructor,
    kspace: np.ndarray,
    mask: np.ndarray,
    task_index: int | None = None,
    batch_size: int = 8,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """``|x_T|`` ``[slices, H, W]`` float32 of every slice of ``kspace`` (module docstring:
    normalised by the zero-filled peak, the magnitude scaled back), ``batch_size`` slices at a time
    (the last batch padded to that size, so one traced shape serves the volume); ``progress(n)``
    after each batch with the number of slices done."""
    scales = zero_filled(kspace).max(axis=(-2, -1))
    recon = np.zeros(kspace.shape, np.float32)
    signal = np.flatnonzero(scales > 0)
    done = len(kspace) - len(signal)  # slices without signal stay zero
    for start in range(0, len(signal), batch_size):
        chosen = signal[start : start + batch_size]
        padded = np.concatenate([chosen, np.repeat(chosen[-1:], batch_size - len(chosen))])
        batch = kspace[padded] / scales[padded, None, None]
        inputs = MRIInputs(
            tf.constant(batch.astype(np.complex64)),
            tf.constant(np.broadcast_to(mask, batch.shape).astype(np.float32)),
            None if task_index is None else tf.fill([batch_size], tf.constant(task_index, tf.int32)),
        )
        output = np.abs(reconstructor(inputs).numpy())[: len(chosen)]
        recon[chosen] = output * scales[chosen, None, None]
        done += len(chosen)
        if progress is not None:
            progress(done)
    return recon


def crop_like(volume: Volume, images: np.ndarray) -> np.ndarray:
    """``images`` ``[slices, H, W]`` at the volume's reconstruction size (fastMRI), else as they are."""
    if volume.crop is None:
        return images
    return center_crop(images, volume.crop, str(volume.path))


def write_submission(path: str | os.PathLike, recon: np.ndarray) -> None:
    """fastMRI's submission file: one dataset ``reconstruction`` float32 ``[slices, h, w]``."""
    import h5py

    with h5py.File(path, "w") as handle:
        handle.create_dataset("reconstruction", data=np.asarray(recon, np.float32))


def write_nifti_like(path: str | os.PathLike, images: np.ndarray, volume: Volume) -> None:
    """``images`` ``[slices, X, Y]`` as a NIfTI volume ``[X, Y, slices]`` with the input's affine
    and header (data type float32, no intensity scaling)."""
    import nibabel

    reference = volume.nifti
    header = reference.header.copy()
    header.set_data_dtype(np.float32)
    data = np.ascontiguousarray(np.moveaxis(np.asarray(images, np.float32), 0, -1))
    if reference.ndim == 4:  # [X, Y, Z, 1] in, as load_nifti read it
        data = data[..., None]
    image = type(reference)(data, reference.affine, header)
    image.header.set_slope_inter(1.0, 0.0)
    nibabel.save(image, os.fspath(path))


def write_output(path: str | os.PathLike, images: np.ndarray, volume: Volume) -> None:
    """The output file of ``volume`` (its kind's layout)."""
    if volume.kind == "fastmri":
        write_submission(path, images)
    else:
        write_nifti_like(path, images, volume)


def task_index_for(
    network: UnrolledNetwork,
    recorded_tasks: list[Task],
    task: Task | None,
    task_index: int | None,
    domain: int | None,
) -> int | None:
    """The ``task_index`` the network's inputs carry: U-LDA's ``domain``; for task weights the
    given ``task_index``, else the position of ``task`` among the tasks the model was trained on
    (``recorded_tasks``); None for a network with neither (kappa = 1). Errors say what to give."""
    if network.num_domains:
        if task_index is not None:
            raise ValueError(
                "argument `task_index` is for networks with task weights; this one has domains: use `domain`"
            )
        if domain is None or not 0 <= domain < network.num_domains:
            raise ValueError(
                f"argument `domain` must be one of 0..{network.num_domains - 1} (the model's domain groups)"
            )
        return domain
    if domain is not None:
        raise ValueError("argument `domain` is for U-LDA networks (with domain groups); this one has none")
    if not network.num_tasks:
        if task_index is not None:
            raise ValueError(
                "argument `task_index`: this network has no task weights (kappa = 1); leave it out"
            )
        return None
    if task_index is not None:
        if not 0 <= task_index < network.num_tasks:
            raise ValueError(
                f"argument `task_index` must be one of 0..{network.num_tasks - 1}; got {task_index}"
            )
        return task_index
    if task is not None and task in recorded_tasks:
        return recorded_tasks.index(task)
    listed = ", ".join(f"{index} {item}" for index, item in enumerate(recorded_tasks)) or "not recorded"
    raise ValueError(
        f"argument `task_index`: the network has {network.num_tasks} task weights sigma(omega_i) (its tasks: "
        f"{listed}); name the one to reconstruct with (0..{network.num_tasks - 1})"
    )
