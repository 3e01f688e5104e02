"""Checkpoints that resume a run where it stopped (SPEC 4 training; issue: kill and resume).

A checkpoint holds the trainer (network weights, active phase count, lambda, delta, counters),
both optimizers' state and the number of finished epochs. ``tf.train.CheckpointManager`` writes
the data files first and the index last, so a run killed mid-save resumes from the previous one.
The data position is restored by the caller: the cross-task stream is deterministic for its seed,
so skipping ``epochs * steps_per_epoch`` batches puts it where the interrupted run was.
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf


def _checkpoint(trainer, epoch: tf.Variable) -> tf.train.Checkpoint:
    return tf.train.Checkpoint(
        trainer=trainer,
        theta_optimizer=trainer.theta_optimizer,
        omega_optimizer=trainer.omega_optimizer,
        epoch=epoch,
    )


class ResumableCheckpoint(keras.callbacks.Callback):
    """Save every ``every_n_epochs`` epochs into ``directory`` (keeping ``max_to_keep``)."""

    def __init__(self, directory: str | os.PathLike, every_n_epochs: int = 1, max_to_keep: int = 3):
        super().__init__()
        self.directory = os.fspath(directory)
        self.every_n_epochs = every_n_epochs
        self.max_to_keep = max_to_keep
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)

    def on_train_begin(self, logs=None):
        self.manager = tf.train.CheckpointManager(
            _checkpoint(self.model, self.epoch), self.directory, max_to_keep=self.max_to_keep
        )

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs == 0:
            self.epoch.assign(epoch + 1)
            self.manager.save(checkpoint_number=epoch + 1)


def restore_latest(trainer, directory: str | os.PathLike) -> int:
    """Restore the newest checkpoint in ``directory`` into ``trainer`` (compiled, before ``fit``
    builds its functions: the restored phase count may differ from the current one); returns the
    number of epochs it had finished (0 if there is none)."""
    latest = tf.train.latest_checkpoint(os.fspath(directory))
    if latest is None:
        return 0
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    _checkpoint(trainer, epoch).restore(latest).assert_existing_objects_matched()
    trainer.network.forget_compiled_functions()
    return int(epoch.numpy())
