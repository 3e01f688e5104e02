"""One training run end to end: data, network, trainer, callbacks, outputs (used by
the training binaries in ``experiments/`` and by ``lda_tf.reproduce``; tests call it directly).

Output directory layout::

    config.json       the run's settings, package version, git commit
    checkpoints/      resumable checkpoints (every epoch by default)
    logs/             TensorBoard: Keras scalars (train/, validation/) and loa/ (steps, kappa, images)
    history.csv       per-epoch logs;  stair_history.json  phase growth (when stair training)
    stages/           phases_<K>.keras: the network at the end of each stair stage
    model.keras       the trained network (written at the end, atomically)

Running the same command again resumes from the newest checkpoint; ``overwrite`` starts afresh.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from lda_tf.atomic import save_model
from lda_tf.data import cross_task_batches, load_images, parse_tasks, single_task_batches, steps_per_epoch
from lda_tf.data.sample import sample_dir
from lda_tf.data.tasks import META_TRAINING_TASK_SPEC
from lda_tf.loa.model import UnrolledLOA
from lda_tf.mri import MRISampling
from lda_tf.provenance import run_record
from lda_tf.training.bilevel import BilevelConfig
from lda_tf.training.callbacks import BilevelSchedule, LOATensorBoard, NonFiniteGuard, StairTraining
from lda_tf.training.checkpoint import ResumableCheckpoint, restore_latest
from lda_tf.training.trainer import LOATrainer


@dataclasses.dataclass
class RunConfig:
    """Everything a run needs; defaults are the meta paper's (SPEC 4)."""

    output_dir: str
    mode: str = "meta"
    dataset_dir: str | None = None  # None: the embedded sample
    tasks: str = META_TRAINING_TASK_SPEC
    epochs: int = 100
    steps_per_epoch: int | None = None  # meta default: every task sees each training image once
    batch_size: int = 25  # conventional and adaptation
    train_per_task: int = 1
    val_per_task: int = 1
    max_images: int | None = None  # cap per split, for quick runs
    crop: tuple[int, int] | None = None  # centre crop of the images, for quick runs
    downsample: int = 1  # average factor x factor pixel blocks after cropping, for quick runs
    network: dict = dataclasses.field(default_factory=dict)  # UnrolledLOA arguments over meta_paper()
    init_model: str | None = None  # adaptation: the meta-trained model.keras
    bilevel: dict = dataclasses.field(default_factory=dict)  # BilevelConfig fields
    learning_rate: float = 1e-3
    omega_learning_rate: float = 1e-3
    stair: dict | None = None  # StairTraining arguments
    noise_snr_db: float | None = None
    seed: int = 0
    checkpoint_every: int = 1
    validation_every: int = 1  # epochs between validation passes (Keras validation_freq)
    image_every: int = 10
    max_consecutive_skips: int = 10
    distribute: str = "none"  # "mirrored": MirroredStrategy over the visible devices
    # XLA for the train / test steps: "auto" is Keras's rule (on with a GPU and no distribution
    # strategy, off on CPU-only machines, where it measured 2.3x slower: benchmarks/README.md).
    jit_compile: str = "auto"
    overwrite: bool = False
    verbose: int = 1


def _images(config: RunConfig, dataset_dir, split: str) -> np.ndarray:
    return load_images(dataset_dir, split, config.max_images, config.crop, config.downsample)


def _network(config: RunConfig, num_tasks: int) -> UnrolledLOA:
    if config.mode == "adaptation":
        if not config.init_model:
            raise ValueError("adaptation needs --init_model, the meta-trained model.keras")
        if not Path(config.init_model).is_file():
            raise FileNotFoundError(f"{config.init_model}: no such model file")
        meta_trained = keras.models.load_model(config.init_model)
        return meta_trained.for_new_tasks(num_tasks)
    overrides = dict(config.network)
    if config.mode == "conventional":
        overrides["num_tasks"] = 0  # kappa = 1 (section 5.2)
    return UnrolledLOA.meta_paper(MRISampling(name="measurement"), **{"num_tasks": num_tasks, **overrides})


def run_training(config: RunConfig) -> LOATrainer:
    """Train as ``config`` says, resuming when a checkpoint exists; returns the trainer."""
    keras.utils.set_random_seed(config.seed)
    tasks = parse_tasks(config.tasks)
    if config.mode == "conventional" and len(tasks) != 1:
        raise ValueError(f"conventional training takes exactly one task; got {len(tasks)} ({config.tasks})")
    dataset_dir = config.dataset_dir or sample_dir()
    output = prepare_output(config, f"lda_tf.training.run ({config.mode})", dataclasses.asdict(config))

    train, val = _images(config, dataset_dir, "train"), _images(config, dataset_dir, "val")
    if config.mode == "meta":
        steps = config.steps_per_epoch or steps_per_epoch(len(train), config.train_per_task)
        data = cross_task_batches(
            train, val, tasks, config.train_per_task, config.val_per_task, config.seed, config.noise_snr_db
        )
        validation = cross_task_batches(
            train, val, tasks, config.val_per_task, config.val_per_task, config.seed + 1
        ).take(-(-len(val) // config.val_per_task))
        examples = next(iter(validation))["val"]  # one validation example per task
    else:
        pool = np.concatenate([train, val]) if config.mode == "conventional" else train  # 450 images (5.2)
        steps = config.steps_per_epoch or -(-len(pool) // config.batch_size)
        data = single_task_batches(
            pool, tasks[0], config.batch_size, seed=config.seed, repeat=True, noise_snr_db=config.noise_snr_db
        )
        validation = single_task_batches(val, tasks[0], config.batch_size, shuffle=False)
        examples = next(iter(single_task_batches(val[:1], tasks[0], 1, shuffle=False)))
    return fit_network(
        config, output, lambda: _network(config, num_tasks=len(tasks)), data, validation, steps, examples
    )


def prepare_output(config: RunConfig, program: str, settings: dict) -> Path:
    """Create (or, to resume, reuse) the run directory and write its ``config.json``."""
    output = Path(config.output_dir)
    has_checkpoint = tf.train.latest_checkpoint(str(output / "checkpoints")) is not None
    if output.exists() and config.overwrite:
        shutil.rmtree(output)
    elif output.exists() and not has_checkpoint and any(output.iterdir()):
        raise FileExistsError(
            f"{output} exists and holds no checkpoint to resume; pass --overwrite to replace it"
        )
    output.mkdir(parents=True, exist_ok=True)
    record = run_record(program, settings)
    (output / "config.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    return output


def fit_network(
    config: RunConfig,
    output: Path,
    build_network: Callable[[], UnrolledLOA],
    data: tf.data.Dataset,
    validation: tf.data.Dataset,
    steps: int,
    examples,
) -> LOATrainer:
    """Build the network (under the distribution strategy) and its trainer, resume from the newest
    checkpoint, ``fit`` with the run's callbacks and write ``model.keras`` atomically. ``data``
    repeats; ``examples`` are ``(inputs, target)`` shown in TensorBoard."""
    strategy = (
        tf.distribute.MirroredStrategy() if config.distribute == "mirrored" else tf.distribute.get_strategy()
    )
    with strategy.scope():
        network = build_network()
        trainer = LOATrainer(
            network,
            config.mode,
            BilevelConfig(**config.bilevel),
            magnitude_loss=network.features.complex_valued,
        )
        trainer.compile(
            keras.optimizers.Adam(config.learning_rate),
            keras.optimizers.Adam(config.omega_learning_rate),
            jit_compile={"auto": "auto", "true": True, "false": False}[config.jit_compile],
        )
    initial_epoch = restore_latest(trainer, output / "checkpoints")
    if initial_epoch >= config.epochs:  # finished (perhaps killed before the model was written)
        if not (output / "model.keras").is_file():
            save_model(network, output / "model.keras")
        return trainer

    callbacks = [
        NonFiniteGuard(config.max_consecutive_skips),
        ResumableCheckpoint(output / "checkpoints", config.checkpoint_every),
        keras.callbacks.TensorBoard(str(output / "logs")),
        LOATensorBoard(str(output / "logs"), examples, config.image_every),
        keras.callbacks.CSVLogger(str(output / "history.csv"), append=True),
    ]
    if config.mode == "meta":
        callbacks.insert(0, BilevelSchedule())
    if config.stair:
        callbacks.insert(
            0,
            StairTraining(
                **config.stair,
                history_path=str(output / "stair_history.json"),
                snapshot_dir=str(output / "stages"),
            ),
        )
    with warnings.catch_warnings():  # Keras warns that fit's shuffle does not apply to a tf.data input
        warnings.filterwarnings("ignore", message=".*shuffle=True.* was passed")
        trainer.fit(
            data.skip(initial_epoch * steps),
            validation_data=validation,
            validation_freq=config.validation_every,
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps,
            callbacks=callbacks,
            verbose=config.verbose,
        )
    save_model(network, output / "model.keras")
    return trainer
