import numpy as np
import pytest
import tensorflow as tf

from lda_tf.loa.objective import VariationalObjective
from lda_tf.mri import MRIOperator
from lda_tf.nn import FeatureExtractor, smoothed_l21
from lda_tf.nn.regularizers import SMOOTHING_GAP
from tests.conftest import random_complex, real_inner


def _objective(smoothing, shape=(2, 8, 9), kappa=(1.0, 1.0), relu_delta=0.1):
    extractor = FeatureExtractor(num_layers=3, num_filters=4, relu_delta=relu_delta)
    extractor.build()
    operator = MRIOperator.create(tf.zeros(shape, tf.complex64), np.ones(shape[1:], np.float32))
    return VariationalObjective(operator, extractor, smoothing, tf.constant(kappa))


def test_closed_forms_on_known_feature_norms():
    # One sample, three pixels with feature norms 0, 0.05 and 3 (eps = 0.1).
    features = tf.constant([[[[0.0, 0.0], [0.03, 0.04], [3.0, 0.0]]]])  # [1, 1, 3, 2]
    eps = tf.constant([0.1])
    sqrt_expected = (0.0) + (np.sqrt(0.05**2 + 0.01) - 0.1) + (np.sqrt(9.01) - 0.1)
    huber_expected = 0.0 + 0.05**2 / 0.2 + (3.0 - 0.05)
    np.testing.assert_allclose(smoothed_l21(features, eps, "sqrt").numpy(), [sqrt_expected], rtol=1e-6)
    np.testing.assert_allclose(smoothed_l21(features, eps, "huber").numpy(), [huber_expected], rtol=1e-6)


@pytest.mark.parametrize("smoothing", ["sqrt", "huber"])
def test_bounds_against_the_nonsmooth_l21(smoothing):
    features = tf.random.stateless_normal((2, 6, 7, 8), seed=[1, 2]) * 0.2
    eps = tf.constant([0.05, 0.3])
    exact = tf.reduce_sum(tf.norm(features, axis=-1), axis=(1, 2)).numpy()
    smoothed = smoothed_l21(features, eps, smoothing).numpy()
    assert np.all(smoothed <= exact + 1e-5)
    assert np.all(exact <= smoothed + SMOOTHING_GAP[smoothing] * 42 * eps.numpy() + 1e-5)


def _assert_equals_autodiff(value_function, gradient_function, x, eps):
    """The explicit gradient equals tf.GradientTape's of the summed per-sample value."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = tf.reduce_sum(value_function(x, eps))
    autodiff = tape.gradient(value, x).numpy()
    explicit = gradient_function(x, eps).numpy()
    assert np.linalg.norm(explicit - autodiff) <= 1e-4 * np.linalg.norm(autodiff)


@pytest.mark.parametrize("smoothing", ["sqrt", "huber"])
def test_gradient_equals_autodiff(smoothing):
    objective = _objective(smoothing)
    _assert_equals_autodiff(
        lambda x, eps: objective.regularizer(objective.point(x), eps),
        lambda x, eps: objective.regularizer_gradient(objective.point(x), eps),
        random_complex((2, 8, 9), seed=4),
        tf.constant([0.05, 0.5]),
    )


@pytest.mark.parametrize("smoothing", ["sqrt", "huber"])
def test_gradient_matches_finite_differences(smoothing):
    # phi'' jumps at +-relu_delta, so central differences are O(h) where a pre-activation crosses
    # a kink; relu_delta = 1 keeps that below float32 rounding at h = 1e-2.
    objective = _objective(smoothing, relu_delta=1.0)
    x = random_complex((2, 8, 9), seed=5)
    eps = tf.constant([0.5, 0.5])
    gradient = objective.regularizer_gradient(objective.point(x), eps)
    for seed in range(3):
        direction = random_complex((2, 8, 9), seed=30 + seed)
        h = 1e-2
        plus = objective.regularizer(objective.point(x + h * direction), eps)
        minus = objective.regularizer(objective.point(x - h * direction), eps)
        difference = ((plus - minus) / (2 * h)).numpy()
        expected = [real_inner(gradient[b], direction[b]) for b in range(2)]
        # Absolute slack relative to the Cauchy-Schwarz bound |<grad, d>| <= ||grad|| ||d||.
        scale = np.linalg.norm(gradient.numpy(), axis=(1, 2)) * np.linalg.norm(direction.numpy(), axis=(1, 2))
        assert np.all(np.abs(difference - expected) <= 1e-3 * np.abs(expected) + 1e-4 * scale)


def test_objective_gradient_combines_fidelity_and_weighted_regulariser():
    objective = _objective("sqrt", kappa=(0.25, 0.75))
    _assert_equals_autodiff(
        lambda x, eps: objective.value(objective.point(x), eps),
        lambda x, eps: objective.gradient(objective.point(x), eps),
        random_complex((2, 8, 9), seed=6),
        tf.constant([0.1, 0.1]),
    )
