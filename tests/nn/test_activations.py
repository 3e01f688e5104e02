import numpy as np
import pytest
import tensorflow as tf

from lda_tf.nn import smoothed_relu, smoothed_relu_derivative

DELTAS = [1e-3, 0.01, 0.5]


@pytest.mark.parametrize("delta", DELTAS)
def test_continuous_at_plus_minus_delta(delta):
    for edge in (-delta, delta):
        x = tf.constant([edge * (1 - 1e-6), edge, edge * (1 + 1e-6)], tf.float64)
        for function in (smoothed_relu, smoothed_relu_derivative):
            values = function(x, delta).numpy()
            assert np.ptp(values) < 1e-5, (function.__name__, edge, values)


@pytest.mark.parametrize("delta", DELTAS)
def test_closed_form_pieces(delta):
    x = tf.constant([-2 * delta, -delta, -0.5 * delta, 0.0, 0.5 * delta, delta, 3 * delta], tf.float64)
    expected = [0.0, 0.0, delta / 16, delta / 4, 9 * delta / 16, delta, 3 * delta]
    np.testing.assert_allclose(smoothed_relu(x, delta).numpy(), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(smoothed_relu_derivative(x, delta).numpy(), [0, 0, 0.25, 0.5, 0.75, 1, 1])


@pytest.mark.parametrize("delta", DELTAS)
def test_derivative_matches_finite_differences_and_autodiff(delta):
    x = tf.constant(np.linspace(-3 * delta, 3 * delta, 61), tf.float64)
    h = 1e-4 * delta
    finite = (smoothed_relu(x + h, delta) - smoothed_relu(x - h, delta)) / (2 * h)
    np.testing.assert_allclose(
        smoothed_relu_derivative(x, delta).numpy(), finite.numpy(), atol=5e-5
    )  # O(h/delta) at the kinks ±delta
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(smoothed_relu(x, delta))
    np.testing.assert_allclose(
        tape.gradient(y, x).numpy(), smoothed_relu_derivative(x, delta).numpy(), atol=1e-12
    )
