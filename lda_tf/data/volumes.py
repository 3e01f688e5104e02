"""Reading raw volumes and cutting protocol slices from them (shared by the converters)."""

from __future__ import annotations

import os

import numpy as np
from skimage.measure import block_reduce


def load_nifti(path: str | os.PathLike) -> np.ndarray:
    """A 3D NIfTI volume as float32; errors name the file and the problem (missing, truncated or
    unreadable, not 3D, NaN or Inf voxels)."""
    import nibabel

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: file not found")
    try:
        volume = np.asarray(nibabel.load(path).get_fdata(dtype=np.float32))
    except Exception as error:  # nibabel raises several types for damaged files
        raise ValueError(f"{path}: cannot read as NIfTI ({type(error).__name__}: {error})") from error
    if volume.ndim == 4 and volume.shape[-1] == 1:
        volume = volume[..., 0]
    if volume.ndim != 3:
        raise ValueError(f"{path}: expected a 3D volume; got shape {volume.shape}")
    if not np.all(np.isfinite(volume)):
        raise ValueError(f"{path}: contains NaN or Inf voxels")
    return volume


def center_crop(image: np.ndarray, size: tuple[int, int], source: str) -> np.ndarray:
    """Centre crop of the last two axes to ``size``; error if the image is smaller."""
    height, width = image.shape[-2:]
    if height < size[0] or width < size[1]:
        raise ValueError(
            f"{source}: in-plane size {height}x{width} is smaller than the crop {size[0]}x{size[1]}"
        )
    top, left = (height - size[0]) // 2, (width - size[1]) // 2
    return image[..., top : top + size[0], left : left + size[1]]


def downsample(images: np.ndarray, factor: int, source: str) -> np.ndarray:
    """Average ``factor x factor`` pixel blocks of the last two axes (quick CPU runs: the whole
    field of view at lower resolution, where a crop would cut anatomy away); error unless both
    sides are divisible by ``factor``."""
    height, width = images.shape[-2:]
    if height % factor or width % factor:
        raise ValueError(
            f"{source}: in-plane size {height}x{width} is not divisible by the downsampling factor {factor}"
        )
    block = (1,) * (images.ndim - 2) + (factor, factor)
    return block_reduce(images, block, np.mean).astype(images.dtype)


def central_slice_indices(depth: int, num_slices: int, source: str) -> list[int]:
    """The ``num_slices`` adjacent slices around the centre of an axis of length ``depth``."""
    if num_slices > depth:
        raise ValueError(f"{source}: {depth} slices, fewer than the {num_slices} requested")
    first = depth // 2 - num_slices // 2
    return list(range(first, first + num_slices))
