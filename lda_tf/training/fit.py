"""One training run end to end for any :class:`Recipe`: run directory, settings check, resume,
common callbacks, ``fit``, ``model.keras``.

Output directory layout::

    config.json       the run's settings (stored once), package version, git commit, and the
                      history of invocations (what each changed, when it finished)
    checkpoints/      resumable checkpoints (every epoch by default)
    logs/             TensorBoard: Keras scalars (train/, validation/) and loa/ (steps, kappa, images)
    history.csv       per-epoch logs;  stair_history.json  phase growth (when stair training)
    stages/           phases_<K>.keras: the network at the end of each stair stage
    model.keras       the trained network (written at the end, atomically)

Running the same settings again reuses a finished run or resumes from the newest checkpoint. A
resume or reuse compares the settings with the stored ones (:func:`lda_tf.training.config.differences`):
more epochs extend the run, logging and runtime settings may change (each invocation is recorded),
anything that changes what is trained raises :class:`SettingsMismatch`. Nothing is written before
the settings, the data and the network have been checked; a directory holding no checkpoint and
only the files a start writes (a start that failed or was killed early) starts afresh.
``overwrite`` retrains from scratch, and replaces only a directory this package wrote (a
``config.json`` of a run); never a file, never an unrecognised directory. It never destroys before
the new run is complete: the new run is built beside the old one in ``.<name>.partial-<pid>`` and
renamed over it only at the end, so a failed or killed overwrite leaves the old run intact (the
next run removes such a stale partial directory). A resume starts from the newest *intact*
checkpoint (:func:`lda_tf.training.checkpoint.newest_intact`), and a run whose final weights are
not finite raises :class:`NonFiniteWeights` instead of writing ``model.keras``.

Several hosts (``distribute="multi_worker"``, :func:`distribution_strategy`): every worker runs
the same ``fit`` with the same settings and the same ``output_dir``, on a filesystem they share.
The chief (worker 0) alone writes the run directory (``config.json``, checkpoints, logs,
``model.keras``); the other workers check the same directory, restore the chief's newest
checkpoint on a resume, and write their own checkpoints and logs (TensorFlow's collective saves
need every worker) into a scratch directory of their own, removed at the end. Each worker reads
its part of every global batch (``tf.data`` data sharding).
"""

from __future__ import annotations

import abc
import dataclasses
import datetime
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from lda_tf import determinism, runtime
from lda_tf.atomic import atomic_file, check_not_file, remove_stale, save_model, staging, swap
from lda_tf.checks import check_choice
from lda_tf.loa.model import UnrolledNetwork
from lda_tf.outputs import CONFIG, read_record
from lda_tf.provenance import run_record
from lda_tf.training.bilevel import BilevelConfig
from lda_tf.training.callbacks import LOATensorBoard, NonFiniteGuard, StageLearningRate, StairTraining
from lda_tf.training.checkpoint import ResumableCheckpoint, checkpoint_prefixes, newest_intact, restore
from lda_tf.training.config import SettingsMismatch, TrainingConfig, differences, display, to_json
from lda_tf.training.trainer import LOATrainer

# What a start writes before its first checkpoint (a directory holding only these and no checkpoint
# starts afresh: the start failed or was killed; nothing trained is lost).
START_UP_FILES = frozenset({CONFIG, "checkpoints", "logs", "history.csv"})
STRATEGIES = ("none", "mirrored", "multi_worker")
_MULTI_WORKER: list = []  # this process's MultiWorkerMirroredStrategy, once created


def _check_tf_config() -> None:
    """Raise unless ``TF_CONFIG`` names a cluster and this worker's task in it."""
    example = (
        '{"cluster": {"worker": ["host0:12345", "host1:12345"]}, "task": {"type": "worker", "index": 0}}'
    )
    try:
        tf_config = json.loads(os.environ["TF_CONFIG"])
        cluster, task = tf_config["cluster"], tf_config["task"]
        ok = cluster[task["type"]][task["index"]] is not None
    except (KeyError, IndexError, TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            "argument `distribute` multi_worker needs the environment variable TF_CONFIG on every host, "
            f"naming the cluster and this host's task in it, e.g. {example} (README, several hosts); got "
            f"{os.environ.get('TF_CONFIG')!r}"
        )


def distribution_strategy(distribute: str) -> tf.distribute.Strategy:
    """The strategy ``distribute`` names: ``none`` TensorFlow's default (one device),
    ``mirrored`` ``MirroredStrategy`` over the visible GPUs, ``multi_worker``
    ``MultiWorkerMirroredStrategy`` over the cluster the environment variable ``TF_CONFIG`` names.
    TensorFlow sets up its collective operations only before its first operation, so a process
    creates the multi-worker strategy once and first: :func:`fit` calls this before anything
    else, and a program that runs TensorFlow operations before it calls this first."""
    check_choice(distribute, STRATEGIES, "distribute")
    if distribute == "none":
        return tf.distribute.get_strategy()
    if distribute == "mirrored":
        return tf.distribute.MirroredStrategy()
    if not _MULTI_WORKER:
        _check_tf_config()
        try:
            _MULTI_WORKER.append(tf.distribute.MultiWorkerMirroredStrategy())
        except RuntimeError as error:
            raise ValueError(
                f"argument `distribute` multi_worker: TensorFlow ran operations in this process before the "
                f"strategy was created ({error}); call "
                "lda_tf.training.fit.distribution_strategy('multi_worker') at the start of the program"
            ) from None
    return _MULTI_WORKER[0]


class NonFiniteWeights(ValueError):
    """Training ended with NaN or infinite weights; ``model.keras`` is not written."""


@dataclasses.dataclass(frozen=True)
class Datasets:
    """What a recipe feeds ``fit``: ``train`` repeats (``steps_per_epoch`` batches an epoch);
    ``examples`` are ``(inputs, target)`` shown in TensorBoard."""

    train: tf.data.Dataset
    validation: tf.data.Dataset
    steps_per_epoch: int
    examples: object


class Recipe(abc.ABC):
    """One training procedure: its network, data and extra callbacks (``lda_tf.recipes``).

    ``fit`` seeds Keras with ``config.seed``, calls :meth:`datasets`, then :meth:`build_network`
    under the distribution strategy; either may raise for bad settings (before anything is
    written)."""

    name: str  # what config.json records as the tool
    mode: str  # the LOATrainer mode
    # By flat name: the settings this procedure does not read, and those it needs a value for; the
    # optional sections (network, stair, bilevel) it uses. The binaries define flags accordingly.
    unused: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    sections: frozenset[str] = frozenset()
    # The Keras model whose train_step trains the network: LOATrainer, or a subclass taking the same
    # arguments (network, mode, bilevel, magnitude_loss, **trainer_options()).
    trainer_class: type[LOATrainer] = LOATrainer

    def __init__(self, config: TrainingConfig):
        self.config = config

    @abc.abstractmethod
    def datasets(self) -> Datasets: ...

    @abc.abstractmethod
    def build_network(self) -> UnrolledNetwork: ...

    def callbacks(self, output: Path) -> list[keras.callbacks.Callback]:
        """Callbacks of this procedure besides the common ones."""
        return []

    def trainer_options(self) -> dict:
        """Keyword arguments of :class:`LOATrainer` beyond network and mode (the loss)."""
        return {}

    def optimizers(self) -> tuple[keras.optimizers.Optimizer, keras.optimizers.Optimizer]:
        """theta's and omega's optimizers (made under the distribution strategy): Adam at the
        configured learning rates."""
        rates = self.config.optimizer
        return keras.optimizers.Adam(rates.learning_rate), keras.optimizers.Adam(rates.omega_learning_rate)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class RunDirectory:
    """The state of ``output_dir`` and the stored settings it holds (read only until :meth:`start`)."""

    def __init__(self, config: TrainingConfig, chief: bool = True):
        self.config = config
        self.chief = chief  # False: a non-chief worker, which writes into ``scratch`` only
        self.path = Path(config.output_dir)
        self.record: dict | None = None  # the stored config.json, when the run is to be continued
        self.changes: list[tuple[str, object, object]] = []  # allowed setting changes of this invocation
        self.fresh = True  # start from scratch (removing start-up files or, with overwrite, the run)
        # With overwrite of an existing run: the new run is built here, then renamed over ``path``.
        self.staging: Path | None = None
        self.resume_from: Path | None = None  # the newest intact checkpoint, when resuming
        self.scratch: Path | None = None  # a non-chief worker's own directory (module docstring)

    @property
    def work(self) -> Path:
        """Where this invocation writes: ``path``, the staging directory of an overwrite, or a
        non-chief worker's scratch directory."""
        return self.scratch or self.staging or self.path

    # ------------------------------------------------------------------ checks (no writes)
    def check(self) -> None:
        """Decide between fresh start, resume and reuse; raise for a directory that is not ours or
        a run trained under other settings."""
        path = self.path
        if self.chief:  # a non-chief worker cannot tell the chief's live staging from a stale one
            remove_stale(path)  # our own leftovers of killed overwrites (puts a half-swapped run back)
        check_not_file(path)
        if not path.exists():
            return
        entries = sorted(entry.name for entry in path.iterdir())
        record = read_record(path)
        unreadable = f"; its {CONFIG} is not a run record lda_tf can read" if CONFIG in entries else ""
        foreign = (
            f"{path} exists and is not a run directory of lda_tf (it holds {', '.join(entries[:5])}"
            f"{unreadable}); choose another `output_dir`"
        )
        if self.config.overwrite:
            if entries and record is None:
                raise FileExistsError(f"{foreign} (it is not replaced even with `overwrite`)")
            if entries:
                self.staging = staging(path)
            return
        # By the checkpoint files, not the state file (which may be garbage): a run with damaged
        # checkpoints is never taken for a start that died early.
        has_checkpoint = bool(checkpoint_prefixes(path / "checkpoints"))
        if not has_checkpoint and set(entries) <= START_UP_FILES and (record or CONFIG not in entries):
            return  # empty, or a start that failed or was killed before its first checkpoint
        if record is None:
            raise FileExistsError(foreign)
        stored = self._stored_config(record)
        refused, self.changes = differences(stored, self.config)
        if refused:
            listed = "\n".join(f"  {name}: {display(old)} -> {display(new)}" for name, old, new in refused)
            raise SettingsMismatch(
                f"{path} holds a run trained under other settings:\n{listed}\n"
                "Use another `output_dir`, or set `overwrite` to retrain it from scratch."
            )
        self.record, self.fresh = record, False
        self.resume_from = newest_intact(path / "checkpoints")  # raises if none is intact

    def _stored_config(self, record: dict) -> TrainingConfig:
        """The settings the run has now: as stored, with each invocation's allowed changes."""
        try:
            stored = type(self.config).from_dict(record["settings"])
            for invocation in record.get("invocations", []):
                stored = stored.replace(**invocation.get("changed", {}))
        except (TypeError, ValueError) as error:
            raise SettingsMismatch(
                f"{self.path / CONFIG}: settings this version cannot compare ({error}); use another "
                "`output_dir`, or set `overwrite` to retrain it from scratch"
            ) from error
        return stored

    @property
    def finished(self) -> bool:
        """A finished run whose settings equal the config's (only runtime settings differ)."""
        if self.fresh or not (self.path / "model.keras").is_file():
            return False
        last = self.record.get("invocations", [{}])[-1]
        return bool(last.get("finished_utc")) and all(name != "epochs" for name, _, _ in self.changes)

    # ------------------------------------------------------------------ writes
    def start(self, tool: str) -> None:
        """Clear what a fresh start replaces and record this invocation in ``config.json`` (a
        non-chief worker only makes its scratch directory)."""
        if not self.chief:
            self.scratch = Path(tempfile.mkdtemp(prefix=f"lda_tf-worker-{self.path.name}-"))
            return
        if self.staging is not None:
            self.staging.mkdir(parents=True)
        elif self.fresh and self.path.exists():
            if self.config.overwrite:
                shutil.rmtree(self.path)  # empty (a non-empty one is replaced through staging)
            else:
                for name in START_UP_FILES:
                    entry = self.path / name
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink(missing_ok=True)
        invocation_base = run_record(tool, {})
        invocation = dict(
            started_utc=_now(),
            git_commit=invocation_base["git_commit"],
            lda_tf_version=invocation_base["lda_tf_version"],
            changed={name: to_json(new) for name, _, new in self.changes},
            finished_utc=None,
        )
        if self.fresh:
            self.record = run_record(tool, self.config.to_dict())
        self.record.setdefault("invocations", []).append(invocation)
        self._write()

    def finish(self) -> None:
        """Mark the invocation finished; an overwrite's new run now replaces the old one."""
        if not self.chief:
            self.abandon()
            return
        self.record["invocations"][-1]["finished_utc"] = _now()
        self._write()
        if self.staging is not None:
            swap(self.staging, self.path)
            self.staging = None

    def abandon(self) -> None:
        """After a failure (or a non-chief worker's end): remove what only this invocation wrote
        (an overwrite's staging directory, a worker's scratch); the run stays as it was."""
        for directory in (self.staging, self.scratch):
            if directory is not None:
                shutil.rmtree(directory, ignore_errors=True)
        self.staging = self.scratch = None

    def _write(self) -> None:
        with atomic_file(self.work / CONFIG) as handle:
            handle.write(json.dumps(self.record, indent=2) + "\n")


def fit(recipe: Recipe) -> Path:
    """Train as ``recipe.config`` says (module docstring) -> the run's ``model.keras``."""
    config: TrainingConfig = recipe.config
    runtime.set_graph_optimization(config.function_constant_folding, config.all_grappler_passes)  # first
    strategy = distribution_strategy(config.distribute)  # first (multi-worker: before any operation)
    run = RunDirectory(config, chief=strategy.extended.should_checkpoint)
    run.check()
    if config.distribute == "multi_worker":
        _check_workers_agree(strategy, run)
    model_path = run.path / "model.keras"
    if run.finished:
        return model_path

    determinism.configure(config.deterministic, config.seed)
    datasets = recipe.datasets()
    with strategy.scope():
        network = recipe.build_network()
        trainer = recipe.trainer_class(
            network,
            recipe.mode,
            config.bilevel or BilevelConfig(),
            magnitude_loss=network.measurement.complex_valued,
            gradient=config.gradient,
            **recipe.trainer_options(),
        )
        trainer.compile(
            *recipe.optimizers(),
            jit_compile={"auto": "auto", "true": True, "false": False}[config.jit_compile],
        )

    # Everything is checked: from here on the run directory (or an overwrite's staging) is written.
    run.start(f"lda_tf.recipes ({recipe.name})")
    output = run.work
    try:
        initial_epoch = restore(trainer, run.resume_from) if run.resume_from else 0
        if initial_epoch < config.epochs:
            _fit(trainer, recipe, datasets, output, initial_epoch)
        _check_finite(network, output)
        save_model(network, output / "model.keras")
        run.finish()
    except BaseException:
        run.abandon()  # a failed overwrite: the old run stays as it was
        raise
    if config.distribute == "multi_worker":
        _every_worker(strategy, 0)  # every worker returns once the chief has written the run
    return model_path


def _every_worker(strategy: tf.distribute.Strategy, value: int) -> list[int]:
    """Every worker's ``value``, in task order (a collective: each worker waits for the others)."""
    local = strategy.run(lambda: tf.constant([value], tf.float32))
    return [int(item) for item in strategy.gather(local, axis=0).numpy()]


def _check_workers_agree(strategy: tf.distribute.Strategy, run: RunDirectory) -> None:
    """Raise unless every worker found the same state of the run directory (a fresh start, the
    same checkpoint to resume from, or a finished run): a directory the workers do not share, or
    one that changed between their checks, would make them train different steps."""
    state = -1 if run.finished else int(run.resume_from.name.split("-")[1]) if run.resume_from else 0
    states = _every_worker(strategy, state)
    if len(set(states)) > 1:
        described = {-1: "finished", 0: "fresh start"}
        listed = ", ".join(
            f"worker {index}: {described.get(item, f'resume from ckpt-{item}')}"
            for index, item in enumerate(states)
        )
        raise ValueError(
            f"argument `output_dir` {run.path}: the workers found different runs there ({listed}); with "
            "multi_worker every worker needs the same `output_dir` on a filesystem they share"
        )


def _check_finite(network: UnrolledNetwork, output: Path) -> None:
    """Raise :class:`NonFiniteWeights` naming the first weight with NaN or infinite values."""
    for weight in network.weights:
        if not np.all(np.isfinite(weight.numpy())):
            raise NonFiniteWeights(
                f"training ended with non-finite values in weight {weight.path} ({output}): model.keras "
                "is not written (the checkpoints are kept); lower `learning_rate` or check the data"
            )


def _fit(trainer: LOATrainer, recipe: Recipe, datasets: Datasets, output: Path, initial_epoch: int) -> None:
    config = recipe.config
    callbacks = [
        *recipe.callbacks(output),
        NonFiniteGuard(config.max_consecutive_skips),
        ResumableCheckpoint(output / "checkpoints", config.checkpoint_every),
        keras.callbacks.TensorBoard(str(output / "logs")),
        LOATensorBoard(str(output / "logs"), datasets.examples, config.image_every),
        keras.callbacks.CSVLogger(str(output / "history.csv"), append=True),
    ]
    if config.stair:
        stair = {k: v for k, v in dataclasses.asdict(config.stair).items() if k != "lr_factor"}
        callbacks.insert(
            0,
            StairTraining(
                **stair,
                max_phases=trainer.network.num_phases,
                history_path=str(output / "stair_history.json"),
                snapshot_dir=str(output / "stages"),
            ),
        )
        if config.stair.lr_factor != 1.0:  # after StairTraining, which sets the phases it reads
            callbacks.insert(
                1,
                StageLearningRate(
                    config.optimizer.learning_rate,
                    config.stair.lr_factor,
                    config.stair.initial_phases,
                    config.stair.phases_per_stage,
                ),
            )
    steps = datasets.steps_per_epoch
    train, validation = datasets.train, datasets.validation
    if config.distribute == "multi_worker":  # each worker reads its part of every global batch
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        train, validation = train.with_options(options), validation.with_options(options)
    with warnings.catch_warnings():  # Keras warns that fit's shuffle does not apply to a tf.data input
        warnings.filterwarnings("ignore", message=".*shuffle=True.* was passed")
        trainer.fit(
            train.skip(initial_epoch * steps),
            validation_data=validation,
            validation_freq=config.validation_every,
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps,
            callbacks=callbacks,
            verbose=config.verbose,
        )
