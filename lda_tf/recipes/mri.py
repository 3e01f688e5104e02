"""The MRI recipes of the meta paper (SPEC 4): meta training by Algorithm 2 over several tasks,
conventional supervised training of theta on one task, adaptation of omega to unseen tasks; and
the authors' TF1 release trained as its script trains."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from lda_tf import outputs
from lda_tf.data import cross_task_batches, load_images, single_task_batches, steps_per_epoch, verify_dataset
from lda_tf.data.sample import sample_dir
from lda_tf.data.tasks import format_tasks
from lda_tf.loa.model import UnrolledLOA
from lda_tf.loa.release import ReleaseUnrolled
from lda_tf.mri.measurement import MRISampling
from lda_tf.mri.release import ReleaseSampling
from lda_tf.recipes.config import MRIData, RunConfig
from lda_tf.training.callbacks import BilevelSchedule, StepwisePenalty
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
        self.validation_tasks = self.tasks  # of the "val" half of cross-task batches
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
            train,
            val,
            self.tasks,
            data.train_per_task,
            data.val_per_task,
            seed,
            data.noise_snr_db,
            val_tasks=self.validation_tasks,
        )
        validation = cross_task_batches(
            train,
            val,
            self.tasks,
            data.val_per_task,
            data.val_per_task,
            seed + 1,
            val_tasks=self.validation_tasks,
        ).take(-(-len(val) // data.val_per_task))
        examples = next(iter(validation))["val"]  # one validation example per task
        return Datasets(batches, validation, steps, examples)

    def build_network(self) -> UnrolledLOA:
        return self.mri_network(len(self.tasks))

    def callbacks(self, output: Path) -> list:
        return [BilevelSchedule()]


class MetaRelease(MetaBilevel):
    """The authors' TF1 release as its training script runs (``recon_meta_Journal_of_Imaging.py``;
    docs/decisions.md, "The authors' TF1 release as it runs"), on the cross-task batches of
    :class:`MetaBilevel`.

    Network: :class:`~lda_tf.loa.release.ReleaseUnrolled` (``step="v"``, the batch eps rule) on
    :class:`~lda_tf.mri.ReleaseSampling`, with the network settings' ``num_phases``, ``num_layers``,
    ``num_filters``, ``relu_delta``; all phases from the start (the script has no stair training).
    Per batch (lines 447-459): ``theta_steps`` (the script: 5) Adam steps on theta (``trainer_tr``),
    then one on theta and omega together (``trainer_vl``, ``omega_step_updates_theta``), with no
    delta test (``delta0 = 0``) and no stop; ``lambda = lambda0 1.001^(s / 10^4)``
    (:class:`~lda_tf.training.callbacks.StepwisePenalty`) and the learning rate
    ``learning_rate 0.9^(s / 10^4)`` in the global step ``s`` (lines 341-350); Adam with TF1's
    ``epsilon = 1e-8``; the per-sample loss is the mean squared error over pixels (lines 306-327).

    Decision: the script has one Adam for both steps; here theta's Adam counts all six steps of a
    batch (as the global step does) and omega's, a second Adam at the same rate, its own (its
    learning rate decays in ``6 x`` its steps, and its bias correction counts its own steps where
    the script's counted all).
    """

    name = "meta_release"
    unused = MetaBilevel.unused | {
        "policy",
        "smoothing",
        "kernel_scale",
        "omega_learning_rate",
        "nu_lambda",
        "nu_delta",
        "delta_tol",
        "gradient",  # ReleaseUnrolled is no UnrolledLOA: tape only
    }
    sections = frozenset({"network", "bilevel"})
    decay_rate, decay_steps = 0.9, 10_000  # lines 341-344

    def __init__(self, config: RunConfig):
        super().__init__(config)
        if config.stair is not None:
            raise ValueError(
                "recipe meta_release trains all phases from the start; stair training is not its own"
            )

    def build_network(self) -> ReleaseUnrolled:
        network = self.config.network
        return ReleaseUnrolled(
            ReleaseSampling(name="measurement"),
            num_phases=network.num_phases,
            num_tasks=len(self.tasks),
            num_layers=network.num_layers,
            num_filters=network.num_filters,
            relu_delta=network.relu_delta,
        )

    def callbacks(self, output: Path) -> list:
        return [StepwisePenalty(self.config.bilevel.lambda0)]

    def trainer_options(self) -> dict:
        return dict(loss_reduction="mean")  # the script's per-sample MSE (lines 306-327)

    def optimizers(self) -> tuple[keras.optimizers.Optimizer, keras.optimizers.Optimizer]:
        rate, steps_per_batch = self.config.optimizer.learning_rate, self.config.bilevel.theta_steps + 1

        def adam(decay_steps: float) -> keras.optimizers.Optimizer:
            schedule = keras.optimizers.schedules.ExponentialDecay(rate, decay_steps, self.decay_rate)
            return keras.optimizers.Adam(schedule, epsilon=1e-8)

        return adam(self.decay_steps), adam(self.decay_steps / steps_per_batch)


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
