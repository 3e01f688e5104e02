"""The MRI measurement layer: named inputs in every accepted form, x0 = F^H P y, the display hook."""

import numpy as np
import pytest
import tensorflow as tf

from lda_tf.mri import MRIInputs, MRISampling, ifft2c, make_mask, simulate_kspace

SHAPE = (8, 10)


def _inputs():
    target = np.random.default_rng(0).random((2,) + SHAPE).astype(np.float32)
    mask = tf.constant(make_mask("radial", SHAPE, 0.3, seed=0))
    return MRIInputs(simulate_kspace(target, mask), mask, tf.constant([1, 0], tf.int32))


@pytest.mark.parametrize("form", ["named", "tuple", "dict"])
def test_every_input_form_gives_the_zero_filling_and_the_task_index(form):
    inputs = _inputs()
    given = {"named": inputs, "tuple": tuple(inputs), "dict": inputs._asdict()}[form]
    measured = MRISampling().measure(given)
    expected = ifft2c(inputs.kspace * tf.cast(inputs.mask, tf.complex64))  # F^H P y, independently
    np.testing.assert_allclose(measured.initial.numpy(), expected.numpy(), atol=1e-6)
    np.testing.assert_array_equal(measured.task_index.numpy(), [1, 0])


def test_inputs_without_task_index_measure_with_none():
    inputs = _inputs()
    assert MRISampling().measure((inputs.kspace, inputs.mask)).task_index is None
    assert MRISampling().measure({"kspace": inputs.kspace, "mask": inputs.mask}).task_index is None


def test_malformed_inputs_name_what_is_missing():
    inputs = _inputs()
    with pytest.raises(ValueError, match="missing \\['mask'\\]"):
        MRISampling().measure({"kspace": inputs.kspace})
    with pytest.raises(ValueError, match="unknown \\['masks'\\]"):
        MRISampling().measure({"kspace": inputs.kspace, "mask": inputs.mask, "masks": inputs.mask})
    with pytest.raises(ValueError, match="MRIInputs"):
        MRISampling().measure(inputs.kspace)


def test_display_is_the_mask_per_sample():
    inputs = _inputs()
    shown = MRISampling().display(inputs)
    assert list(shown) == ["mask"] and shown["mask"].shape == (2,) + SHAPE
    for sample in shown["mask"].numpy():
        np.testing.assert_array_equal(sample, inputs.mask.numpy())
    assert MRISampling.initial_name == "zero_filled"


def test_named_inputs_pass_through_a_traced_function():
    inputs = _inputs()
    traced = tf.function(lambda batch: MRISampling().measure(batch).initial)
    np.testing.assert_allclose(traced(inputs).numpy(), MRISampling().measure(inputs).initial.numpy())
