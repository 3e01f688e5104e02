"""Per-sample and global squared norms against NumPy; the pairwise fan-out against closed forms."""

import numpy as np
import pytest
import tensorflow as tf

from lda_tf.math import PairwiseFanOut, global_squared_norm, squared_norm


@pytest.mark.parametrize("shape", [(3, 5, 4), (2, 3, 3, 7)])
@pytest.mark.parametrize("complex_valued", [False, True])
def test_squared_norm_is_per_sample_sum_of_squared_moduli(shape, complex_valued):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    if complex_valued:
        x = x + 1j * rng.standard_normal(shape)
    x = x.astype(np.complex64 if complex_valued else np.float32)
    expected = np.array([np.linalg.norm(sample.ravel()) ** 2 for sample in x])
    result = squared_norm(tf.constant(x))
    assert result.dtype == tf.float32
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-5)


def test_squared_norm_gradient_is_finite_at_zero():
    x = tf.zeros([2, 3, 3], tf.complex64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = tf.reduce_sum(squared_norm(x))
    assert np.all(np.isfinite(tape.gradient(value, x).numpy()))


def test_global_squared_norm_sums_over_all_tensors():
    rng = np.random.default_rng(1)
    tensors = [rng.standard_normal(shape).astype(np.float32) for shape in [(3,), (2, 4), ()]]
    expected = sum(float(np.sum(t.astype(np.float64) ** 2)) for t in tensors)
    np.testing.assert_allclose(
        global_squared_norm([tf.constant(t) for t in tensors]).numpy(), expected, rtol=1e-5
    )


def _add_n_arities(graph: tf.Graph) -> list[int]:
    return [len(op.inputs) for op in graph.get_operations() if op.type == "AddN"]


def test_pairwise_fan_out_keeps_values_and_sums_gradients_two_at_a_time():
    """Six uses ``c_i * k``: the gradient is ``sum_i c_i`` (closed form), every use sees ``k``, and
    the traced gradient sums two terms at a time; the plain six uses give one six-input AddN."""
    kernel = tf.constant(np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4))
    scales = [0.5, -1.25, 2.0, 3.5, -0.75, 1.5]

    def loss(fan_out: bool):
        with tf.GradientTape() as tape:
            tape.watch(kernel)
            uses = PairwiseFanOut([kernel]) if fan_out else None
            copies = [uses.take()[0] if fan_out else kernel for _ in scales]
            value = sum(scale * tf.reduce_sum(copy) for scale, copy in zip(scales, copies))
        return copies, tape.gradient(value, kernel)

    for fan_out in (True, False):
        copies, gradient = loss(fan_out)
        for copy in copies:
            np.testing.assert_array_equal(copy.numpy(), kernel.numpy())
        np.testing.assert_allclose(gradient.numpy(), np.full((3, 4), sum(scales)), rtol=1e-6)
    paired = tf.function(lambda: loss(True)[1]).get_concrete_function().graph
    plain = tf.function(lambda: loss(False)[1]).get_concrete_function().graph
    assert _add_n_arities(plain) == [6]  # what autodiff does without the fan-out
    assert _add_n_arities(paired) and max(_add_n_arities(paired)) == 2
