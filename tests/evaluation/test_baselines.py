"""TV baseline against its mathematics and against scikit-image's TV denoiser."""

import numpy as np
import pytest
import tensorflow as tf
from skimage.restoration import denoise_tv_chambolle

from lda_tf.baselines import (
    divergence,
    gradient,
    select_tv_weight,
    total_variation,
    tv_objective,
    tv_reconstruction,
)
from lda_tf.data import single_task_batches
from lda_tf.data.tasks import Task
from lda_tf.metrics import psnr
from lda_tf.mri import MRIOperator, fft2c, make_mask, simulate_kspace


def _complex(rng, shape):
    return tf.constant((rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64))


def _phantom():
    image = np.zeros((32, 40), np.float32)
    image[8:20, 10:30] = 1.0
    image[22:28, 5:15] = 0.5
    return image


def test_divergence_is_minus_adjoint_of_gradient():
    rng = np.random.default_rng(0)
    image, field = _complex(rng, (2, 5, 6)), _complex(rng, (2, 5, 6, 2))
    lhs = tf.reduce_sum(gradient(image) * tf.math.conj(field))
    rhs = -tf.reduce_sum(image * tf.math.conj(divergence(field)))
    np.testing.assert_allclose(lhs.numpy(), rhs.numpy(), rtol=1e-5)


def test_divergence_traced_with_unknown_shapes_equals_eager():
    """tf.function relaxes the traced shapes to None after several image sizes (reduce_retracing)."""
    field = _complex(np.random.default_rng(1), (2, 5, 6, 2))
    traced = tf.function(divergence, input_signature=[tf.TensorSpec([None, None, None, 2], tf.complex64)])
    np.testing.assert_allclose(traced(field).numpy(), divergence(field).numpy())


def test_total_variation_closed_form():
    step = np.zeros((1, 4, 5), np.complex64)
    step[:, :, 2:] = 1j  # a vertical edge of height 4 and jump |1j| = 1
    assert total_variation(tf.constant(step)).numpy()[0] == pytest.approx(4.0)
    assert total_variation(tf.ones((1, 4, 5), tf.complex64)).numpy()[0] == 0.0


def test_full_sampling_equals_scikit_image_tv_denoising():
    """With P = I the problem is TV denoising of F^H y, which skimage solves by Chambolle (2004)."""
    rng = np.random.default_rng(1)
    noisy = (_phantom() + 0.1 * rng.standard_normal((32, 40))).astype(np.float32)
    kspace = fft2c(tf.constant(noisy[None].astype(np.complex64)))
    recon = tv_reconstruction(kspace, np.ones((32, 40), np.float32), 0.1, iterations=3000).numpy()[0]
    reference = denoise_tv_chambolle(noisy.astype(np.float64), weight=0.1, eps=1e-12, max_num_iter=5000)
    np.testing.assert_allclose(recon.imag, 0.0, atol=1e-5)
    assert np.linalg.norm(recon.real - reference) / np.linalg.norm(reference) < 1e-3


def test_undersampled_tv_lowers_objective_and_beats_zero_filling():
    image = tf.constant(_phantom()[None])
    mask = make_mask("radial", (32, 40), 0.3, seed=0)
    kspace = simulate_kspace(image, mask)
    recon = tv_reconstruction(kspace, mask, 1e-2)
    start = MRIOperator.create(kspace, mask).zero_filled()
    assert (
        tv_objective(kspace, mask, recon, 1e-2).numpy()[0]
        < tv_objective(kspace, mask, start, 1e-2).numpy()[0]
    )
    assert psnr(image[0], recon[0]) > psnr(image[0], start[0]) + 3.0


def test_weight_selection_picks_the_best_validation_psnr():
    images = np.stack([_phantom(), _phantom()[::-1]])
    batches = single_task_batches(images, Task("radial", 0.3), 2, shuffle=False)
    chosen = select_tv_weight(batches, weights=(1e-6, 1e-2, 10.0), iterations=100)
    assert chosen == 1e-2


def test_rejects_non_positive_weight():
    with pytest.raises(ValueError, match="TV weight"):
        tv_reconstruction(tf.zeros((1, 4, 4), tf.complex64), np.ones((4, 4), np.float32), 0.0)
