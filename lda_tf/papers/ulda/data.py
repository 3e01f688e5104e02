"""The U-LDA experiments' data: the paper's datasets (converted under ``--data_root``), the offline
stand-ins of the quick and smoke profiles, and the disjoint source / target / test sets cut from
either.

Paper datasets (section 5.2; digest A4 #12), each a converted dataset folder under ``data_root``:

=============== ======================================== ==========================================
folder          what                                     converter
=============== ======================================== ==========================================
fastmri_brain   fastMRI brain, multi-coil RSS images     data_prep/fastmri.py --target=rss
fastmri_knee    fastMRI knee, single-coil ESC images      data_prep/fastmri.py --target=esc
cardiac         2D cardiac MR images (cine frames)        data_prep/images.py
prostate        2D prostate MR images                     data_prep/images.py
imagenet        ImageNet photographs (grey, 256x256)      data_prep/images.py --recursive
cifar10         CIFAR-10 images (grey, enlarged)          data_prep/images.py --split_by=image
stanford2d      Stanford 2D FSE (mridata.org)             data_prep/fastmri.py or images.py
=============== ======================================== ==========================================

The single-coil k-space of every image is simulated by the pipeline (``y = P F x``, centred
orthonormal FFT), so fastMRI brain's multi-coil RSS images become single-coil data as the paper
says (digest A4 #12). Decision: Table 3's "fastMRI" target is fastMRI knee (its 33.58 dB is
knee-like; brain reaches ~37.9 dB in Table 1).

Offline stand-ins (no download; every table says they are not the paper's data):
- ``brain``: the embedded sample (MNI152 T1 template slices, ``lda_tf.data.sample``) for fastMRI
  brain (cross-sampling) and for the cross-modality target "fastMRI";
- ``photos``: 160 x 180 windows of scikit-image's photographs (random position and scale, resized
  bicubically) for ImageNet: train and val from ``SKIMAGE_TRAIN``, test from the disjoint
  ``SKIMAGE_TEST`` (:mod:`lda_tf.data.natural`);
- ``lowres``: scikit-image's 200 LFW images of 25 x 25 pixels enlarged to 160 x 180 for CIFAR-10
  (32 x 32 images enlarged: smooth, low-detail images), split 120 / 30 / 50 by a seeded permutation.
Cross-anatomy has no offline stand-in (no second anatomy ships with the package).

Sets (:func:`derived`): a source domain trains on the first ``source_images`` of its dataset's
train split; a target on ``target_images`` others: in cross-sampling, where sources and targets
share the dataset, the next ones (disjoint by default, digest A4 #11; the release overlapped
them), else the first ones; Figure 7 draws its subsets from that target set. Validation and test
images are the first ``val_images`` / ``test_images`` of those splits.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import skimage.data

from lda_tf.data.images import fit_size, subset_dataset, write_image_dataset
from lda_tf.data.natural import SKIMAGE_TEST, load_training_images, luminance
from lda_tf.data.sample import CROP, sample_dir
from lda_tf.data.shards import MANIFEST, normalise_slice, read_manifest

FASTMRI_URL = "https://fastmri.med.nyu.edu/"


@dataclasses.dataclass(frozen=True)
class PaperDataset:
    name: str
    command: str  # how to make it (INPUT and DATA_ROOT stand for the user's folders)
    source: str  # where to get the raw data, and its terms


PAPER_DATASETS = {
    "fastmri_brain": PaperDataset(
        "fastMRI brain (multi-coil, RSS images)",
        "python data_prep/fastmri.py --input_dir=INPUT/multicoil_train --target=rss "
        "--output_dir=DATA_ROOT/fastmri_brain",
        f"{FASTMRI_URL} (NYU fastMRI data sharing agreement, research use)",
    ),
    "fastmri_knee": PaperDataset(
        "fastMRI knee (single-coil, ESC images)",
        "python data_prep/fastmri.py --input_dir=INPUT/singlecoil_train --target=esc "
        "--output_dir=DATA_ROOT/fastmri_knee",
        f"{FASTMRI_URL} (NYU fastMRI data sharing agreement, research use)",
    ),
    "cardiac": PaperDataset(
        "cardiac MR images (the paper does not name the set; its authors' release reads a cine "
        "'cardiac.mat' array 'seq', Schlemper et al.'s data)",
        "python data_prep/images.py --input_dir=INPUT --key=seq --slice_axis=2 --dataset=cardiac "
        "--output_dir=DATA_ROOT/cardiac",
        "any 2D cardiac MR set, e.g. the cine data of Schlemper et al. 2017 "
        "(https://github.com/js3611/Deep-MRI-Reconstruction) or OCMR (https://www.ocmr.info/); "
        "terms as each provider states",
    ),
    "prostate": PaperDataset(
        "prostate MR images (the paper does not name the set)",
        "python data_prep/images.py --input_dir=INPUT --dataset=prostate --output_dir=DATA_ROOT/prostate",
        f"e.g. fastMRI prostate ({FASTMRI_URL}, data sharing agreement; convert its images with "
        "data_prep/fastmri.py --target=rss)",
    ),
    "imagenet": PaperDataset(
        "ImageNet photographs (grey, 256x256)",
        "python data_prep/images.py --input_dir=INPUT/train --recursive --max_members=1000 "
        "--split_by=file --dataset=imagenet --output_dir=DATA_ROOT/imagenet",
        "https://image-net.org/ (terms of access: non-commercial research and education)",
    ),
    "cifar10": PaperDataset(
        "CIFAR-10 images (grey, enlarged to 256x256)",
        "python data_prep/images.py --input_dir=INPUT --split_by=image --max_members=1000 "
        "--dataset=cifar10 --output_dir=DATA_ROOT/cifar10  (INPUT: the images as PNG files or "
        "colour stacks [N, 32, 32, 3] in .npy files)",
        "https://www.cs.toronto.edu/~kriz/cifar.html",
    ),
    "stanford2d": PaperDataset(
        "Stanford 2D FSE (mridata.org)",
        "python data_prep/images.py --input_dir=INPUT --dataset=stanford2d --output_dir=DATA_ROOT/stanford2d "
        "(INPUT: the magnitude images as PNG/NPY/HDF5)",
        "http://mridata.org/ (Stanford 2D FSE; terms as the site states)",
    ),
}
STANDINS = {
    "brain": "embedded sample: MNI152 T1 template slices (NOT fastMRI)",
    "photos": "scikit-image photographs, 160x180 windows (NOT ImageNet)",
    "lowres": "scikit-image's LFW subset, 25x25 enlarged to 160x180 (NOT CIFAR-10)",
}
STANDIN_VERSION = 1  # change when the stand-ins' recipe changes: they are rebuilt


def missing_datasets(data_root: str | None, keys) -> str:
    """A message naming the datasets of ``keys`` missing under ``data_root`` with how to make
    each (empty when none is missing)."""
    missing = [key for key in keys if not data_root or not (Path(data_root) / key / MANIFEST).is_file()]
    if not missing:
        return ""
    where = f"--data_root={data_root}" if data_root else "--data_root (not given)"
    lines = [f"needs converted datasets under {where}; missing: {', '.join(missing)}"]
    for key in missing:
        dataset = PAPER_DATASETS[key]
        lines.append(f"  {key}: {dataset.name}; get it from {dataset.source}; convert: {dataset.command}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ stand-ins
def _windows(pictures: list[np.ndarray], count: int, shape: tuple[int, int], seed: int) -> np.ndarray:
    """``count`` windows of ``shape``'s aspect ratio (random position, 50-100 % of the largest
    window) of ``pictures`` in turn, resized to ``shape`` and max-normalised."""
    rng = np.random.default_rng(seed)
    images = []
    for index in range(count):
        picture = pictures[index % len(pictures)]
        height, width = picture.shape
        scale = min(height / shape[0], width / shape[1]) * rng.uniform(0.5, 1.0)
        size = (max(8, int(shape[0] * scale)), max(8, int(shape[1] * scale)))
        top, left = rng.integers(0, height - size[0] + 1), rng.integers(0, width - size[1] + 1)
        window = picture[top : top + size[0], left : left + size[1]]
        images.append(
            normalise_slice(fit_size(window, shape, "resize", f"window {index}"), f"window {index}")
        )
    return np.stack(images)


def _photos(shape: tuple[int, int]) -> dict:
    train_pictures = load_training_images(None, min_size=1).images
    test_pictures = [
        luminance(getattr(skimage.data, name)(), f"skimage.data.{name}") for name in SKIMAGE_TEST
    ]
    splits = {
        "train": (train_pictures, 60, 1),
        "val": (train_pictures, 20, 2),
        "test": (test_pictures, 20, 3),
    }
    return {
        split: (_windows(pictures, count, shape, seed), [f"{split}{i}" for i in range(count)])
        for split, (pictures, count, seed) in splits.items()
    }


def _lowres(shape: tuple[int, int]) -> dict:
    faces = skimage.data.lfw_subset()  # [200, 25, 25] in [0, 1]
    order = np.random.default_rng(0).permutation(len(faces))
    parts = {"train": order[:120], "val": order[120:150], "test": order[150:]}
    return {
        split: (
            np.stack(
                [normalise_slice(fit_size(faces[i], shape, "resize", f"lfw {i}"), f"lfw {i}") for i in chosen]
            ),
            [f"lfw{i}" for i in chosen],
        )
        for split, chosen in parts.items()
    }


def standin(name: str, folder: Path) -> Path:
    """The offline stand-in ``name`` (:data:`STANDINS`): the embedded sample, or a dataset written
    once into ``folder/offline_<name>`` at the sample's size."""
    if name == "brain":
        return sample_dir()
    directory = folder / f"offline_{name}"
    protocol = {"standin": name, "version": STANDIN_VERSION, "shape": list(CROP)}
    if (directory / MANIFEST).is_file() and read_manifest(directory).get("protocol") == protocol:
        return directory
    splits = {"photos": _photos, "lowres": _lowres}[name](CROP)
    write_image_dataset(directory, splits, f"offline_{name}", protocol, overwrite=True)
    return directory


# ------------------------------------------------------------------------------------ sets
def split_size(dataset_dir: str | Path, split: str) -> int:
    return int(read_manifest(dataset_dir)["shards"][split]["num_images"])


def derived(
    dataset_dir: str | Path,
    output_dir: Path,
    train: list[int],
    val_images: int,
    test_images: int,
    label: str,
) -> Path:
    """A dataset of ``dataset_dir``'s training images ``train`` and its first validation and test
    images (:func:`lda_tf.data.images.subset_dataset`); errors name ``label`` and the counts."""
    available = {split: split_size(dataset_dir, split) for split in ("train", "val", "test")}
    wanted = {"train": max(train) + 1, "val": val_images, "test": test_images}
    short = {split: n for split, n in wanted.items() if n > available[split]}
    if short:
        raise ValueError(
            f"{label} ({dataset_dir}): too few images: it has {available}, the experiment needs at "
            f"least {short}"
        )
    selection = {
        "train": ("train", train),
        "val": ("val", list(range(val_images))),
        "test": ("test", list(range(test_images))),
    }
    return subset_dataset(dataset_dir, output_dir, selection)
