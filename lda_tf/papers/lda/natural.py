"""Training and testing LDA on block compressed sensing of natural images (LDA paper 4.2.1-4.2.2,
4.3.1-4.3.2).

A run trains ``UnrolledLOA.lda_paper(measurement=BlockSampling(...))`` with real convolutions on
fixed random crops of the training images, by warm start (3 phases, then +2; snapshots of every
stage in ``stages/``), by the recipe :class:`lda_tf.recipes.block_cs.BlockCS` (checkpoints, resume,
TensorBoard, non-finite guard). With a prescribed sampling matrix, ``Q`` is fitted on the
training crops' blocks before training (4.2.1).

Testing follows the ISTA-Net+ protocol [80] the paper takes its baselines from: each test image is
zero-padded to whole blocks, reconstructed, cropped back, clipped to [0, 1] and scored by PSNR with
peak 1 (255 for 8-bit images).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from lda_tf.cs import pad_to_blocks
from lda_tf.data.natural import NaturalImages
from lda_tf.loa.model import UnrolledLOA
from lda_tf.metrics import psnr_peak
from lda_tf.papers.lda.profiles import LDAProfile
from lda_tf.recipes import RunConfig, block_cs_config

VALIDATION_CROPS = 64


@dataclasses.dataclass(frozen=True)
class NaturalRun:
    """One block-CS network: what to train (the name is derived from it)."""

    ratio: float  # CS ratio in percent
    learned: bool = False  # joint learned sampling (4.2.2) instead of a prescribed matrix (4.2.1)
    policy: str = "lda"  # lda, or gd / agd for the ablation (4.3.1)
    num_filters: int = 32
    num_layers: int = 4
    phases: int = 15
    kernel_scale: float = 1.0  # g's kernels start at Xavier times this

    @property
    def name(self) -> str:
        kind = "learned" if self.learned else "block"
        scale = "" if self.kernel_scale == 1.0 else f"_s{self.kernel_scale:g}"
        network = f"d{self.num_filters}_l{self.num_layers}_K{self.phases}"
        return f"{kind}_r{self.ratio:g}_{self.policy}_{network}{scale}"


def reconstruction_parameters(network: UnrolledLOA) -> int:
    """Learnable parameters of the reconstruction part (g's kernels, eps0, per-phase steps), the
    paper's ``#Par``: without a learned sampling matrix and its initialisation, as Table 2 counts."""
    excluded = {id(variable) for variable in network.measurement.weights}
    return int(
        sum(
            np.prod(variable.shape)
            for variable in network.trainable_variables
            if id(variable) not in excluded
        )
    )


def natural_config(
    run: NaturalRun,
    directory: Path,
    train_dir: str | None,
    profile: LDAProfile,
    seed: int,
    verbose: int,
) -> RunConfig:
    """The block-CS recipe's settings that train ``run`` into ``directory``."""
    count, batch = (
        (profile.learned_crops, profile.learned_batch)
        if run.learned
        else (profile.block_crops, profile.block_batch)
    )
    return block_cs_config(
        str(directory),
        run.ratio,
        run.learned,
        train_dir=train_dir,
        crops=count,
        validation_crops=VALIDATION_CROPS,
        batch_size=batch,
        num_filters=run.num_filters,
        num_layers=run.num_layers,
        policy=run.policy,
        kernel_scale=run.kernel_scale,
        steps_per_epoch=profile.steps_per_epoch or -(-count // batch),
        seed=seed,
        verbose=verbose,
        **profile.warm_start(run.phases),
    )


def score_natural(network: UnrolledLOA, test: NaturalImages, initial: bool = False) -> list[dict]:
    """Per test image: PSNR (dB, peak 1, after clipping to [0, 1]) of the reconstruction, or of the
    start ``x0`` with ``initial``, and the reconstruction's wall time (s; after one warm-up call per
    image size, so tracing is not counted)."""
    block = network.measurement.block_size
    reconstruct = tf.function(
        network.initial_image if initial else (lambda x: network(x, training=False)), reduce_retracing=True
    )
    rows, seen_shapes = [], set()
    for name, image in zip(test.names, test.images):
        padded = pad_to_blocks(image, block)[None]
        if padded.shape not in seen_shapes:
            reconstruct(padded)
            seen_shapes.add(padded.shape)
        start = time.perf_counter()
        recon = reconstruct(padded).numpy()[0]
        seconds = time.perf_counter() - start
        recon = np.clip(recon[: image.shape[0], : image.shape[1]], 0.0, 1.0)
        rows.append(dict(image=name, psnr=psnr_peak(image, recon, 1.0), seconds=seconds))
    return rows
