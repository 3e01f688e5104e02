"""The MRI measurement of the meta paper as a model input layer (SPEC 1), and its named inputs."""

from __future__ import annotations

from typing import NamedTuple

import keras
import tensorflow as tf

from lda_tf.measurement import Measured, Measurement
from lda_tf.mri.operators import MRIOperator

FIELDS = ("kspace", "mask", "task_index")


class MRIInputs(NamedTuple):
    """One batch of MRI model inputs, read by name (the tf.data pipelines yield it).

    ``kspace`` ``y`` ``[B, H, W]`` complex64 (zero off the mask), ``mask`` ``[H, W]`` or
    ``[B, H, W]`` float32 in {0, 1}, ``task_index`` ``[B]`` int32 (None for a model without tasks).
    """

    kspace: tf.Tensor
    mask: tf.Tensor
    task_index: tf.Tensor | None = None


def as_mri_inputs(inputs) -> MRIInputs:
    """:class:`MRIInputs`, or a plain ``(kspace, mask[, task_index])`` tuple, or a dict with those
    keys (``task_index`` optional) -> :class:`MRIInputs`."""
    if isinstance(inputs, MRIInputs):
        return inputs
    if isinstance(inputs, dict):
        missing = {"kspace", "mask"} - set(inputs)
        unknown = set(inputs) - set(FIELDS)
        if missing or unknown:
            raise ValueError(
                f"MRI inputs dict needs keys kspace, mask and optionally task_index; "
                f"missing {sorted(missing)}, unknown {sorted(unknown)}"
            )
        return MRIInputs(inputs["kspace"], inputs["mask"], inputs.get("task_index"))
    if isinstance(inputs, (tuple, list)) and len(inputs) in (2, 3):
        return MRIInputs(*inputs)
    raise ValueError(
        "MRI inputs must be MRIInputs, a (kspace, mask, task_index) tuple or a dict with those keys"
    )


@keras.saving.register_keras_serializable(package="lda_tf")
class MRISampling(Measurement):
    """Inputs :class:`MRIInputs` ``(kspace [B, H, W] complex64, mask [H, W] or [B, H, W],
    task_index [B])``; ``f(x) = 1/2 ||P F x - y||^2`` and the zero-filled start ``x0 = F^H P y``
    (SPEC 1).

    Decision: the LDA paper's CS-MRI experiment (4.2.3) starts from ``x0 = 0``; its first
    phase's ``z = 0 - alpha grad f(0) = alpha F^H P y`` is then a scaled zero filling, so starting
    from the zero filling costs nothing and keeps one start for both papers.
    """

    complex_valued = True
    initial_name = "zero_filled"

    def measure(self, inputs) -> Measured:
        inputs = as_mri_inputs(inputs)
        operator = MRIOperator.create(inputs.kspace, inputs.mask)
        return Measured(operator, operator.zero_filled(), inputs.task_index)

    def display(self, inputs) -> dict[str, tf.Tensor]:
        """The sampling mask ``P`` per sample, ``[B, H, W]``."""
        inputs = as_mri_inputs(inputs)
        mask = tf.cast(inputs.mask, tf.float32)
        return {"mask": tf.broadcast_to(mask, tf.shape(inputs.kspace))}
