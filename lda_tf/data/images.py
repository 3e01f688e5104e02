"""Image files and arrays -> converted datasets (U-LDA paper section 5.2; SPEC 5 format).

Serves the U-LDA datasets that are not fastMRI: cardiac, prostate, Stanford 2D FSE, ImageNet and
CIFAR-10 (upsampled), and any folder of 2D images or stacks of them. Every image goes through
:func:`prepare_image`:

1. **magnitude**: complex values -> ``|x|``; negative real values -> ``|x|`` as well;
2. **grayscale**: RGB(A) -> luminance ``Y = 0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601, as
   :func:`lda_tf.data.natural.luminance`); values as read (step 4 removes any scale);
3. **size**: ``fit="crop"`` takes the centre ``size`` window (an image smaller than ``size`` is an
   error naming the file); ``fit="resize"`` takes the centre window of ``size``'s aspect ratio and
   resizes it bicubically (anti-aliased when shrinking; CIFAR-10's 32 x 32 images are enlarged),
   then clips the bicubic overshoot below zero;
4. **per-image max normalisation** (:func:`lda_tf.data.shards.normalise_slice`).

Readers (:func:`read_image_file`), chosen by suffix: PNG / JPEG / TIFF / BMP / PGM (scikit-image),
``.npy`` (NumPy), ``.nii`` / ``.nii.gz`` (nibabel), ``.h5`` / ``.hdf5`` and ``.mat`` (MATLAB v7.3 is
HDF5, read by h5py; older versions by ``scipy.io.loadmat``). A file holds one 2D image or a stack
of them along ``slice_axis`` (default: the last axis for NIfTI volumes, the first for arrays; an
image file is one image, colour or not; ``[N, H, W, 3]`` arrays are colour stacks). HDF5 and MAT
files name the array with ``key``, or hold exactly one numeric array of two or more dimensions.

Decisions:
- A file is one *member* (a patient's volume, a cine series, one photograph): files, not slices,
  are split into train / val / test by the seeded permutation of
  :func:`lda_tf.data.fastmri.split_files`, so the slices of one volume never straddle splits;
  ``split_by="image"`` makes every image a member (stacks of unrelated images: CIFAR-10 batches).
- All-zero slices (the empty ends of a volume) cannot be max-normalised; they are skipped and
  counted in the manifest (``skipped_empty``). A file with no non-empty slice is an error.

:func:`write_image_dataset` writes already prepared images (the U-LDA reproduction's offline
stand-ins), :func:`subset_dataset` a dataset of chosen images of another one (U-LDA's disjoint
source and target sets, Figure 7's random target subsets); both record where the images came from.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import skimage.io
import skimage.transform

from lda_tf.atomic import check_writable
from lda_tf.checks import check_choice
from lda_tf.data.fastmri import check_fractions, split_files
from lda_tf.data.shards import (
    MANIFEST,
    SPLITS,
    MemberSlices,
    SplitSlices,
    collect_splits,
    normalise_slice,
    read_manifest,
    read_split_images,
    sha256,
    write_dataset,
)
from lda_tf.data.volumes import center_crop, load_nifti

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".pgm")
ARRAY_SUFFIXES = (".npy", ".nii", ".nii.gz", ".h5", ".hdf5", ".mat")
SUFFIXES = PICTURE_SUFFIXES + ARRAY_SUFFIXES
FITS = ("crop", "resize")


def file_suffix(path: str | os.PathLike) -> str:
    """The lower-case suffix a reader is chosen by (``.nii.gz`` counts as one)."""
    name = Path(path).name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else Path(name).suffix


# ------------------------------------------------------------------------------------ reading
def _numeric(value) -> bool:
    return np.issubdtype(value.dtype, np.number) or set(value.dtype.names or ()) == {"real", "imag"}


def _complex_record(array: np.ndarray) -> np.ndarray:
    """MATLAB complex arrays in HDF5 are compound records ``(real, imag)``."""
    if array.dtype.names and set(array.dtype.names) == {"real", "imag"}:
        return array["real"] + 1j * array["imag"]
    return array


def _choose_key(shapes: dict[str, tuple], key: str | None, source: str) -> str:
    """``key``, or the only array of two or more dimensions (``shapes``: the numeric arrays)."""
    if key is not None:
        if key not in shapes:
            raise ValueError(
                f"{source}: no numeric array {key!r} (argument `key`); it holds {sorted(shapes)}"
            )
        return key
    candidates = sorted(name for name, shape in shapes.items() if len(shape) >= 2)
    if len(candidates) != 1:
        found = candidates or "no numeric array of 2 or more dimensions"
        raise ValueError(f"{source}: name the image array with argument `key`; found {found}")
    return candidates[0]


def _read_hdf5(path: str, key: str | None) -> np.ndarray:
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"{path}: cannot open as HDF5 ({error}); the file may be truncated") from error
    with handle:
        datasets: dict = {}
        handle.visititems(
            lambda name, item: datasets.update({name: item}) if isinstance(item, h5py.Dataset) else None
        )
        shapes = {name: item.shape for name, item in datasets.items() if _numeric(item)}
        array = _complex_record(np.asarray(datasets[_choose_key(shapes, key, path)][()]))
    if file_suffix(path) == ".mat":
        array = array.T  # MATLAB v7.3 stores column-major: h5py sees the axes reversed
    return array


def _read_mat(path: str, key: str | None) -> np.ndarray:
    import h5py
    import scipy.io

    if h5py.is_hdf5(path):  # MATLAB v7.3
        return _read_hdf5(path, key)
    try:
        contents = scipy.io.loadmat(path)
    except NotImplementedError:  # MATLAB v7.3 files are HDF5
        return _read_hdf5(path, key)
    except Exception as error:  # scipy raises several types for damaged files
        raise ValueError(f"{path}: cannot read as a MATLAB file ({type(error).__name__}: {error})") from error
    arrays = {
        name: value
        for name, value in contents.items()
        if not name.startswith("__") and isinstance(value, np.ndarray) and _numeric(value)
    }
    return np.asarray(arrays[_choose_key({n: v.shape for n, v in arrays.items()}, key, path)])


def read_image_file(path: str | os.PathLike, key: str | None = None) -> tuple[np.ndarray, bool]:
    """The array a file holds and whether it is a picture (PNG, JPEG, ...: one image, a colour
    axis last) rather than an array of 2D images (module docstring)."""
    path = os.fspath(path)
    suffix = check_choice(file_suffix(path), SUFFIXES, "file type")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: file not found")
    if suffix in PICTURE_SUFFIXES:
        try:
            return np.asarray(skimage.io.imread(path)), True
        except Exception as error:  # any reader failure: name the file
            raise ValueError(f"{path}: cannot read the image ({type(error).__name__}: {error})") from error
    if suffix == ".npy":
        try:
            return np.load(path, allow_pickle=False), False
        except Exception as error:
            raise ValueError(f"{path}: cannot read as NumPy ({type(error).__name__}: {error})") from error
    if suffix in (".nii", ".nii.gz"):
        return load_nifti(path), False
    if suffix == ".mat":
        return _read_mat(path, key), False
    return _read_hdf5(path, key), False


def grayscale(image: np.ndarray, source: str) -> np.ndarray:
    """One image (``[H, W]``, or ``[H, W, 3|4]`` colour) -> ``[H, W]`` float64 magnitude: BT.601
    luminance of colour images, ``|x|`` of complex or signed values (module docstring)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        image = image[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    elif image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise ValueError(f"{source}: expected a 2D grey or colour image; got shape {image.shape}")
    if np.iscomplexobj(image):
        return np.abs(image).astype(np.float64)
    return np.abs(image.astype(np.float64))


def image_slices(array: np.ndarray, picture: bool, slice_axis: int | None, source: str) -> list[np.ndarray]:
    """The 2D grayscale (not yet normalised) images of a file's array: a picture is one image; an
    array is one 2D image, a stack ``[N, H, W]`` along ``slice_axis`` (default 0) or a colour stack
    ``[N, H, W, 3|4]``."""
    array = np.asarray(array)
    if picture:
        return [grayscale(array, source)]
    if array.ndim == 2:
        return [grayscale(array, source)]
    if array.ndim == 4 and array.shape[-1] in (3, 4):
        return [grayscale(image, f"{source} image {i}") for i, image in enumerate(array)]
    if array.ndim != 3:
        raise ValueError(
            f"{source}: expected a 2D image, a stack [N, H, W] or a colour stack [N, H, W, 3]; "
            f"got shape {array.shape}"
        )
    axis = 0 if slice_axis is None else int(slice_axis)
    if not -3 <= axis < 3:
        raise ValueError(f"argument `slice_axis` must be in [-3, 2] for 3D arrays; got {slice_axis}")
    return [grayscale(image, f"{source} slice {i}") for i, image in enumerate(np.moveaxis(array, axis, 0))]


def fit_size(image: np.ndarray, size: tuple[int, int], fit: str, source: str) -> np.ndarray:
    """``image`` at ``size`` by ``fit`` (module docstring, step 3)."""
    check_choice(fit, FITS, "fit")
    if fit == "crop":
        if image.shape[0] < size[0] or image.shape[1] < size[1]:
            raise ValueError(
                f"{source}: image is {image.shape[0]}x{image.shape[1]}, smaller than the crop "
                f"{size[0]}x{size[1]}; use argument `fit` 'resize'"
            )
        return center_crop(image, size, source)
    height, width = image.shape
    scale = min(height / size[0], width / size[1])  # the largest window of size's aspect ratio
    window = (min(height, max(1, round(size[0] * scale))), min(width, max(1, round(size[1] * scale))))
    cropped = center_crop(image, window, source)
    shrinking = window[0] > size[0] or window[1] > size[1]
    resized = skimage.transform.resize(
        cropped, size, order=3, mode="reflect", anti_aliasing=shrinking, preserve_range=True
    )
    return np.maximum(resized, 0.0)


def prepare_image(image: np.ndarray, size: tuple[int, int], fit: str, source: str) -> np.ndarray:
    """One image as read (grey, colour or complex ``[H, W(, C)]``) -> ``[H, W]`` float32 magnitude,
    maximum 1 (module docstring, steps 1-4)."""
    return normalise_slice(fit_size(grayscale(image, source), size, fit, source), source)


# ------------------------------------------------------------------------------------ converting
def _member_name(path: Path, root: Path) -> str:
    relative = path.relative_to(root).as_posix()
    suffix = file_suffix(path)
    return relative[: -len(suffix)] if relative.lower().endswith(suffix) else relative


def image_files(input_dir: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """The convertible files in ``input_dir`` (and its subfolders with ``recursive``), sorted."""
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise FileNotFoundError(f"{input_dir}: the image directory does not exist")
    candidates = input_dir.rglob("*") if recursive else input_dir.iterdir()
    files = sorted(path for path in candidates if path.is_file() and file_suffix(path) in SUFFIXES)
    if not files:
        where = "in it or its subfolders" if recursive else "directly in it (see argument `recursive`)"
        raise ValueError(f"{input_dir}: no image files ({', '.join(SUFFIXES)}) {where}")
    return files


def check_size(size) -> tuple[int, int]:
    """``size`` as two positive integers (errors name argument ``size``)."""
    try:
        values = [float(v) for v in size]
    except (TypeError, ValueError):
        values = []
    if len(values) != 2 or any(v != int(v) or v < 1 for v in values):
        raise ValueError(f"argument `size` must be two positive integers HEIGHT,WIDTH; got {size}")
    return int(values[0]), int(values[1])


class _Member:
    """A member to split: one file (``index`` None) or one image of a file."""

    def __init__(self, path: Path, name: str, index: int | None = None, raw: np.ndarray | None = None):
        self.path, self.name, self.index, self.raw = path, name, index, raw


def _file_images(
    member: _Member,
    size: tuple[int, int],
    fit: str,
    key: str | None,
    slice_axis: int | None,
    hashes: dict[Path, str],
) -> MemberSlices:
    """A member's prepared, normalised, non-empty images (module docstring)."""
    path = member.path
    if member.raw is not None:
        raw_images, input_shape = {member.index: member.raw}, list(member.raw.shape)
    else:
        array, picture = read_image_file(path, key)
        axis = -1 if slice_axis is None and file_suffix(path) in (".nii", ".nii.gz") else slice_axis
        raw_images, input_shape = (
            dict(enumerate(image_slices(array, picture, axis, str(path)))),
            list(array.shape),
        )
    images, indices, skipped = [], [], 0
    for index, image in raw_images.items():
        source = f"{path}" + (f" slice {index}" if len(raw_images) > 1 or member.index is not None else "")
        if not np.all(np.isfinite(image)):
            raise ValueError(f"{source}: contains NaN or Inf values")
        fitted = fit_size(image, size, fit, source)
        if not np.any(fitted > 0):
            skipped += 1
            continue
        images.append(normalise_slice(fitted, source))
        indices.append(index)
    if not images:
        raise ValueError(f"{path}: every slice is empty (all zeros); nothing to convert")
    record = {
        "file": str(path),
        "sha256": hashes[path] if path in hashes else hashes.setdefault(path, sha256(path)),
        "slices": indices,
        "skipped_empty": skipped,
        "input_shape": input_shape,
    }
    return MemberSlices(member.name, np.stack(images), indices, record)


def _members(
    files: list[Path], root: Path, split_by: str, key: str | None, slice_axis: int | None
) -> list[_Member]:
    if split_by == "file":
        return [_Member(path, _member_name(path, root)) for path in files]
    members = []
    for path in files:
        array, picture = read_image_file(path, key)
        axis = -1 if slice_axis is None and file_suffix(path) in (".nii", ".nii.gz") else slice_axis
        for index, image in enumerate(image_slices(array, picture, axis, str(path))):
            members.append(_Member(path, f"{_member_name(path, root)}:{index}", index, image))
    return members


def convert_images(
    input_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    size: tuple[int, int] = (256, 256),
    fit: str = "resize",
    key: str | None = None,
    slice_axis: int | None = None,
    split_by: str = "file",
    max_members: int | None = None,
    recursive: bool = False,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    dataset: str = "images",
    overwrite: bool = False,
    provenance: dict | None = None,
) -> dict:
    """Convert the image files in ``input_dir`` (atomically into ``output_dir``); returns the manifest.

    ``split_by="file"`` splits files (volumes, series: their slices stay together), ``"image"``
    every image of every file (stacks of unrelated images such as CIFAR-10 batches);
    ``max_members`` keeps a seeded random choice of that many members first (e.g. 600 of
    ImageNet's images). Arguments and the output are checked before any file is read: the output is
    never the input folder (or inside or above it); an existing one is replaced only with
    ``overwrite`` and only if it is a converted dataset (:func:`lda_tf.atomic.check_writable`)."""
    size = check_size(size)
    check_choice(fit, FITS, "fit")
    check_choice(split_by, ("file", "image"), "split_by")
    fractions = check_fractions(fractions)
    if seed < 0:
        raise ValueError(f"argument `seed` must be >= 0; got {seed}")
    if max_members is not None and max_members < 1:
        raise ValueError(f"argument `max_members` must be >= 1; got {max_members}")
    check_writable(output_dir, overwrite, MANIFEST, [input_dir])
    root = Path(input_dir)
    members = _members(image_files(root, recursive), root, split_by, key, slice_axis)
    if max_members is not None and max_members < len(members):
        chosen = np.sort(np.random.default_rng(seed).choice(len(members), max_members, replace=False))
        members = [members[i] for i in chosen]
    by_split = split_files(members, fractions, seed, str(input_dir))
    hashes: dict[Path, str] = {}  # a file's checksum, once for all its images
    splits, manifest_splits = collect_splits(
        by_split, lambda member: _file_images(member, size, fit, key, slice_axis, hashes)
    )
    manifest = {
        "dataset": dataset,
        "protocol": {
            "size": list(size),
            "fit": fit,
            "key": key,
            "slice_axis": slice_axis,
            "split_by": split_by,
            "max_members": max_members,
            "recursive": recursive,
            "grayscale": "BT.601 luminance",
            "normalisation": "per-image maximum",
            "fractions": list(fractions),
            "seed": seed,
        },
        "splits": manifest_splits,
        "provenance": provenance or {},
    }
    write_dataset(output_dir, splits, manifest, overwrite=overwrite, inputs=[input_dir])
    return manifest


# ------------------------------------------------------------------------------------ in-memory sets
def write_image_dataset(
    output_dir: str | os.PathLike,
    splits: dict[str, tuple[np.ndarray, Sequence[str]]],
    dataset: str,
    protocol: dict,
    overwrite: bool = False,
) -> Path:
    """Write prepared images ``{split: ([N, H, W] in [0, 1], names)}`` as a converted dataset
    (each image its own member, named; ``protocol`` says how they were made)."""
    written, manifest_splits = {}, {}
    for split, (images, names) in splits.items():
        check_choice(split, SPLITS, "split")
        images = np.asarray(images, np.float32)
        if images.ndim != 3 or len(images) != len(names) or not len(images):
            raise ValueError(f"split {split}: expected [N, H, W] images with N names, N >= 1")
        written[split] = SplitSlices(images, list(names), [0] * len(images))
        manifest_splits[split] = {"patients": list(names), "sources": {}}
    manifest = {"dataset": dataset, "protocol": protocol, "splits": manifest_splits}
    return write_dataset(output_dir, written, manifest, overwrite=overwrite)


def subset_dataset(
    source_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    selection: dict[str, tuple[str, Sequence[int] | None]],
    dataset: str | None = None,
) -> Path:
    """A dataset whose split ``s`` holds the images ``indices`` (all if None) of ``source_dir``'s
    split ``selection[s] = (source split, indices)``, recorded as ``derived_from`` in its manifest.
    An existing ``output_dir`` with the same record is reused; one with another record (and a
    manifest: ours) is rebuilt."""
    source_dir, output_dir = Path(source_dir), Path(output_dir)
    source = read_manifest(source_dir)
    record = {
        "source": str(source_dir.resolve()),
        "source_shards": {s: source["shards"][s].get("sha256") for s in sorted(source["shards"])},
        "selection": {
            split: {"split": chosen, "indices": None if indices is None else [int(i) for i in indices]}
            for split, (chosen, indices) in sorted(selection.items())
        },
    }
    if (output_dir / MANIFEST).is_file():
        try:
            if read_manifest(output_dir).get("derived_from") == record:
                return output_dir
        except ValueError:
            pass
    splits, manifest_splits = {}, {}
    for split, (chosen, indices) in selection.items():
        check_choice(split, SPLITS, "split")
        images = read_split_images(source_dir, chosen)
        members = source.get("splits", {}).get(chosen, {})
        chosen_indices = list(range(len(images))) if indices is None else [int(i) for i in indices]
        if not chosen_indices or any(not 0 <= i < len(images) for i in chosen_indices):
            raise ValueError(
                f"{source_dir} split {chosen!r} has {len(images)} images; cannot take indices "
                f"{chosen_indices[:5]}{'...' if len(chosen_indices) > 5 else ''}"
            )
        names = [f"{chosen}:{i}" for i in chosen_indices]
        splits[split] = SplitSlices(images[chosen_indices], names, chosen_indices)
        manifest_splits[split] = {"patients": sorted(set(names)), "source_members": members.get("patients")}
    manifest = {
        "dataset": dataset or source.get("dataset", "derived"),
        "protocol": source.get("protocol", {}),
        "derived_from": record,
        "splits": manifest_splits,
    }
    return write_dataset(output_dir, splits, manifest, overwrite=True, inputs=[source_dir])


__all__ = [
    "FITS",
    "SUFFIXES",
    "convert_images",
    "fit_size",
    "image_files",
    "prepare_image",
    "read_image_file",
    "subset_dataset",
    "write_image_dataset",
]
