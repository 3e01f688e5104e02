"""CS-MRI with LDA (LDA paper 4.2.3, Table 3 and the left panel of Figure 6).

One network per radial sampling ratio (10, 20, 30 %), complex convolutions (``#Par`` 55,895 for
l = 4, d = 32, 11 phases, as the paper counts), trained by warm start 3, 5, ..., 11 phases; the
network at the end of each stage (``stages/phases_<K>.keras``) gives the PSNR at ``K`` phases.

Decisions: the paper's 150 brain images (100 train, 50 test, 190 x 190) are not public; the
converted BraTS data or the embedded sample stand in (training on train + validation as the
conventional baseline does, testing on the test split). RelErr is ``||x - xhat|| / ||xhat||`` on
magnitudes, i.e. ``sqrt(NMSE)``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from lda_tf import outputs
from lda_tf.data import load_images
from lda_tf.data.tasks import Task
from lda_tf.evaluation import metric_rows, network_reconstructor, reconstruct_all, zero_filling
from lda_tf.papers.lda.profiles import LDAProfile
from lda_tf.recipes import RunConfig, lda_mri_config


def mri_task(ratio: float) -> Task:
    return Task("radial", ratio / 100)


def mri_config(
    ratio: float,
    directory: Path,
    dataset_dir: str,
    profile: LDAProfile,
    seed: int,
    verbose: int,
) -> RunConfig:
    """The settings that train the CS-MRI LDA of one ratio into ``directory`` (its stage snapshots
    land in ``stages/``)."""
    return lda_mri_config(
        str(directory),
        ratio,
        dataset_dir=dataset_dir,
        num_layers=profile.num_layers,
        num_filters=profile.mri_num_filters,
        kernel_scale=profile.kernel_scale,
        steps_per_epoch=profile.mri_steps_per_epoch,
        batch_size=profile.mri_batch,
        downsample=profile.mri_downsample,
        seed=seed,
        verbose=verbose,
        **profile.warm_start(profile.mri_max_phases),
    )


def stage_models(stages: Path) -> dict[int, Path]:
    """``{K: path}`` of the stage snapshots ``phases_<K>.keras``, by K."""
    found = {
        int(match.group(1)): path
        for path in stages.glob("phases_*.keras")
        if (match := re.fullmatch(r"phases_(\d+)\.keras", path.name))
    }
    if not found:
        raise FileNotFoundError(f"{stages}: no stage snapshots phases_<K>.keras")
    return dict(sorted(found.items()))


def mri_test_images(dataset_dir: str, profile: LDAProfile) -> np.ndarray:
    """The test split at the profile's resolution."""
    return load_images(dataset_dir, "test", downsample=profile.mri_downsample)


def score_mri(stages: Path, test: np.ndarray, ratio: float) -> list[dict]:
    """Per test image and method (zero filling, LDA at each stage's K): PSNR, SSIM, NMSE, RelErr."""
    task = mri_task(ratio)
    rows = metric_rows(test, reconstruct_all(zero_filling, test, task), task, "zero_filling")
    for phases, path in stage_models(stages).items():
        network = outputs.load_model(path)
        rows += metric_rows(
            test, reconstruct_all(network_reconstructor(network), test, task), task, f"LDA K={phases}"
        )
    for row in rows:
        row["relerr"] = float(np.sqrt(row["nmse"]))
    return rows
