"""Sampling matrix and least-squares initialisation of block CS (LDA paper 4.2.1)."""

import numpy as np
import pytest

from lda_tf.cs import least_squares_initialization, measurement_count, orthonormal_gaussian


def test_measurement_counts_match_the_protocol():
    # ISTA-Net+ (n = 1089): 109, 272, 545; learned sampling (n = 1024): 102 (the paper's 104,448 / 1024), 307.
    assert [measurement_count(r, 1089) for r in (0.1, 0.25, 0.5)] == [109, 272, 545]
    assert [measurement_count(r, 1024) for r in (0.1, 0.3)] == [102, 307]
    with pytest.raises(ValueError, match="CS ratio"):
        measurement_count(0.0, 1089)


def test_sampling_matrix_has_orthonormal_rows_and_depends_on_the_seed():
    sampling = orthonormal_gaussian(109, 1089, seed=3)
    np.testing.assert_allclose(sampling @ sampling.T, np.eye(109), atol=1e-5)
    np.testing.assert_array_equal(sampling, orthonormal_gaussian(109, 1089, seed=3))
    assert not np.allclose(sampling, orthonormal_gaussian(109, 1089, seed=4))


def test_q_is_the_least_squares_solution():
    rng = np.random.default_rng(0)
    sampling = orthonormal_gaussian(12, 36, seed=0)
    blocks = rng.random((36, 500)) @ np.diag(rng.random(500)) + 0.1 * rng.random((36, 1))
    q_matrix = least_squares_initialization(sampling, blocks)
    measurements = sampling.astype(np.float64) @ blocks
    # Q = X B^T (B B^T)^-1 written out, and min_Q ||Q B - X||_F by numpy's lstsq on B^T Q^T = X^T.
    closed_form = blocks @ measurements.T @ np.linalg.inv(measurements @ measurements.T)
    lstsq = np.linalg.lstsq(measurements.T, blocks.T, rcond=None)[0].T
    np.testing.assert_allclose(q_matrix, closed_form, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(q_matrix, lstsq, rtol=1e-4, atol=1e-5)


def test_too_few_training_blocks_are_refused():
    with pytest.raises(ValueError, match="at least m=12 training blocks"):
        least_squares_initialization(orthonormal_gaussian(12, 36, 0), np.ones((36, 5)))
