"""Small random problems for the LOA tests: 4 samples from 4 radial tasks, tiny images."""

import numpy as np
import tensorflow as tf

from lda_tf import UnrolledLOA, make_mask
from lda_tf.mri import MRIInputs, MRISampling, simulate_kspace

SHAPE = (16, 18)
RATIOS = (0.1, 0.2, 0.3, 0.4)


def four_task_batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[: SHAPE[0], : SHAPE[1]]
    # Smooth blobs plus texture: an image with structure, values in [0, 1].
    target = np.stack(
        [
            np.exp(-((rows - rng.uniform(4, 12)) ** 2 + (cols - rng.uniform(4, 14)) ** 2) / 20.0)
            + 0.2 * rng.random(SHAPE)
            for _ in RATIOS
        ]
    ).astype(np.float32)
    target /= target.max(axis=(1, 2), keepdims=True)
    masks = np.stack([make_mask("radial", SHAPE, ratio, seed=0) for ratio in RATIOS])
    inputs = MRIInputs(simulate_kspace(target, masks), tf.constant(masks), tf.constant([0, 1, 2, 3]))
    return inputs, tf.constant(target)


def small_model(policy="meta", num_phases=3, **overrides) -> UnrolledLOA:
    tf.keras.utils.set_random_seed(1)
    config = dict(
        num_phases=num_phases, num_tasks=4, num_layers=3, num_filters=4, relu_delta=1e-3, policy=policy
    )
    return UnrolledLOA(MRISampling(name="measurement"), **{**config, **overrides})
