"""Training and testing LDA on block compressed sensing of natural images (LDA paper 4.2.1-4.2.2,
4.3.1-4.3.2).

A run trains ``UnrolledLOA.lda_paper(measurement=BlockSampling(...))`` with real convolutions on
fixed random crops of the training images, by warm start (3 phases, then +2; snapshots of every
stage in ``stages/``), through :func:`lda_tf.training.run.fit_network` (checkpoints, resume,
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

import keras
import numpy as np
import tensorflow as tf

from lda_tf.cs import BlockSampling, pad_to_blocks
from lda_tf.data.natural import NaturalImages, random_patches
from lda_tf.loa.model import UnrolledLOA
from lda_tf.metrics import psnr_peak
from lda_tf.papers.lda.profiles import LDAProfile
from lda_tf.training.run import RunConfig, fit_network, prepare_output

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
    def block_size(self) -> int:
        return 32 if self.learned else 33

    @property
    def name(self) -> str:
        kind = "learned" if self.learned else "block"
        scale = "" if self.kernel_scale == 1.0 else f"_s{self.kernel_scale:g}"
        network = f"d{self.num_filters}_l{self.num_layers}_K{self.phases}"
        return f"{kind}_r{self.ratio:g}_{self.policy}_{network}{scale}"

    def network(self, seed: int) -> UnrolledLOA:
        sampling = BlockSampling(
            self.ratio / 100, self.block_size, learned=self.learned, seed=seed, name="measurement"
        )
        return UnrolledLOA.lda_paper(
            num_phases=self.phases,
            num_filters=self.num_filters,
            num_layers=self.num_layers,
            policy=self.policy,
            measurement=sampling,
            kernel_scale=self.kernel_scale,
        )


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


def _batches(crops: np.ndarray, batch_size: int, seed: int, repeat: bool) -> tf.data.Dataset:
    data = tf.data.Dataset.from_tensor_slices((crops, crops))
    if repeat:
        data = data.shuffle(len(crops), seed=seed, reshuffle_each_iteration=True).repeat()
    return data.batch(batch_size, drop_remainder=repeat)


def train_natural(
    run: NaturalRun,
    directory: Path,
    train: NaturalImages,
    profile: LDAProfile,
    seed: int,
    overwrite: bool,
    verbose: int,
) -> Path:
    """Train ``run`` into ``directory`` (resuming; reused when its model exists) -> ``model.keras``."""
    model_path = directory / "model.keras"
    if model_path.is_file() and not overwrite:
        return model_path
    keras.utils.set_random_seed(seed)
    crop = 96 if run.learned else 33
    count, batch = (
        (profile.learned_crops, profile.learned_batch)
        if run.learned
        else (profile.block_crops, profile.block_batch)
    )
    crops = random_patches(train.images, crop, count, seed)
    validation = random_patches(train.images, crop, VALIDATION_CROPS, seed + 1)
    steps = profile.steps_per_epoch or -(-count // batch)
    config = RunConfig(
        output_dir=str(directory),
        mode="conventional",
        epochs=profile.epochs(run.phases),
        steps_per_epoch=steps,
        batch_size=batch,
        learning_rate=profile.learning_rate,
        stair=dict(
            initial_phases=min(3, run.phases),
            phases_per_stage=2,
            max_phases=run.phases,
            first_stage_epochs=profile.first_stage_epochs,
            epochs_per_stage=profile.epochs_per_stage,
        ),
        seed=seed,
        overwrite=overwrite,
        verbose=verbose,
    )
    settings = dict(
        run=dataclasses.asdict(run),
        training_images=train.label,
        crops=count,
        crop_size=crop,
        profile=profile.name,
        training=dataclasses.asdict(config),
    )
    output = prepare_output(config, "lda_tf.papers.lda (block compressed sensing)", settings)

    def build() -> UnrolledLOA:
        network = run.network(seed)
        if not run.learned:
            network.measurement.fit_initialization(crops)  # Q = X B^T (B B^T)^{-1} (4.2.1)
        return network

    examples = (validation[:2], validation[:2])
    fit_network(
        config,
        output,
        build,
        _batches(crops, batch, seed, True),
        _batches(validation, batch, seed, False),
        steps,
        examples,
    )
    return model_path


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
