"""Run by test_multi_worker.py, once per worker of a two-worker cluster on 127.0.0.1 (``TF_CONFIG``
set: ``distribute="multi_worker"``) and once as the one-process reference (no ``TF_CONFIG``).

    python -m tests.training.multi_worker_check RUNS_DIR WEIGHTS_DIR

For each mode (conventional, then meta) it trains two epochs through
:func:`lda_tf.training.fit.fit` with a recipe of two fixed batches per epoch (a reshuffling
pipeline was seen to yield other batches under a strategy, docs/training.md); under the cluster
the conventional run stops after one epoch and resumes from the chief's checkpoint (:data:`MODES`).
At the end of each ``fit`` the network's weights go to ``WEIGHTS_DIR/<mode>.npz``.
"""

import faulthandler
import os
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from lda_tf.data import single_task_batches
from lda_tf.mri import MRISampling
from lda_tf.training import BilevelConfig
from lda_tf.training.config import NetworkConfig, TrainingConfig
from lda_tf.training.fit import Datasets, Recipe, fit
from tests.training.helpers import TASKS, images, meta_batches


class SaveWeights(keras.callbacks.Callback):
    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def on_train_end(self, logs=None):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(self.path, *[variable.numpy() for variable in self.model.network.trainable_variables])


class FixedBatches(Recipe):
    """Two fixed batches an epoch: cross-task (meta) or four images of one task (conventional)."""

    name = "fixed batches (multi-worker test)"

    def __init__(self, config: TrainingConfig, mode: str, weights: Path):
        super().__init__(config)
        self.mode, self.weights = mode, weights

    def datasets(self) -> Datasets:
        if self.mode == "meta":
            # 2 tasks x (1 train + 1 val): each global batch splits into one pair per worker
            first, second = list(meta_batches().take(2))
            batches = tf.data.Dataset.from_tensors(first).concatenate(tf.data.Dataset.from_tensors(second))
            examples = first["val"]
        else:
            batches = single_task_batches(images("train", 8), TASKS[1], 4, shuffle=False).take(2)
            examples = next(iter(batches))
        return Datasets(batches.repeat(), batches, 2, examples)

    def build_network(self):
        return self.config.network.build(
            MRISampling(name="measurement"), 0 if self.mode == "conventional" else len(TASKS)
        )

    def callbacks(self, output: Path) -> list:
        return [SaveWeights(self.weights / f"{self.mode}.npz")]


# mode: (phases, resume): the conventional run resumes from a checkpoint under the cluster (one
# epoch, then two); the meta run, whose second-order step costs most to trace, trains two epochs
# in one go with one phase.
MODES = {"conventional": (2, True), "meta": (1, False)}


def main(runs: Path, weights: Path) -> None:
    distribute = "multi_worker" if os.environ.get("TF_CONFIG") else "none"
    for mode, (phases, resume) in MODES.items():
        config = TrainingConfig(
            output_dir=str(runs / mode),
            epochs=2,
            network=NetworkConfig(num_phases=phases),
            bilevel=BilevelConfig(lambda0=1e-2, delta0=1e-12, delta_tol=0.0),
            distribute=distribute,
            image_every=1,
            verbose=0,
        )
        if distribute == "multi_worker" and resume:
            fit(FixedBatches(config.replace(epochs=1), mode, weights))
        fit(FixedBatches(config, mode, weights))
    print("DONE", flush=True)


if __name__ == "__main__":
    if os.environ.get("DUMP_STACKS_AFTER_S"):  # a hung worker shows where it waits
        faulthandler.dump_traceback_later(float(os.environ["DUMP_STACKS_AFTER_S"]), exit=False)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
