"""Block compressed sensing of natural images with LDA (LDA paper 4.2.1-4.2.2).

The network is ``UnrolledLOA.lda_paper`` with real convolutions and a :class:`BlockSampling`
measurement, trained on fixed random crops of the training images (by warm start: snapshots of
every stage in ``stages/``). With a prescribed sampling matrix, ``Q`` is fitted on the training
crops' blocks before training (4.2.1): ``Q = X B^T (B B^T)^{-1}``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from lda_tf.cs import BlockSampling
from lda_tf.data.natural import load_training_images, random_patches
from lda_tf.loa.model import UnrolledLOA
from lda_tf.recipes.config import BlockCSData, RunConfig
from lda_tf.training.fit import Datasets, Recipe

# Training images smaller than this are left out (the learned sampling's 96 x 96 crops).
MIN_TRAINING_SIZE = 96


def crop_batches(crops: np.ndarray, batch_size: int, seed: int, repeat: bool) -> tf.data.Dataset:
    """``(crop, crop)`` pairs: the measurement is part of the network."""
    data = tf.data.Dataset.from_tensor_slices((crops, crops))
    if repeat:
        data = data.shuffle(len(crops), seed=seed, reshuffle_each_iteration=True).repeat()
    return data.batch(batch_size, drop_remainder=repeat)


class BlockCS(Recipe):
    """Supervised training of theta (and of the sampling when learned) on random crops."""

    name, mode = "block_cs", "conventional"
    unused = frozenset({"omega_learning_rate", "init_model"})
    sections = frozenset({"network", "stair"})

    def __init__(self, config: RunConfig):
        super().__init__(config)
        if not isinstance(config.data, BlockCSData):
            raise ValueError(f"recipe 'block_cs' trains on BlockCSData; got {type(config.data).__name__}")
        self.data: BlockCSData = config.data
        self.crops: np.ndarray | None = None

    def datasets(self) -> Datasets:
        data, seed = self.data, self.config.seed
        images = load_training_images(data.train_dir, min_size=MIN_TRAINING_SIZE).images
        self.crops = random_patches(images, data.crop_size, data.crops, seed)
        validation = random_patches(images, data.crop_size, data.validation_crops, seed + 1)
        steps = self.config.steps_per_epoch or -(-data.crops // data.batch_size)
        return Datasets(
            crop_batches(self.crops, data.batch_size, seed, True),
            crop_batches(validation, data.batch_size, seed, False),
            steps,
            (validation[:2], validation[:2]),
        )

    def build_network(self) -> UnrolledLOA:
        data = self.data
        sampling = BlockSampling(
            data.ratio, data.block_size, learned=data.learned, seed=self.config.seed, name="measurement"
        )
        network = self.config.network.build(sampling, num_tasks=0)
        if not data.learned:
            network.measurement.fit_initialization(self.crops)  # Q = X B^T (B B^T)^{-1} (4.2.1)
        return network
