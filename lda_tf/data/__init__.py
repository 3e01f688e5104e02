"""Datasets: raw converters (BraTS, fastMRI), shards on disk, tasks, tf.data pipelines, sample."""

from lda_tf.data.pipeline import (
    cross_task_batches,
    domain_batches,
    load_images,
    single_task_batches,
    steps_per_epoch,
)
from lda_tf.data.shards import (
    CorruptDatasetError,
    load_split,
    read_manifest,
    read_split_images,
    verify_checksums,
    verify_dataset,
)
from lda_tf.data.tasks import META_TRAINING_TASK_SPEC, META_TRAINING_TASKS, Task, parse_tasks

__all__ = [
    "CorruptDatasetError",
    "META_TRAINING_TASK_SPEC",
    "META_TRAINING_TASKS",
    "Task",
    "cross_task_batches",
    "domain_batches",
    "load_images",
    "load_split",
    "parse_tasks",
    "read_manifest",
    "read_split_images",
    "single_task_batches",
    "steps_per_epoch",
    "verify_checksums",
    "verify_dataset",
]
