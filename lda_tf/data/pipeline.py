"""tf.data pipelines from converted splits to model inputs (SPEC 1, 4, 5).

An element is ``(MRIInputs(kspace [B, H, W] complex64, mask [B, H, W] float32, task_index [B]
int32), target [B, H, W] float32)`` (:class:`lda_tf.mri.MRIInputs`, read by name) with
``kspace = P F target`` (plus optional complex Gaussian noise) through the task's mask, the layout
an ``UnrolledLOA`` with ``MRISampling`` and Keras ``fit`` take.

- :func:`single_task_batches`: one task, for the conventional baseline (train + val merged by the
  caller) and for adaptation / evaluation.
- :func:`domain_batches`: U-LDA's cross-domain batches: ``per_domain`` pairs of every domain
  (its own images and mask), the domain index as ``task_index``.
- :func:`cross_task_batches`: for bilevel training (Algorithm 2). Every element is
  ``{"train": (MRIInputs, target), "val": (MRIInputs, target)}``; ``"train"`` holds ``J_tr`` training
  pairs from each of the N tasks and ``"val"`` ``J_val`` validation pairs from each, in task order
  (task 0's pairs first, then task 1's, ...). Each task draws its own seeded shuffle of the split, so
  every task sees every image once per pass (paper: 4 tasks, J = 1 -> 4 + 4 = 8 images).

Images are held in memory (a split is tens of MB) and drawn by shuffled index; k-space is
computed per batch. Shuffles are seeded; ``deterministic=True`` (default) keeps element order
fixed for a given seed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from lda_tf.data import volumes
from lda_tf.data.shards import read_split_images
from lda_tf.data.tasks import Task
from lda_tf.mri.measurement import MRIInputs
from lda_tf.mri.operators import add_complex_noise, simulate_kspace


def load_images(
    dataset_dir: str | os.PathLike,
    split: str,
    max_images: int | None = None,
    crop: Sequence[int] | None = None,
    downsample: int = 1,
) -> np.ndarray:
    """The images of a split as ``[N, H, W]`` float32: the first ``max_images`` (all if None),
    centre-cropped to ``crop`` (HEIGHT, WIDTH) if given, then averaged over ``downsample`` x
    ``downsample`` pixel blocks (quick runs). Every shard's size and image count are checked
    against the manifest (a damaged shard raises an error naming it); the checksums are checked by
    ``lda_tf.data.verify_dataset(dataset_dir, checksums=True)`` (when a run starts)."""
    images = read_split_images(dataset_dir, split)
    if not len(images):
        raise ValueError(f"{dataset_dir}: split {split!r} has no images")
    images = images[:max_images]
    source = f"{dataset_dir} {split}"
    if crop:
        images = volumes.center_crop(images, tuple(int(size) for size in crop), source)
    if downsample > 1:
        images = volumes.downsample(images, downsample, source)
    return images


def _options(deterministic: bool) -> tf.data.Options:
    options = tf.data.Options()
    options.deterministic = deterministic
    return options


def _task_stream(
    images: tf.Tensor,
    task: Task,
    task_index: int,
    batch_size: int,
    shuffle: bool,
    seed: int,
    repeat: bool,
    drop_remainder: bool,
    noise_snr_db: float | None,
) -> tf.data.Dataset:
    """Batches of one task from an in-memory ``[N, H, W]`` image tensor."""
    num_images = int(images.shape[0])
    mask = tf.constant(task.mask(images.shape[1:]))
    indices = tf.data.Dataset.range(num_images)
    if shuffle:
        indices = indices.shuffle(num_images, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        indices = indices.repeat()
    batches = indices.batch(batch_size, drop_remainder=drop_remainder).enumerate()

    def to_example(step, batch_indices):
        target = tf.gather(images, batch_indices)
        masks = tf.broadcast_to(mask, tf.shape(target))
        kspace = simulate_kspace(target, masks)
        if noise_snr_db is not None:
            kspace = add_complex_noise(
                kspace, masks, noise_snr_db, seed=tf.stack([tf.cast(seed, tf.int64), step])
            )
        task_indices = tf.fill(tf.shape(batch_indices), task_index)
        return MRIInputs(kspace, masks, tf.cast(task_indices, tf.int32)), target

    return batches.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)


def single_task_batches(
    images: np.ndarray,
    task: Task,
    batch_size: int,
    task_index: int = 0,
    shuffle: bool = True,
    seed: int = 0,
    repeat: bool = False,
    drop_remainder: bool = False,
    noise_snr_db: float | None = None,
    deterministic: bool = True,
) -> tf.data.Dataset:
    """Batches of ``task`` over ``images`` ``[N, H, W]`` (module docstring)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    stream = _task_stream(
        tf.constant(images, tf.float32),
        task,
        task_index,
        batch_size,
        shuffle,
        seed,
        repeat,
        drop_remainder,
        noise_snr_db,
    )
    return stream.prefetch(tf.data.AUTOTUNE).with_options(_options(deterministic))


def _concatenate(*task_batches):
    """One batch from every task's ``(MRIInputs, target)``, concatenated along the batch axis."""
    inputs = MRIInputs(
        *(
            tf.concat([getattr(inputs, field) for inputs, _ in task_batches], axis=0)
            for field in MRIInputs._fields
        )
    )
    return inputs, tf.concat([target for _, target in task_batches], axis=0)


def _interleaved(
    images_per_stream: Sequence[np.ndarray],
    tasks: Sequence[Task],
    per_stream: int,
    seed: int,
    first_index: int,
    noise_snr_db: float | None,
) -> tf.data.Dataset:
    """Endless batches of ``per_stream`` pairs from each (images, task) stream, concatenated in
    stream order; stream ``i`` has task index ``first_index + i`` and shuffle seed ``seed + i``."""
    streams = tuple(
        _task_stream(
            tf.constant(images, tf.float32),
            task,
            first_index + index,
            per_stream,
            True,
            seed + index,
            True,
            True,
            noise_snr_db,
        )
        for index, (images, task) in enumerate(zip(images_per_stream, tasks))
    )
    return tf.data.Dataset.zip(streams).map(_concatenate, num_parallel_calls=tf.data.AUTOTUNE)


def domain_batches(
    domain_images: Sequence[np.ndarray],
    tasks: Sequence[Task],
    per_domain: int = 1,
    seed: int = 0,
    first_index: int = 0,
    noise_snr_db: float | None = None,
    deterministic: bool = True,
) -> tf.data.Dataset:
    """Endless U-LDA batches: ``per_domain`` pairs of each domain ``d`` (images ``domain_images[d]``
    measured with ``tasks[d]``'s mask), domain index ``first_index + d`` (module docstring)."""
    if not tasks or len(tasks) != len(domain_images):
        raise ValueError(
            f"domain_batches needs one task per domain; got {len(tasks)} for {len(domain_images)}"
        )
    if per_domain < 1:
        raise ValueError(f"per_domain must be >= 1; got {per_domain}")
    batches = _interleaved(domain_images, tasks, per_domain, seed, first_index, noise_snr_db)
    return batches.prefetch(tf.data.AUTOTUNE).with_options(_options(deterministic))


def cross_task_batches(
    train_images: np.ndarray,
    val_images: np.ndarray,
    tasks: Sequence[Task],
    train_per_task: int = 1,
    val_per_task: int = 1,
    seed: int = 0,
    noise_snr_db: float | None = None,
    deterministic: bool = True,
    val_tasks: Sequence[Task] | None = None,
) -> tf.data.Dataset:
    """Endless cross-task batches ``{"train": ..., "val": ...}`` for Algorithm 2 (module docstring).
    ``val_tasks``: the tasks of the ``"val"`` half, indexed from 0 (default: ``tasks``; the
    task-correlation model's validation tasks may differ from its training tasks)."""
    val_tasks = tasks if val_tasks is None else val_tasks
    if not tasks or not val_tasks:
        raise ValueError("cross_task_batches needs at least one task")
    if train_per_task < 1 or val_per_task < 1:
        raise ValueError(f"J_tr and J_val must be >= 1; got {train_per_task}, {val_per_task}")
    halves = {}
    for offset, (name, images, per_task, half_tasks) in enumerate(
        [("train", train_images, train_per_task, tasks), ("val", val_images, val_per_task, val_tasks)]
    ):
        halves[name] = _interleaved(
            [images] * len(half_tasks), half_tasks, per_task, seed + 1000 * offset, 0, noise_snr_db
        )
    batches = tf.data.Dataset.zip(halves)
    return batches.prefetch(tf.data.AUTOTUNE).with_options(_options(deterministic))


def steps_per_epoch(num_train_images: int, train_per_task: int) -> int:
    """Cross-task batches for every task to see each of its training images once."""
    return math.ceil(num_train_images / train_per_task)
