import numpy as np
import pytest
import tensorflow as tf

from lda_tf.mri import MRIOperator, add_complex_noise, fft2c, make_mask, simulate_kspace
from tests.conftest import inner, random_complex, real_inner


def _operator(batch=3, shape=(12, 14), per_sample_mask=True, seed=0):
    masks = np.stack([make_mask("variable_density", shape, 0.3, seed=seed + i) for i in range(batch)])
    mask = masks if per_sample_mask else masks[0]
    kspace = random_complex((batch,) + shape, seed=seed + 10) * tf.cast(mask, tf.complex64)
    return MRIOperator.create(kspace, mask)


@pytest.mark.parametrize("per_sample_mask", [True, False])
def test_adjoint_identity(per_sample_mask):
    operator = _operator(per_sample_mask=per_sample_mask)
    x = random_complex(operator.kspace.shape, seed=5)
    y = random_complex(operator.kspace.shape, seed=6)
    left, right = inner(operator.forward(x), y), inner(x, operator.adjoint(y))
    assert abs(left - right) / abs(left) < 1e-5


def test_zero_filled_start_is_adjoint_of_data():
    operator = _operator()
    expected = np.fft.fftshift(
        np.fft.ifft2(
            np.fft.ifftshift(operator.kspace.numpy() * operator.mask.numpy(), axes=(-2, -1)), norm="ortho"
        ),
        axes=(-2, -1),
    )
    np.testing.assert_allclose(operator.zero_filled().numpy(), expected, atol=1e-5)


def test_data_fidelity_vanishes_at_the_truth():
    target = np.random.default_rng(0).random((2, 10, 12)).astype(np.float32)
    mask = make_mask("radial", (10, 12), 0.4)
    operator = MRIOperator.create(simulate_kspace(target, mask), mask)
    truth = tf.complex(target, tf.zeros_like(target))
    assert np.all(operator.data_fidelity(truth).numpy() < 1e-10)
    assert np.all(operator.data_fidelity(operator.zero_filled()).numpy() < 1e-10)  # A x0 = y


def test_data_fidelity_gradient_matches_finite_differences():
    operator = _operator(batch=2, shape=(8, 9))
    x = random_complex((2, 8, 9), seed=7)
    gradient = operator.data_fidelity_gradient(x)
    for seed in range(3):
        direction = random_complex((2, 8, 9), seed=20 + seed)
        h = 1e-2
        # f is quadratic: central differences are exact up to rounding.
        difference = (
            operator.data_fidelity(x + h * direction) - operator.data_fidelity(x - h * direction)
        ).numpy() / (2 * h)
        expected = [real_inner(gradient[b], direction[b]) for b in range(2)]
        np.testing.assert_allclose(difference, expected, rtol=1e-3)


def test_data_fidelity_gradient_equals_autodiff():
    operator = _operator(batch=2, shape=(8, 9))
    x = random_complex((2, 8, 9), seed=8)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = tf.reduce_sum(operator.data_fidelity(x))
    np.testing.assert_allclose(
        operator.data_fidelity_gradient(x).numpy(), tape.gradient(value, x).numpy(), atol=1e-5
    )


def test_noise_has_requested_snr_and_only_on_sampled_entries():
    mask = make_mask("cartesian", (64, 64), 0.5)
    kspace = simulate_kspace(np.random.default_rng(1).random((4, 64, 64)).astype(np.float32), mask)
    noisy = add_complex_noise(kspace, mask, snr_db=20.0, seed=3)
    noise = (noisy - kspace).numpy()
    assert np.all(noise[:, mask == 0] == 0)
    signal_power = np.mean(np.abs(kspace.numpy()[:, mask == 1]) ** 2, axis=1)
    noise_power = np.mean(np.abs(noise[:, mask == 1]) ** 2, axis=1)
    np.testing.assert_allclose(10 * np.log10(signal_power / noise_power), 20.0, atol=0.3)
    np.testing.assert_array_equal(noisy.numpy(), add_complex_noise(kspace, mask, 20.0, seed=3).numpy())
    assert not np.array_equal(noisy.numpy(), add_complex_noise(kspace, mask, 20.0, seed=4).numpy())


def test_shape_and_dtype_errors_name_the_argument():
    kspace = tf.zeros((2, 8, 8), tf.complex64)
    with pytest.raises(ValueError, match="mask shape"):
        MRIOperator.create(kspace, np.ones((8, 9), np.float32))
    with pytest.raises(ValueError, match="mask batch size"):
        MRIOperator.create(kspace, np.ones((3, 8, 8), np.float32))
    with pytest.raises(TypeError, match="kspace must be complex64"):
        MRIOperator.create(tf.zeros((2, 8, 8)), np.ones((8, 8), np.float32))
    with pytest.raises(ValueError, match=r"kspace must have shape \[B, H, W\]"):
        MRIOperator.create(tf.zeros((8, 8), tf.complex64), np.ones((8, 8), np.float32))


def test_simulated_kspace_is_masked_fft_of_target():
    target = np.random.default_rng(2).random((2, 6, 7)).astype(np.float32)
    mask = make_mask("radial", (6, 7), 0.5)
    expected = fft2c(tf.complex(target, tf.zeros_like(target))).numpy() * mask
    np.testing.assert_allclose(simulate_kspace(target, mask).numpy(), expected, atol=1e-6)
