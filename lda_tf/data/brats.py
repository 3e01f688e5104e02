"""BraTS 2018 -> converted dataset, by the meta paper's protocol (section 5.1; SPEC 5).

Layout read: the training release ``<train_root>/{HGG,LGG}/<case>/<case>_{t1,t1ce,t2,flair}.nii.gz``
and the validation release ``<val_root>/<case>/<case>_<modality>.nii.gz`` (no grade folders).

Protocol (defaults): 30 training and 6 test patients drawn without overlap from the training
release's HGG cases, 15 validation patients from the validation release, by a seeded permutation
of the sorted case names; from each volume the 10 adjacent central axial slices (the last array
axis), each centre-cropped to 160x180 in-plane (rows = first array axis, columns = second, no
reorientation) and normalised by its own maximum: 300 / 150 / 60 images.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from lda_tf.atomic import check_writable
from lda_tf.checks import check_choice
from lda_tf.data.shards import MANIFEST, MemberSlices, collect_splits, normalise_slice, sha256, write_dataset
from lda_tf.data.volumes import center_crop, central_slice_indices, load_nifti

MODALITIES = ("t1", "t1ce", "t2", "flair")
DATASET_URL = "https://www.med.upenn.edu/sbia/brats2018/data.html"


@dataclasses.dataclass(frozen=True)
class BratsProtocol:
    modality: str = "t1"
    grade: str = "HGG"
    num_train: int = 30
    num_val: int = 15
    num_test: int = 6
    crop: tuple[int, int] = (160, 180)
    num_slices: int = 10
    seed: int = 0

    def __post_init__(self):
        check_choice(self.modality, MODALITIES, "modality")
        check_choice(self.grade, ("HGG", "LGG"), "grade")
        for name in ("num_train", "num_val", "num_test", "num_slices"):
            if getattr(self, name) < 1:
                raise ValueError(f"argument `{name}` must be a positive integer; got {getattr(self, name)}")
        if len(self.crop) != 2 or min(self.crop) < 1:
            raise ValueError(f"argument `crop` must be two positive integers; got {self.crop}")
        if self.seed < 0:
            raise ValueError(f"argument `seed` must be >= 0; got {self.seed}")


def list_cases(root: str | os.PathLike, what: str) -> list[Path]:
    """Case folders under ``root`` (sorted); errors say what layout was expected."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: the {what} directory does not exist")
    cases = sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))
    if not cases:
        raise ValueError(
            f"{root}: no case folders; expected {what} as <case>/<case>_<modality>.nii.gz "
            f"(BraTS 2018 layout, see {DATASET_URL})"
        )
    return cases


def case_file(case: Path, modality: str) -> Path:
    path = case / f"{case.name}_{modality}.nii.gz"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing the {modality} volume of case {case.name}")
    return path


def case_slices(case: Path, protocol: BratsProtocol) -> tuple[np.ndarray, list[int], Path]:
    """The protocol's normalised slices ``[num_slices, H, W]`` of one case, their indices, the file."""
    path = case_file(case, protocol.modality)
    volume = load_nifti(path)
    indices = central_slice_indices(volume.shape[-1], protocol.num_slices, str(path))
    slices = center_crop(np.moveaxis(volume[..., indices], -1, 0), protocol.crop, str(path))
    images = np.stack(
        [normalise_slice(image, f"{path} slice {index}") for image, index in zip(slices, indices)]
    )
    return images, indices, path


def select_cases(
    train_root: str | os.PathLike, val_root: str | os.PathLike, protocol: BratsProtocol
) -> dict[str, list[Path]]:
    """Seeded, disjoint choice of train / val / test cases (module docstring)."""
    graded = Path(train_root) / protocol.grade
    training_release = list_cases(graded, f"training release {protocol.grade}")
    validation_release = list_cases(val_root, "validation release")
    needed = protocol.num_train + protocol.num_test
    if len(training_release) < needed:
        raise ValueError(
            f"{graded}: {len(training_release)} cases, fewer than the {protocol.num_train} train + "
            f"{protocol.num_test} test patients requested"
        )
    if len(validation_release) < protocol.num_val:
        raise ValueError(
            f"{val_root}: {len(validation_release)} cases, fewer than the {protocol.num_val} "
            "validation patients requested"
        )
    rng = np.random.default_rng(protocol.seed)
    training_order = [training_release[i] for i in rng.permutation(len(training_release))]
    validation_order = [validation_release[i] for i in rng.permutation(len(validation_release))]
    return {
        "train": training_order[: protocol.num_train],
        "val": validation_order[: protocol.num_val],
        "test": training_order[protocol.num_train : needed],
    }


def convert_brats(
    train_root: str | os.PathLike,
    val_root: str | os.PathLike,
    output_dir: str | os.PathLike,
    protocol: BratsProtocol,
    overwrite: bool = False,
    provenance: dict | None = None,
) -> dict:
    """Convert by ``protocol`` into ``output_dir`` (atomically); returns the manifest. The output
    is checked first: it is never one of the release trees (or inside or above one), and an existing
    one is replaced only with ``overwrite`` and only if it is a converted dataset
    (:func:`lda_tf.atomic.check_writable`)."""
    inputs = (train_root, val_root)
    check_writable(output_dir, overwrite, MANIFEST, inputs)

    def read(case: Path) -> MemberSlices:
        images, indices, path = case_slices(case, protocol)
        return MemberSlices(
            case.name, images, indices, {"file": str(path), "sha256": sha256(path), "slices": indices}
        )

    splits, manifest_splits = collect_splits(select_cases(train_root, val_root, protocol), read)
    manifest = {
        "dataset": "brats2018",
        "protocol": {**dataclasses.asdict(protocol), "crop": list(protocol.crop)},
        "splits": manifest_splits,
        "provenance": provenance or {},
    }
    write_dataset(output_dir, splits, manifest, overwrite=overwrite, inputs=inputs)
    return manifest
