"""Per-sample and global squared norms against NumPy."""

import numpy as np
import pytest
import tensorflow as tf

from lda_tf.math import global_squared_norm, squared_norm


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
