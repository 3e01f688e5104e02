"""Several reconstruction methods on one task set: the loop behind every results table
(``lda_tf.papers.meta`` and ``experiments/evaluate.py``).

A :class:`Method` gives a reconstructor per task (TV's weight and the conventional network are
chosen per task) and, for a network, the network itself: task ``i`` is then reconstructed with
task index ``i`` when the network has task weights (``sigma(omega_i)`` goes into the table), with
0 otherwise. :func:`compare` returns per-image rows (:func:`lda_tf.evaluation.metric_rows`), the
task weights and, on request, one test image's reconstructions for a figure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

from lda_tf.baselines import select_tv_weight
from lda_tf.data.pipeline import single_task_batches
from lda_tf.data.tasks import Task
from lda_tf.evaluation import (
    Reconstructor,
    metric_rows,
    network_reconstructor,
    reconstruct_all,
    task_weight,
    tv,
    zero_filling,
)
from lda_tf.loa.model import UnrolledNetwork


@dataclasses.dataclass(frozen=True)
class Method:
    """A method of the table: ``reconstructor(task)``; ``network`` when it is one network for all
    tasks (its task weights are reported)."""

    name: str
    reconstructor: Callable[[Task], Reconstructor]
    network: UnrolledNetwork | None = None
    domain: int | None = None  # a U-LDA network's domain group for every task

    @classmethod
    def of_network(cls, name: str, network: UnrolledNetwork, domain: int | None = None) -> Method:
        reconstruct = network_reconstructor(network)  # one trace for every task
        return cls(name, lambda task: reconstruct, network, domain)


ZERO_FILLING = Method("zero_filling", lambda task: zero_filling)


def tv_method(
    validation: np.ndarray | None, weight: float | None = None, batch_size: int = 8
) -> tuple[Method, dict[str, float]]:
    """TV with ``weight``, or per task the weight of the best validation PSNR
    (:func:`lda_tf.baselines.select_tv_weight` on ``validation``); the dict fills with the weight
    used per task name as the method runs."""
    chosen: dict[str, float] = {}

    def reconstructor(task: Task) -> Reconstructor:
        chosen[task.name] = weight or select_tv_weight(
            single_task_batches(validation, task, batch_size, shuffle=False)
        )
        return tv(chosen[task.name])

    return Method("tv", reconstructor), chosen


def compare(
    methods: Sequence[Method],
    images: np.ndarray,
    tasks: Sequence[Task],
    batch_size: int = 8,
    keep_image: int | None = None,
) -> tuple[list[dict], dict[tuple[str, str], float | None], dict[str, dict[float, np.ndarray]]]:
    """Every method on every task's ``images``: (per-image rows; ``{(task, method): sigma(omega_i)}``
    for the network methods; the reconstructions of image ``keep_image`` as
    ``{method: {ratio in percent: image}}``, empty without ``keep_image``)."""
    rows, weights, kept = [], {}, {}
    for index, task in enumerate(tasks):
        for method in methods:
            network = method.network
            task_index = index if network is not None and network.num_tasks else 0
            task_index = task_index if method.domain is None else method.domain
            recons = reconstruct_all(method.reconstructor(task), images, task, task_index, batch_size)
            rows += metric_rows(images, recons, task, method.name)
            if network is not None:
                weights[(task.name, method.name)] = task_weight(network, index)
            if keep_image is not None:
                kept.setdefault(method.name, {})[task.ratio * 100] = recons[keep_image]
    return rows, weights, kept
