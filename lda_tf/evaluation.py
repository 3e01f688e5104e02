"""Test-set evaluation of any reconstruction method on any task set (SPEC 6 metrics).

A *reconstructor* maps a batch of model inputs :class:`~lda_tf.mri.MRIInputs`
``(kspace, mask, task_index)`` to complex images.
:func:`evaluate` runs one over a task's test images and returns one row per image (PSNR, SSIM,
NMSE, computed in NumPy by scikit-image, :mod:`lda_tf.metrics`); :func:`summarize` reduces rows
to mean and standard deviation per (task, method).

Decision: the standard deviation is the population one (``numpy.std``, ddof 0) over the test
images; the papers do not say which they report.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from lda_tf import metrics
from lda_tf.atomic import atomic_file
from lda_tf.baselines import tv_reconstruction
from lda_tf.data.pipeline import single_task_batches
from lda_tf.data.tasks import Task, format_tasks
from lda_tf.loa.model import UnrolledNetwork
from lda_tf.mri.measurement import MRIInputs, as_mri_inputs
from lda_tf.mri.operators import MRIOperator

Reconstructor = Callable[[MRIInputs], tf.Tensor]
METRICS = ("psnr", "ssim", "nmse")
ROW_FIELDS = ("method", "task", "ratio", "image", *METRICS)


def zero_filling(inputs) -> tf.Tensor:
    """``F^H P y``."""
    inputs = as_mri_inputs(inputs)
    return MRIOperator.create(inputs.kspace, inputs.mask).zero_filled()


def tv(weight: float) -> Reconstructor:
    """TV-regularised reconstruction with ``weight`` (:mod:`lda_tf.baselines`)."""

    def reconstruct(inputs) -> tf.Tensor:
        inputs = as_mri_inputs(inputs)
        return tv_reconstruction(inputs.kspace, inputs.mask, weight)

    return reconstruct


def network_reconstructor(network: UnrolledNetwork) -> Reconstructor:
    """The unrolled network's output ``x_T``; one trace per batch shape."""
    return tf.function(lambda inputs: network(inputs, training=False), reduce_retracing=True)


def task_weight(network: UnrolledNetwork, task_index: int) -> float | None:
    """``sigma(omega_i)`` of a network with tasks; ``None`` for a conventional one (kappa = 1)."""
    if network.num_tasks == 0:
        return None
    return float(network.task_weight_values()[task_index])


def reconstruct_all(
    reconstruct: Reconstructor, images: np.ndarray, task: Task, task_index: int = 0, batch_size: int = 8
) -> np.ndarray:
    """Reconstructions ``[N, H, W]`` of ``images`` from ``task``'s measurements. The last batch is
    padded to ``batch_size`` (repeating its last image) so a traced network sees one shape."""
    padding = -len(images) % batch_size
    padded = np.concatenate([images, np.repeat(images[-1:], padding, axis=0)]) if padding else images
    batches = single_task_batches(padded, task, batch_size, task_index=task_index, shuffle=False)
    return np.concatenate([reconstruct(inputs).numpy() for inputs, _ in batches])[: len(images)]


def metric_rows(images: np.ndarray, recons: np.ndarray, task: Task, method: str) -> list[dict]:
    """One row per image: PSNR, SSIM, NMSE of ``recons`` against ``images``."""
    return [
        dict(
            method=method,
            task=task.name,
            ratio=round(task.ratio * 100, 6),
            image=index,
            **{name: getattr(metrics, name)(truth, recon) for name in METRICS},
        )
        for index, (truth, recon) in enumerate(zip(images, recons))
    ]


def evaluate(
    reconstruct: Reconstructor,
    images: np.ndarray,
    task: Task,
    method: str,
    task_index: int = 0,
    batch_size: int = 8,
) -> list[dict]:
    """One row per image of ``images`` reconstructed from ``task``'s measurements."""
    return metric_rows(
        images, reconstruct_all(reconstruct, images, task, task_index, batch_size), task, method
    )


def summarize(rows: Iterable[dict], task_weights: dict | None = None) -> list[dict]:
    """Mean and std of each metric per (task, method), in order of first appearance;
    ``task_weights[(task, method)]`` adds the ``sigma_omega`` column.

    Rows from several seeds (``seed`` keys with more than one value) give the mean over seeds of
    each seed's mean over the images, and the std over seeds: the seed-to-seed spread a claimed
    difference is compared with (0 for a method evaluated with one seed only, e.g. one that needs
    none; ``images`` then counts one seed's images)."""
    rows = list(rows)
    over_seeds = len({row.get("seed") for row in rows}) > 1
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["task"], row["method"]), []).append(row)
    summary = []
    for (task, method), members in groups.items():
        by_seed: dict = {}
        for member in members:
            by_seed.setdefault(member.get("seed"), []).append(member)
        entry = dict(task=task, ratio=members[0]["ratio"], method=method, images=len(members) // len(by_seed))
        for name in METRICS:
            if over_seeds:
                values = np.array([np.mean([m[name] for m in seed_rows]) for seed_rows in by_seed.values()])
            else:
                values = np.array([member[name] for member in members], np.float64)
            entry[f"{name}_mean"], entry[f"{name}_std"] = float(values.mean()), float(values.std())
        entry["sigma_omega"] = (task_weights or {}).get((task, method))
        summary.append(entry)
    return summary


def write_rows(rows: list[dict], path: str | os.PathLike, fieldnames: Sequence[str] | None = None) -> None:
    """CSV with a header (``fieldnames``, default the first row's keys), written atomically."""
    rows = list(rows)
    with atomic_file(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(fieldnames or (rows[0] if rows else ROW_FIELDS)))
        writer.writeheader()
        writer.writerows(rows)


def training_settings(model_path: str | os.PathLike) -> dict:
    """The data settings recorded in ``config.json`` next to a trained ``model.keras`` ({} if
    none): ``dataset_dir``, ``tasks`` (as ``radial:10,...``), ``crop``, ``downsample``, ..."""
    config = Path(model_path).resolve().parent / "config.json"
    if not config.is_file():
        return {}
    try:
        record = json.loads(config.read_text())
        data = record.get("settings", {}).get("data") or {}
    except (OSError, ValueError, AttributeError) as error:
        raise ValueError(f"{config}: not a readable run record ({type(error).__name__}: {error})") from None
    if "tasks" in data:
        data = {**data, "tasks": format_tasks(Task(**task) for task in data["tasks"])}
    return data
