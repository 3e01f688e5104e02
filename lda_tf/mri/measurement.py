"""The MRI measurement of the meta paper as a model input layer (SPEC 1)."""

from __future__ import annotations

import keras

from lda_tf.loa.measurement import Measured, Measurement
from lda_tf.mri.operators import MRIOperator


def unpack_mri_inputs(inputs):
    """``(kspace, mask[, task_index])`` or a dict with those keys -> the three (task_index may be None)."""
    if isinstance(inputs, dict):
        missing = {"kspace", "mask"} - set(inputs)
        if missing:
            raise ValueError(f"MRI inputs dict lacks {sorted(missing)}; needs kspace, mask, task_index")
        return inputs["kspace"], inputs["mask"], inputs.get("task_index")
    if isinstance(inputs, (tuple, list)) and len(inputs) in (2, 3):
        return inputs[0], inputs[1], inputs[2] if len(inputs) == 3 else None
    raise ValueError("MRI inputs must be (kspace, mask, task_index) or a dict with those keys")


@keras.saving.register_keras_serializable(package="lda_tf")
class MRISampling(Measurement):
    """Inputs ``(kspace [B, H, W] complex64, mask [H, W] or [B, H, W], task_index [B])``;
    ``f(x) = 1/2 ||P F x - y||^2`` and the zero-filled start ``x0 = F^H P y`` (SPEC 1).

    Decision: the LDA paper's CS-MRI experiment (4.2.3) starts from ``x0 = 0``; its first
    phase's ``z = 0 - alpha grad f(0) = alpha F^H P y`` is then a scaled zero filling, so starting
    from the zero filling costs nothing and keeps one start for both papers.
    """

    complex_valued = True

    def measure(self, inputs) -> Measured:
        kspace, mask, task_index = unpack_mri_inputs(inputs)
        operator = MRIOperator.create(kspace, mask)
        return Measured(operator, operator.zero_filled(), task_index)
