import numpy as np
import pytest
import tensorflow as tf
from skimage.metrics import structural_similarity

from lda_tf import metrics


def _pair(seed=0, shape=(40, 44)):
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    target = np.exp(-((rows - 20) ** 2 + (cols - 22) ** 2) / 150.0) + 0.1 * rng.random(shape)
    recon = target + 0.05 * rng.standard_normal(shape) + 0.02j * rng.standard_normal(shape)
    return target.astype(np.float32), recon.astype(np.complex64)


def test_numpy_metrics_equal_the_defining_formulas():
    target, recon = _pair()
    error = np.abs(recon).astype(np.float64) - target
    expected_psnr = 20 * np.log10(target.max() / np.sqrt(np.mean(error**2)))
    expected_nmse = np.sum(error**2) / np.sum(target.astype(np.float64) ** 2)
    assert metrics.psnr(target, recon) == pytest.approx(expected_psnr, abs=1e-9)
    assert metrics.nmse(target, recon) == pytest.approx(expected_nmse, rel=1e-9)


def test_ssim_uses_the_papers_window_and_constants():
    target, recon = _pair()
    expected = structural_similarity(
        target.astype(np.float64),
        np.abs(recon).astype(np.float64),
        data_range=float(target.max()),
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        win_size=11,
        K1=0.01,
        K2=0.03,
    )
    assert metrics.ssim(target, recon) == pytest.approx(expected, abs=1e-12)
    assert metrics.ssim(target, target) == pytest.approx(1.0)


def test_tensorflow_metrics_agree_with_numpy_and_scikit_image():
    pairs = [_pair(seed) for seed in range(3)]
    target = tf.constant(np.stack([p[0] for p in pairs]))
    recon = tf.constant(np.stack([p[1] for p in pairs]))
    psnr, ssim, nmse = (f(target, recon).numpy() for f in (metrics.psnr_tf, metrics.ssim_tf, metrics.nmse_tf))
    for index, (target_image, recon_image) in enumerate(pairs):
        assert psnr[index] == pytest.approx(metrics.psnr(target_image, recon_image), abs=1e-3)
        assert ssim[index] == pytest.approx(metrics.ssim(target_image, recon_image), abs=1e-4)
        assert nmse[index] == pytest.approx(metrics.nmse(target_image, recon_image), abs=1e-4, rel=1e-4)


def test_peak_comes_from_each_ground_truth_image():
    target, recon = _pair()
    scaled = metrics.psnr_tf(
        tf.constant(np.stack([target, 3 * target])), tf.constant(np.stack([recon, 3 * recon]))
    )
    assert scaled.numpy()[0] == pytest.approx(scaled.numpy()[1], abs=1e-3)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="one shape"):
        metrics.psnr(np.ones((4, 4)), np.ones((4, 5)))


def test_volume_metrics_follow_fastmri_conventions():
    """Peak of the whole volume, PSNR and NMSE over the volume (closed forms), SSIM the mean of
    scikit-image's default SSIM per slice with that peak; identical volumes give SSIM 1, NMSE 0."""
    rng = np.random.default_rng(0)
    target = rng.random((3, 16, 18)) * np.array([1.0, 2.0, 4.0])[:, None, None]
    recon = target + 0.05 * rng.standard_normal(target.shape)
    values = metrics.volume_metrics(target, recon)
    mse = np.mean((target - np.abs(recon)) ** 2)
    assert np.isclose(values["psnr"], 10 * np.log10(target.max() ** 2 / mse))
    assert np.isclose(values["nmse"], np.sum((target - np.abs(recon)) ** 2) / np.sum(target**2))
    per_slice = [structural_similarity(t, np.abs(r), data_range=target.max()) for t, r in zip(target, recon)]
    assert np.isclose(values["ssim"], np.mean(per_slice))
    same = metrics.volume_metrics(target, target)
    assert same["ssim"] == 1.0 and same["nmse"] == 0.0
