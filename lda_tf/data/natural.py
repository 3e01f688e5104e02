"""Natural images for block compressed sensing (LDA paper 4.2.1-4.2.2).

The paper trains on the 91-image set (4.2.1) or BSD500 (4.2.2) and tests on Set11; none of them
can be downloaded at run time, so a folder of images is given by the user (PNG, JPEG, BMP, TIFF;
colour images are converted to their luminance). Without a folder, images scikit-image ships with
its wheel are used, offline: :data:`SKIMAGE_TRAIN` for training and the disjoint
:data:`SKIMAGE_TEST` for testing, labelled ``skimage-test (not Set11)`` in every table.

Decisions:
- Luminance ``Y = 0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601, as OpenCV's YCrCb used by the
  ISTA-Net+ code [80] the paper follows), values scaled to [0, 1] from the file's integer range.
- The default test images are centre-cropped to a square and resized to 256 x 256 (Set11's usual
  size); a user's test folder is used as is. Test images are zero-padded to whole blocks by the
  evaluation (``lda_tf.cs.pad_to_blocks``) and scored on their own region.
- Training pairs are random crops (the paper: 88,912 crops of 33 x 33; 89,600 crops of 96 x 96),
  drawn once with a seed, so the training set is a fixed set of patches as in the paper.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import skimage.data
import skimage.io
import skimage.transform

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".pgm")

# Photographs and micrographs in scikit-image's wheel (no download needed); the two lists are disjoint.
SKIMAGE_TRAIN = (
    "brick",
    "grass",
    "gravel",
    "coins",
    "moon",
    "page",
    "text",
    "hubble_deep_field",
    "immunohistochemistry",
    "stereo_motorcycle",
    "retina",
    "cell",
    "clock",
)
SKIMAGE_TEST = ("camera", "astronaut", "coffee", "chelsea", "rocket")
SKIMAGE_TEST_LABEL = "skimage-test (not Set11)"
DEFAULT_TEST_SIZE = 256


class NaturalImages(NamedTuple):
    """Grey images in [0, 1] (each ``[H, W]`` float32; sizes may differ), their names and the set's label."""

    images: list[np.ndarray]
    names: list[str]
    label: str


def luminance(image: np.ndarray, source: str) -> np.ndarray:
    """An image array as read -> ``[H, W]`` float32 luminance in [0, 1] (module docstring)."""
    image = np.asarray(image)
    if np.issubdtype(image.dtype, np.integer):
        image = image.astype(np.float64) / np.iinfo(image.dtype).max
    elif image.dtype == bool:
        image = image.astype(np.float64)
    else:
        image = image.astype(np.float64)
        if image.size and (image.min() < 0 or image.max() > 1):
            raise ValueError(
                f"{source}: floating-point image values must lie in [0, 1]; "
                f"got [{image.min():.3g}, {image.max():.3g}]"
            )
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        image = image[..., :3] @ np.array([0.299, 0.587, 0.114])
    elif image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise ValueError(f"{source}: expected a grey or RGB(A) image; got an array of shape {image.shape}")
    if not np.all(np.isfinite(image)):
        raise ValueError(f"{source}: image has non-finite values")
    return image.astype(np.float32)


def _square_resized(image: np.ndarray, size: int) -> np.ndarray:
    height, width = image.shape
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = image[top : top + side, left : left + side]
    return skimage.transform.resize(square, (size, size), anti_aliasing=True).astype(np.float32)


def _skimage_image(name: str) -> np.ndarray:
    image = getattr(skimage.data, name)()
    return image[0] if name == "stereo_motorcycle" else image  # (left, right, disparity): the left view


def read_folder(folder: str | os.PathLike, min_size: int = 1) -> NaturalImages:
    """Every image file directly in ``folder`` (sorted by name), as luminance in [0, 1]."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such image folder")
    paths = sorted(path for path in folder.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ValueError(f"{folder}: no image files ({', '.join(IMAGE_SUFFIXES)})")
    images = []
    for path in paths:
        try:
            array = skimage.io.imread(path)
        except Exception as error:  # any reader failure: name the file
            raise ValueError(f"{path}: cannot read the image ({error})") from error
        image = luminance(array, str(path))
        if min(image.shape) < min_size:
            raise ValueError(
                f"{path}: image is {image.shape[0]}x{image.shape[1]}, smaller than {min_size} pixels a side"
            )
        images.append(image)
    return NaturalImages(images, [path.stem for path in paths], str(folder))


def load_training_images(folder: str | os.PathLike | None, min_size: int) -> NaturalImages:
    """The user's training folder, or :data:`SKIMAGE_TRAIN` (module docstring)."""
    if folder:
        return read_folder(folder, min_size)
    images = [luminance(_skimage_image(name), f"skimage.data.{name}") for name in SKIMAGE_TRAIN]
    return NaturalImages(images, list(SKIMAGE_TRAIN), "skimage-train")


def load_test_images(folder: str | os.PathLike | None, size: int = DEFAULT_TEST_SIZE) -> NaturalImages:
    """The user's test folder (e.g. Set11), or :data:`SKIMAGE_TEST` at ``size`` x ``size``."""
    if folder:
        return read_folder(folder)
    images = [
        _square_resized(luminance(_skimage_image(name), f"skimage.data.{name}"), size)
        for name in SKIMAGE_TEST
    ]
    return NaturalImages(images, list(SKIMAGE_TEST), SKIMAGE_TEST_LABEL)


def random_patches(images: list[np.ndarray], size: int, count: int, seed: int) -> np.ndarray:
    """``count`` random ``size x size`` crops ``[count, size, size]`` float32; images are drawn
    with probability proportional to their number of crop positions (uniform over all crops)."""
    if count < 1:
        raise ValueError(f"patch count must be positive; got {count}")
    small = [index for index, image in enumerate(images) if min(image.shape) < size]
    if small:
        raise ValueError(f"images {small} are smaller than the {size}x{size} training patches")
    rng = np.random.default_rng(seed)
    positions = np.array(
        [(image.shape[0] - size + 1) * (image.shape[1] - size + 1) for image in images], np.float64
    )
    choices = rng.choice(len(images), size=count, p=positions / positions.sum())
    patches = np.empty((count, size, size), np.float32)
    for index, choice in enumerate(choices):
        image = images[choice]
        top = rng.integers(0, image.shape[0] - size + 1)
        left = rng.integers(0, image.shape[1] - size + 1)
        patches[index] = image[top : top + size, left : left + size]
    return patches
