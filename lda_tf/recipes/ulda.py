"""U-LDA's training (002, sections 3 and 5.1): Step 1 (universal ``g`` and source domain groups,
(3.2)), Step 2 (transfer: new target groups, ``g`` frozen, (3.3)), and the chains around them:
"Init" (``g`` starts from the average of per-domain LDA-trained ``g_i``) and AUG (Step 2 on two
disjoint sub-masks of each target mask, then on the mask itself).

A *domain* is a task (its mask) on a dataset: ``cartesian_gaussian:20@data/knee``
(:class:`Domain`); the domains of a run are its domain groups, in order. Both steps are
``conventional`` training (:class:`lda_tf.training.LOATrainer`) of an
:class:`~lda_tf.loa.UnrolledLOA` with domains and the loss (3.2a), with stair training (3 phases,
+2 per stage up to 15) and the learning rate halved at every stage (the release's StepLR).

:func:`train_ulda` runs a whole chain in ``output_dir``::

    lda_domain<i>/   Init: LDA (the same network without adapters) on source domain i
    universal/       Step 1 (its model.keras is Step 2's init_model)
    aug1/ aug2/      AUG: Step 2 on the first, then the second sub-masks
    transfer/        Step 2 on the target masks

each a run directory of :func:`lda_tf.recipes.train` (resumed or reused when run again).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import tensorflow as tf

from lda_tf import outputs
from lda_tf.data import domain_batches, load_images, single_task_batches, verify_dataset
from lda_tf.data.sample import sample_dir
from lda_tf.loa.model import UnrolledLOA
from lda_tf.mri.measurement import MRISampling
from lda_tf.recipes.config import RunConfig, ULDAData
from lda_tf.training.callbacks import StageLearningRate
from lda_tf.training.fit import Datasets, Recipe


def average_features(network: UnrolledLOA, model_paths) -> None:
    """Init (5.1): ``g``'s weights <- the elementwise mean of the ``g_i`` of the LDA-trained models."""
    trained = [outputs.load_model(path, "init_models") for path in model_paths]
    shapes = [tuple(w.shape) for w in network.features.weights]
    for model, path in zip(trained, model_paths):
        same = model.features.activate_last == network.features.activate_last
        if not same or [tuple(w.shape) for w in model.features.weights] != shapes:
            raise ValueError(f"argument `init_models` {path}: its g is not shaped as this network's")
    for index, weight in enumerate(network.features.weights):
        weight.assign(np.mean([model.features.weights[index].numpy() for model in trained], axis=0))


class ULDARecipe(Recipe):
    """Both steps: the domains' images and masks, the loss (3.2a), the per-stage learning rate.
    ``first_domain`` is the domain index of the run's first domain (0 in Step 1; the number of
    source domains of ``init_model`` in Step 2)."""

    name, mode = "ulda", "conventional"
    unused = frozenset({"omega_learning_rate", "stair_lr_factor"})
    sections = frozenset({"network", "stair"})

    def __init__(self, config: RunConfig):
        super().__init__(config)
        if not isinstance(config.data, ULDAData):
            raise ValueError(f"recipe {self.name!r} trains on ULDAData; got {type(config.data).__name__}")
        if config.stair is not None and config.stair.lr_factor != 1.0:
            raise ValueError(
                "U-LDA decays its learning rate per stage with `lr_decay_per_stage` (the release's "
                f"StepLR); leave `stair_lr_factor` at 1, got {config.stair.lr_factor}"
            )
        self.data: ULDAData = config.data
        self.step = self.steps()[self.data.step](config)

    @staticmethod
    def steps() -> dict:
        """The class of each step (``step``): what builds the network."""
        return {"universal": UniversalStep, "transfer": TransferStep}

    def images(self, split: str) -> list[np.ndarray]:
        """A split of every domain's dataset (each dataset verified once)."""
        data, images = self.data, []
        for domain in data.domains:
            dataset_dir = domain.dataset_dir or sample_dir()
            verify_dataset(dataset_dir, checksums=True)
            images.append(load_images(dataset_dir, split, data.max_images, data.crop, data.downsample))
        return images

    def datasets(self) -> Datasets:
        data, seed, first = self.data, self.config.seed, self.step.first_domain
        train, val = self.images("train"), self.images("val")
        tasks = [domain.task for domain in data.domains]
        batches = domain_batches(train, tasks, data.per_domain, seed, first_index=first)
        steps = self.config.steps_per_epoch or -(-max(len(images) for images in train) // data.per_domain)
        validation, examples = None, []
        for index, (images, task) in enumerate(zip(val, tasks)):
            stream = single_task_batches(images, task, data.per_domain, first + index, shuffle=False)
            validation = stream if validation is None else validation.concatenate(stream)
            examples.append(
                next(iter(single_task_batches(images[:1], task, 1, first + index, shuffle=False)))
            )
        examples = tf.nest.map_structure(lambda *parts: tf.concat(parts, axis=0), *examples)
        return Datasets(batches, validation, steps, examples)

    def build_network(self) -> UnrolledLOA:
        return self.step.build_network()

    def trainer_options(self) -> dict:
        return dict(
            loss="mse_ssim", ssim_weight=self.data.ssim_weight, loss_reduction=self.data.loss_reduction
        )

    def callbacks(self, output: Path) -> list:
        stair = self.config.stair
        if stair is None or self.data.lr_decay_per_stage == 1.0:
            return []
        return [
            StageLearningRate(
                self.config.optimizer.learning_rate,
                self.data.lr_decay_per_stage,
                stair.initial_phases,
                stair.phases_per_stage,
            )
        ]


class UniversalStep:
    """Step 1 (3.2): ``g`` and one group per source domain, trained together."""

    first_domain = 0

    def __init__(self, config: RunConfig):
        self.config, self.data = config, config.data
        if config.network is None:
            raise ValueError("argument `step` universal needs the network settings")

    def build_network(self) -> UnrolledLOA:
        data = self.data
        network = self.config.network.build(
            MRISampling(name="measurement"),
            num_tasks=0,
            num_domains=len(data.domains) if data.domain_groups else 0,
            adapter_init=data.adapter_init,
            activate_last=data.activate_last,
        )
        if data.init_models:
            average_features(network, data.init_models)
        return network


class TransferStep:
    """Step 2 (3.3): ``init_model``'s ``g`` and groups frozen, a new group per target domain; with
    ``targets_in_init`` the init model's last groups are already the targets' (an AUG stage).
    Without ``domain_groups``: the whole ``init_model`` (a network without groups) is fine-tuned on
    the targets (the LDA baseline "fine-tuned on the target", Table 4's "no adapter")."""

    def __init__(self, config: RunConfig):
        self.config, self.data = config, config.data
        if not config.init_model:
            raise ValueError("argument `init_model` is needed for `step` transfer: the universal model.keras")
        self.init = outputs.load_model(config.init_model, "init_model")
        targets = len(self.data.domains)
        if not self.data.domain_groups:
            if self.init.num_domains:
                raise ValueError(
                    f"argument `init_model` {config.init_model} has domain groups; `domain_groups` false "
                    "fine-tunes a network without them"
                )
            self.first_domain = 0
            return
        if not self.init.num_domains:
            raise ValueError(f"argument `init_model` {config.init_model} has no domain groups (not U-LDA)")
        self.first_domain = self.init.num_domains - (targets if self.data.targets_in_init else 0)
        if self.first_domain < 1:
            raise ValueError(
                f"argument `init_model` {config.init_model} has {self.init.num_domains} domains; "
                f"with targets_in_init it needs more than the {targets} targets"
            )

    def build_network(self) -> UnrolledLOA:
        if not self.data.domain_groups:
            network = self.init
        elif not self.data.targets_in_init:
            network = self.init.for_new_domains(len(self.data.domains))
        else:
            network = self.init
            network.freeze_domains(range(self.first_domain))
        if self.config.network is not None:  # a runtime setting: this run's, not init_model's
            self.config.network.apply_runtime(network)
        return network


# ------------------------------------------------------------------------------------ chains
def train_ulda(config: RunConfig) -> Path:
    """The chain of ``config.data.step`` in ``config.output_dir`` (module docstring) -> the final
    ``model.keras``."""
    from lda_tf.recipes import conventional_config, train  # the recipe registry imports this module

    data: ULDAData = config.data
    root = Path(config.output_dir)
    if data.step == "universal":
        init_models = []
        if data.init == "lda":
            for index, domain in enumerate(data.domains):
                lda = conventional_config(
                    str(root / f"lda_domain{index + 1}"), **_lda_settings(config, domain)
                )
                init_models.append(str(train(lda)))
        universal = config.replace(output_dir=str(root / "universal"), init_models=tuple(init_models) or None)
        return train(universal)
    init_model, targets_in_init = config.init_model, False
    if data.aug:
        for part in (1, 2):
            stage = config.replace(
                output_dir=str(root / f"aug{part}"),
                init_model=init_model,
                targets_in_init=targets_in_init,
                domains=tuple(dataclasses.replace(d, task=d.task.with_part(part)) for d in data.domains),
            )
            init_model, targets_in_init = str(train(stage)), True
    final = config.replace(
        output_dir=str(root / "transfer"), init_model=init_model, targets_in_init=targets_in_init
    )
    return train(final)


def _lda_settings(config: RunConfig, domain) -> dict:
    """Init: LDA on one source domain, the same network without adapters and the same schedule."""
    data = config.data
    network = {f.name: getattr(config.network, f.name) for f in dataclasses.fields(config.network)}
    stair = (
        {} if config.stair is None else {f"stair_{k}": v for k, v in dataclasses.asdict(config.stair).items()}
    )
    return dict(
        **network,
        **stair,
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch,
        seed=config.seed,
        learning_rate=config.optimizer.learning_rate,
        dataset_dir=domain.dataset_dir,
        tasks=(domain.task,),
        max_images=data.max_images,
        crop=data.crop,
        downsample=data.downsample,
        batch_size=data.per_domain,
        checkpoint_every=config.checkpoint_every,
        validation_every=config.validation_every,
        image_every=config.image_every,
        deterministic=config.deterministic,
        verbose=config.verbose,
        jit_compile=config.jit_compile,
        gradient=config.gradient,
        overwrite=config.overwrite,
    )


__all__ = ["ULDARecipe", "average_features", "train_ulda"]
