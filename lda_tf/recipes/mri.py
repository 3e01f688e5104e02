"""The MRI recipes of the meta paper (SPEC 4): meta training by Algorithm 2 over several tasks,
conventional supervised training of theta on one task, adaptation of omega to unseen tasks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lda_tf import outputs
from lda_tf.data import cross_task_batches, load_images, single_task_batches, steps_per_epoch, verify_dataset
from lda_tf.data.sample import sample_dir
from lda_tf.data.tasks import format_tasks
from lda_tf.loa.model import UnrolledLOA
from lda_tf.mri.measurement import MRISampling
from lda_tf.recipes.config import MRIData, RunConfig
from lda_tf.training.callbacks import BilevelSchedule
from lda_tf.training.fit import Datasets, Recipe


class MRIRecipe(Recipe):
    """Shared by the MRI recipes: images of a converted dataset (or the embedded sample), tasks."""

    unused = frozenset({"init_model"})

    def __init__(self, config: RunConfig):
        super().__init__(config)
        if not isinstance(config.data, MRIData):
            raise ValueError(f"recipe {self.name!r} trains on MRIData; got {type(config.data).__name__}")
        self.data: MRIData = config.data
        self.tasks = list(self.data.tasks)
        self.verified = False

    def images(self, split: str) -> np.ndarray:
        """A split of the dataset; the first call checks every shard's checksum against the
        manifest (a run starts: a damaged dataset is named before anything trains on it)."""
        data = self.data
        dataset_dir = data.dataset_dir or sample_dir()
        if not self.verified:
            verify_dataset(dataset_dir, checksums=True)
            self.verified = True
        return load_images(dataset_dir, split, data.max_images, data.crop, data.downsample)

    def mri_network(self, num_tasks: int) -> UnrolledLOA:
        return self.config.network.build(MRISampling(name="measurement"), num_tasks=num_tasks)


class MetaBilevel(MRIRecipe):
    """Algorithm 2 on cross-task batches (J_tr + J_val pairs of every task); by default an epoch
    lets every task see each training image once."""

    name, mode = "meta", "meta"
    unused = MRIRecipe.unused | {"batch_size"}
    sections = frozenset({"network", "stair", "bilevel"})

    def datasets(self) -> Datasets:
        data, seed = self.data, self.config.seed
        train, val = self.images("train"), self.images("val")
        steps = self.config.steps_per_epoch or steps_per_epoch(len(train), data.train_per_task)
        batches = cross_task_batches(
            train, val, self.tasks, data.train_per_task, data.val_per_task, seed, data.noise_snr_db
        )
        validation = cross_task_batches(
            train, val, self.tasks, data.val_per_task, data.val_per_task, seed + 1
        ).take(-(-len(val) // data.val_per_task))
        examples = next(iter(validation))["val"]  # one validation example per task
        return Datasets(batches, validation, steps, examples)

    def build_network(self) -> UnrolledLOA:
        return self.mri_network(len(self.tasks))

    def callbacks(self, output: Path) -> list:
        return [BilevelSchedule()]


class Supervised(MRIRecipe):
    """Plain supervised training on one task's batches of ``pool_splits``."""

    pool_splits: tuple[str, ...]
    unused = MRIRecipe.unused | {"train_per_task", "val_per_task"}

    def datasets(self) -> Datasets:
        data, seed, task = self.data, self.config.seed, self.tasks[0]
        val = self.images("val")
        pool = np.concatenate([self.images(split) if split != "val" else val for split in self.pool_splits])
        steps = self.config.steps_per_epoch or -(-len(pool) // data.batch_size)
        batches = single_task_batches(
            pool, task, data.batch_size, seed=seed, repeat=True, noise_snr_db=data.noise_snr_db
        )
        validation = single_task_batches(val, task, data.batch_size, shuffle=False)
        examples = next(iter(single_task_batches(val[:1], task, 1, shuffle=False)))
        return Datasets(batches, validation, steps, examples)


class SupervisedTheta(Supervised):
    """Conventional training (meta paper 5.2): theta only, kappa = 1 (no task weights), one task,
    on training and validation images merged (450 images in the paper)."""

    name, mode = "conventional", "conventional"
    pool_splits = ("train", "val")
    unused = Supervised.unused | {"omega_learning_rate"}
    sections = frozenset({"network", "stair"})

    def __init__(self, config: RunConfig):
        super().__init__(config)
        if len(self.tasks) != 1:
            raise ValueError(
                f"conventional training takes exactly one task; got {len(self.tasks)} "
                f"({format_tasks(self.tasks)})"
            )

    def build_network(self) -> UnrolledLOA:
        return self.mri_network(0)


class SupervisedOmega(Supervised):
    """Adaptation (meta paper 5.4): the meta-trained ``init_model``'s theta frozen, fresh task
    weights omega for the new tasks, trained on the training images."""

    name, mode = "adaptation", "adaptation"
    pool_splits = ("train",)
    unused = Supervised.unused - {"init_model"} | {"learning_rate"}
    required = frozenset({"init_model"})

    def __init__(self, config: RunConfig):
        super().__init__(config)
        if not config.init_model:
            raise ValueError("argument `init_model` is needed: the meta-trained model.keras")
        if not Path(config.init_model).exists():
            raise FileNotFoundError(f"argument `init_model` {config.init_model}: no such model file")

    def build_network(self) -> UnrolledLOA:
        meta_trained = outputs.load_model(self.config.init_model, "init_model")
        return meta_trained.for_new_tasks(len(self.tasks))
