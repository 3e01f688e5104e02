"""Downsampling for quick runs: block means, shape checks."""

import numpy as np
import pytest

from lda_tf.data.volumes import downsample


def test_downsample_is_the_block_mean():
    images = np.random.default_rng(0).random((3, 8, 6)).astype(np.float32)
    expected = images.reshape(3, 4, 2, 3, 2).mean(axis=(2, 4))
    result = downsample(images, 2, "test")
    assert result.dtype == np.float32 and result.shape == (3, 4, 3)
    np.testing.assert_allclose(result, expected, rtol=1e-6)
    np.testing.assert_array_equal(downsample(images, 1, "test"), images)


def test_downsample_needs_divisible_sides():
    with pytest.raises(
        ValueError, match="data.npy: in-plane size 8x6 is not divisible by the downsampling factor 4"
    ):
        downsample(np.zeros((1, 8, 6), np.float32), 4, "data.npy")
