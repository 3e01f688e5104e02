"""Callbacks of LOA training: Algorithm 2's schedule, the non-finite guard, stair (warm-start)
phase growth and TensorBoard parameters and images."""

from __future__ import annotations

import json
import os
import warnings

import keras
import numpy as np
import tensorflow as tf

from lda_tf.atomic import atomic_file, save_model
from lda_tf.training.trainer import LOATrainer


class BilevelSchedule(keras.callbacks.Callback):
    """Line 11 of Algorithm 2 once per epoch: ``delta *= nu_delta``, ``lambda *= nu_lambda``; stop
    when ``delta <= delta_tol`` (line 2)."""

    def on_epoch_end(self, epoch, logs=None):
        trainer: LOATrainer = self.model
        config = trainer.bilevel
        trainer.delta.assign(trainer.delta * config.nu_delta)
        trainer.penalty_weight.assign(trainer.penalty_weight * config.nu_lambda)
        if float(trainer.delta.numpy()) <= config.delta_tol:
            trainer.stop_training = True


class StepwisePenalty(keras.callbacks.Callback):
    """``lambda = lambda0 rate^(s / steps)`` before every batch, ``s`` the theta optimizer's step
    count; nothing else changes and training never stops early. The TF1 release's
    ``tf.train.exponential_decay(1e-5, global_step, 10000, 1.001)`` (lines 347-350 of
    ``recon_meta_Journal_of_Imaging.py``), whose global step counts every optimizer step (all of
    them step theta); it is read once a batch here rather than at each of the batch's steps."""

    def __init__(self, lambda0: float, rate: float = 1.001, steps: int = 10_000):
        super().__init__()
        self.lambda0, self.rate, self.steps = lambda0, rate, steps

    def on_train_batch_begin(self, batch, logs=None):
        trainer = self.model
        step = float(trainer.theta_optimizer.iterations.numpy())
        trainer.penalty_weight.assign(self.lambda0 * self.rate ** (step / self.steps))


class NonFiniteError(RuntimeError):
    """Training met too many consecutive steps with non-finite loss or gradients."""


class NonFiniteGuard(keras.callbacks.Callback):
    """Stop with :class:`NonFiniteError` after ``max_consecutive`` skipped steps in a row (each
    skipped step left the weights untouched)."""

    def __init__(self, max_consecutive: int = 10):
        super().__init__()
        self.max_consecutive = max_consecutive

    def on_train_batch_end(self, batch, logs=None):
        consecutive = int(self.model.consecutive_skips.numpy())
        if consecutive >= self.max_consecutive:
            raise NonFiniteError(
                f"{consecutive} consecutive training steps had a non-finite loss or gradient and were "
                f"skipped ({int(self.model.skipped_steps.numpy())} in all); the weights are those before "
                "the first of them. Lower the learning rate or check the data for NaN/Inf."
            )


class StairTraining(keras.callbacks.Callback):
    """Warm-start phase growth (meta paper 4.2, LDA paper 4.1): start with ``initial_phases``,
    add ``phases_per_stage`` when the monitored value has not improved for ``patience`` epochs or
    after ``epochs_per_stage`` epochs (whichever first), up to ``max_phases``. New phases start
    from the last trained phase's step sizes; all weights are kept. Meta paper: 1, +1, up to 11
    (100 epochs a stage); LDA paper: 3, +2, up to 15 (500 then 200 epochs).

    With ``snapshot_dir``, the network at the end of every stage is saved there as
    ``phases_<K>.keras`` (the LDA paper's PSNR-versus-K curves, Figure 6, evaluate these).

    A ``monitor`` missing from an epoch's logs (a misspelling, or a validation metric without
    validation data) warns once, listing the available ones, as Keras's ``ReduceLROnPlateau``
    does; such an epoch counts neither as an improvement nor as a stall, so only
    ``epochs_per_stage`` can end a stage then."""

    def __init__(
        self,
        initial_phases: int,
        phases_per_stage: int,
        max_phases: int,
        epochs_per_stage: int | None = None,
        first_stage_epochs: int | None = None,
        patience: int | None = None,
        monitor: str = "loss",
        history_path: str | None = None,
        snapshot_dir: str | None = None,
    ):
        super().__init__()
        if epochs_per_stage is None and patience is None:
            raise ValueError("StairTraining needs epochs_per_stage or patience")
        self.initial_phases, self.phases_per_stage, self.max_phases = (
            initial_phases,
            phases_per_stage,
            max_phases,
        )
        self.epochs_per_stage, self.patience, self.monitor = epochs_per_stage, patience, monitor
        self.first_stage_epochs = first_stage_epochs or epochs_per_stage
        self.history_path = history_path
        self.snapshot_dir = snapshot_dir
        self.history: list[dict] = []

    def on_train_begin(self, logs=None):
        self._stage_start, self._best, self._since_best = None, np.inf, 0
        self._warned_missing = False

    def on_epoch_begin(self, epoch, logs=None):
        if self._stage_start is not None:
            return
        if epoch == 0:  # a fresh run starts small; a resumed one keeps its checkpoint's phases
            self._stage_start = 0
            self._set_phases(self.initial_phases, copy_steps=False)
            return
        self._resume(epoch)

    def _resume(self, epoch: int) -> None:
        """A resumed run continues its stage: the stages recorded in ``history_path`` (written at
        every growth) say when it began, so a stage interrupted after 5 of 8 epochs has 3 left,
        and the file keeps the earlier stages. The patience count restarts (its best value is
        not saved); without the file the stage counts from the resumed epoch."""
        if not self.history_path:
            self._stage_start = epoch
            return
        if os.path.isfile(self.history_path):
            try:
                with open(self.history_path) as handle:
                    stages = json.load(handle)
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"{self.history_path}: not the stair history this run wrote ({error}); a resume "
                    "needs it to continue the current stage"
                ) from error
            self.history = [stage for stage in stages if stage["epoch"] <= epoch]
        self._stage_start = self.history[-1]["epoch"] if self.history else 0

    def _set_phases(self, count: int, copy_steps: bool) -> None:
        self.model.network.set_active_phases(count, copy_steps_from_last=copy_steps)
        self.model.make_train_function(force=True)
        self.model.make_test_function(force=True)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            self._warn_missing(logs)
        elif value < self._best:
            self._best, self._since_best = value, 0
        else:
            self._since_best += 1
        network = self.model.network
        stage_epochs = epoch + 1 - self._stage_start
        limit = self.first_stage_epochs if not self.history else self.epochs_per_stage
        stalled = self.patience is not None and self._since_best >= self.patience
        if (limit is not None and stage_epochs >= limit) or stalled:
            if network.active_phases >= self.max_phases:
                return
            previous = network.active_phases
            self._snapshot()
            self._set_phases(min(previous + self.phases_per_stage, self.max_phases), copy_steps=True)
            self.history.append(
                {
                    "epoch": epoch + 1,
                    "from_phases": previous,
                    "to_phases": network.active_phases,
                    "reason": "stalled" if stalled else "stage epochs",
                    self.monitor: value,
                }
            )
            self._stage_start, self._best, self._since_best = epoch + 1, np.inf, 0
            if self.history_path:
                with atomic_file(self.history_path) as handle:  # a resume reads it back
                    json.dump(self.history, handle, indent=2)

    def _warn_missing(self, logs: dict) -> None:
        if self._warned_missing:
            return
        self._warned_missing = True
        warnings.warn(
            f"StairTraining monitors `{self.monitor}`, which is not in the logs; available metrics are: "
            f"{', '.join(sorted(logs)) or '(none)'}. Its patience is not applied while it is missing.",
            stacklevel=2,
        )

    def on_train_end(self, logs=None):
        self._snapshot()

    def _snapshot(self) -> None:
        if self.snapshot_dir:
            network = self.model.network
            save_model(network, os.path.join(self.snapshot_dir, f"phases_{network.active_phases}.keras"))


def _scalars(name: str, value: tf.Tensor) -> None:
    """A scalar summary, or one per domain (``name_domain<i>``) for U-LDA's per-domain values."""
    if value.shape.rank == 0:
        tf.summary.scalar(name, value)
        return
    for domain in range(int(value.shape[0])):
        tf.summary.scalar(f"{name}_domain{domain}", value[domain])


class StageLearningRate(keras.callbacks.Callback):
    """The learning rate ``base * factor ** stage`` at every epoch, ``stage`` the stair stages
    completed (from the active phase count: ``ceil((active - initial) / per_stage)``), so a resumed
    run has the right rate too, and writes it to the epoch's logs (``learning_rate`` in
    history.csv). U-LDA (the release's StepLR): ``factor = 0.5``; the meta and conventional
    recipes with ``stair_lr_factor`` (docs/convergence.md: a constant 1e-3 collapsed at the first
    growth). It sets the optimizer Keras steps with, theta's (omega's keeps its rate)."""

    def __init__(self, base: float, factor: float, initial_phases: int, phases_per_stage: int):
        super().__init__()
        self.base, self.factor = base, factor
        self.initial_phases, self.phases_per_stage = initial_phases, phases_per_stage

    def on_epoch_begin(self, epoch, logs=None):
        grown = max(0, self.model.network.active_phases - self.initial_phases)
        stage = -(-grown // self.phases_per_stage)
        self.model.optimizer.learning_rate.assign(self.base * self.factor**stage)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate.numpy())


class LOATensorBoard(keras.callbacks.Callback):
    """TensorBoard summaries Keras's own callback cannot see: per epoch, the network's learned
    scalars (``learned_scalars``: alpha_t and tau_t per phase, eps0), sigmoid(omega_i) per task
    and the active phase count; every ``image_every``
    epochs, for a fixed validation example per task, the start ``x0`` (named by the measurement:
    ``zero_filled`` for MRI), the reconstruction, the |error| map and whatever the measurement's
    :meth:`~lda_tf.measurement.Measurement.display` adds (MRI: the mask). ``examples``:
    ``(inputs, target)``."""

    def __init__(self, log_dir: str, examples, image_every: int = 1):
        super().__init__()
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "loa"))
        self.examples = examples
        self.image_every = image_every

    def on_epoch_end(self, epoch, logs=None):
        network = self.model.network
        with self.writer.as_default(step=epoch):
            for name, value in network.learned_scalars().items():
                _scalars(name, value)
            tf.summary.scalar("phases/active", network.active_phases)
            kappa = network.task_weight_values()
            for task in range(network.num_tasks):
                tf.summary.scalar(f"task_weights/kappa_task{task}", kappa[task])
            if epoch % self.image_every == 0:
                self._images()
        self.writer.flush()

    def _images(self):
        inputs, target = self.examples
        network = self.model.network
        recon = tf.abs(network(inputs))
        start = tf.abs(network.initial_image(inputs))
        peak = tf.reduce_max(tf.abs(target), axis=(1, 2), keepdims=True)
        error = tf.abs(recon - tf.abs(target))
        images = {
            network.measurement.initial_name: start / peak,
            "reconstruction": recon / peak,
            "error": error / tf.reduce_max(error, axis=(1, 2), keepdims=True),
            **network.measurement.display(inputs),
        }
        for name, batch in images.items():
            tf.summary.image(
                f"images/{name}",
                tf.clip_by_value(batch, 0.0, 1.0)[..., None],
                max_outputs=int(target.shape[0]),
            )
