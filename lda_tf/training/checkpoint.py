"""Checkpoints that resume a run where it stopped (SPEC 4 training; issue: kill and resume).

A checkpoint holds the trainer (network weights, active phase count, lambda, delta, counters),
both optimizers' state and the number of finished epochs. ``tf.train.CheckpointManager`` writes
the data files first and the index last, so a run killed mid-save resumes from the previous one.
The data position is restored by the caller: the cross-task stream is deterministic for its seed,
so skipping ``epochs * steps_per_epoch`` batches puts it where the interrupted run was.

A resume does not trust the newest checkpoint blindly (issue 13 item 5): :func:`newest_intact`
finds the checkpoints by their files (not by the ``checkpoint`` state file, which may be garbage),
reads every tensor of the newest one (TensorFlow checks each tensor's checksum) and falls back to
the next older one with a warning naming the damaged files; when none is intact it raises
:class:`DamagedCheckpoints` instead of starting afresh over them.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

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


class DamagedCheckpoints(ValueError):
    """A run directory holds checkpoint files, none of them intact."""


_CHECKPOINT_FILE = re.compile(r"^(ckpt-\d+)\.(index|data-\d+-of-(\d+))$")


def checkpoint_prefixes(directory: str | os.PathLike) -> list[Path]:
    """The checkpoints whose files (``ckpt-N.index``, ``ckpt-N.data-*``; intact or not) lie in
    ``directory``, newest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    names = {match.group(1) for entry in directory.iterdir() if (match := _CHECKPOINT_FILE.match(entry.name))}
    return [directory / name for name in sorted(names, key=lambda name: -int(name.split("-")[1]))]


def _damage(prefix: Path) -> str | None:
    """Why the checkpoint ``prefix`` cannot be restored (naming the file), or None when every
    tensor reads back with a valid checksum."""
    index = prefix.with_name(prefix.name + ".index")
    if not index.is_file():
        return f"{index} is missing"
    shards = [entry for entry in prefix.parent.iterdir() if entry.name.startswith(prefix.name + ".data-")]
    expected = {_CHECKPOINT_FILE.match(entry.name).group(3) for entry in shards} or {"1"}
    total = int(max(expected))
    for number in range(total):
        data = prefix.with_name(f"{prefix.name}.data-{number:05d}-of-{total:05d}")
        if not data.is_file():
            return f"{data} is missing"
    try:
        reader = tf.train.load_checkpoint(os.fspath(prefix))
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as error:  # TensorFlow raises OpErrors, IndexError, ... for damaged files
        message = str(getattr(error, "message", error)).strip().splitlines()[0]
        return f"{prefix}.index / .data-* cannot be read ({type(error).__name__}: {message})"
    return None


def newest_intact(directory: str | os.PathLike) -> Path | None:
    """The newest checkpoint in ``directory`` that reads back intact (None if there are no
    checkpoint files); warns for each newer damaged one; raises :class:`DamagedCheckpoints` when
    there are checkpoint files but none is intact."""
    damaged = []
    for prefix in checkpoint_prefixes(directory):
        reason = _damage(prefix)
        if reason is None:
            for item in damaged:
                warnings.warn(f"damaged checkpoint: {item}; resuming from {prefix.name}", stacklevel=2)
            return prefix
        damaged.append(reason)
    if damaged:
        raise DamagedCheckpoints(
            f"{directory}: no intact checkpoint to resume from:\n  "
            + "\n  ".join(damaged)
            + "\nThe run cannot resume. Set `overwrite` to retrain it from scratch (the old run is "
            "replaced only when the new one is complete), or use another `output_dir`."
        )
    return None


def restore(trainer, prefix: str | os.PathLike) -> int:
    """Restore the checkpoint ``prefix`` (one :func:`newest_intact` found) into ``trainer``
    (compiled, before ``fit`` builds its functions: the restored phase count may differ from the
    current one); returns the number of epochs it had finished."""
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    _checkpoint(trainer, epoch).restore(os.fspath(prefix)).assert_existing_objects_matched()
    trainer.network.forget_compiled_functions()
    return int(epoch.numpy())
