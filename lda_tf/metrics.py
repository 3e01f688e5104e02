"""Reconstruction quality metrics as the released evaluation computes them (SPEC 6).

All compare magnitudes ``|x|`` with the ground truth ``|xhat|`` and take the dynamic range from the
ground truth, ``L = max |xhat|``, per image:

- ``PSNR = 20 log10(max|xhat| / sqrt(mean((|x| - |xhat|)^2)))`` (eq. (20) with the sqrt the
  printed formula omits);
- ``SSIM``: Wang et al. 2004, Gaussian window 11x11 with sigma 1.5, K1 = 0.01, K2 = 0.03,
  population (not sample) covariances, mean over the positions where the window fits inside the
  image: ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=L)`` and ``tf.image.ssim`` agree on these;
- ``NMSE = || |x| - |xhat| ||^2 / ||xhat||^2`` (eq. (22) with the ground truth as denominator).

NumPy versions take single ``[H, W]`` images (evaluation); TensorFlow versions ``[B, H, W]`` batches
(in-graph monitoring) and return ``[B]``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from skimage import metrics as skmetrics

SSIM_SETTINGS = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, K1=0.01, K2=0.03)


def _magnitudes(target, recon) -> tuple[np.ndarray, np.ndarray]:
    target, recon = (
        np.abs(np.asarray(target)).astype(np.float64),
        np.abs(np.asarray(recon)).astype(np.float64),
    )
    if target.shape != recon.shape or target.ndim != 2:
        raise ValueError(f"metrics need two [H, W] images of one shape; got {target.shape} and {recon.shape}")
    return target, recon


def psnr(target, recon) -> float:
    """PSNR in dB with peak ``max|target|``."""
    target, recon = _magnitudes(target, recon)
    return float(skmetrics.peak_signal_noise_ratio(target, recon, data_range=target.max()))


def psnr_peak(target, recon, peak: float) -> float:
    """PSNR in dB with a fixed ``peak`` (the image format's range: natural images in [0, 1] have
    peak 1, the ISTA-Net+ [80] convention the LDA paper's block CS tables use)."""
    target, recon = np.asarray(target, np.float64), np.asarray(recon, np.float64)
    if target.shape != recon.shape or target.ndim != 2:
        raise ValueError(f"metrics need two [H, W] images of one shape; got {target.shape} and {recon.shape}")
    return float(skmetrics.peak_signal_noise_ratio(target, recon, data_range=peak))


def ssim(target, recon) -> float:
    """SSIM with an 11x11 Gaussian window (sigma 1.5) and ``L = max|target|``."""
    target, recon = _magnitudes(target, recon)
    return float(skmetrics.structural_similarity(target, recon, data_range=target.max(), **SSIM_SETTINGS))


def nmse(target, recon) -> float:
    """``|| |x| - |xhat| ||^2 / ||xhat||^2``."""
    target, recon = _magnitudes(target, recon)
    return float(skmetrics.normalized_root_mse(target, recon, normalization="euclidean") ** 2)


def _tf_magnitudes(target: tf.Tensor, recon: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    return tf.abs(tf.convert_to_tensor(target)), tf.abs(tf.convert_to_tensor(recon))


def psnr_tf(target: tf.Tensor, recon: tf.Tensor) -> tf.Tensor:
    """Batched PSNR ``[B, H, W] -> [B]``."""
    target, recon = _tf_magnitudes(target, recon)
    mse = tf.reduce_mean(tf.square(recon - target), axis=(-2, -1))
    peak = tf.reduce_max(target, axis=(-2, -1))
    return 20.0 * tf.math.log(peak / tf.sqrt(mse)) / tf.math.log(10.0)


def ssim_tf(target: tf.Tensor, recon: tf.Tensor) -> tf.Tensor:
    """Batched SSIM ``[B, H, W] -> [B]``; both images are divided by ``max|target|`` so that the
    per-image range ``L`` becomes ``tf.image.ssim``'s ``max_val = 1`` (SSIM is invariant to that)."""
    target, recon = _tf_magnitudes(target, recon)
    peak = tf.reduce_max(target, axis=(-2, -1), keepdims=True)
    return tf.image.ssim(
        (target / peak)[..., None],
        (recon / peak)[..., None],
        max_val=1.0,
        filter_size=11,
        filter_sigma=1.5,
        k1=0.01,
        k2=0.03,
    )


def nmse_tf(target: tf.Tensor, recon: tf.Tensor) -> tf.Tensor:
    """Batched NMSE ``[B, H, W] -> [B]``."""
    target, recon = _tf_magnitudes(target, recon)
    return tf.reduce_sum(tf.square(recon - target), axis=(-2, -1)) / tf.reduce_sum(
        tf.square(target), axis=(-2, -1)
    )


def volume_metrics(target, recon) -> dict[str, float]:
    """PSNR, SSIM and NMSE of a reconstructed volume ``[slices, H, W]`` as fastMRI's
    ``evaluate.py`` computes them (its leaderboard's conventions, not SPEC 6's per-image ones):
    the peak is the volume's ``max|target|``; PSNR and NMSE are over the whole volume; SSIM is the
    mean over slices of scikit-image's default SSIM (7x7 uniform window, sample covariances) with
    ``data_range`` that peak."""
    target, recon = np.abs(np.asarray(target, np.float64)), np.abs(np.asarray(recon, np.float64))
    if target.shape != recon.shape or target.ndim != 3:
        raise ValueError(
            f"volume metrics need two [S, H, W] volumes of one shape; got {target.shape}, {recon.shape}"
        )
    peak = target.max()
    with np.errstate(divide="ignore"):  # a perfect reconstruction has PSNR inf
        psnr_value = float(skmetrics.peak_signal_noise_ratio(target, recon, data_range=peak))
    return {
        "psnr": psnr_value,
        "ssim": float(
            np.mean([skmetrics.structural_similarity(t, r, data_range=peak) for t, r in zip(target, recon)])
        ),
        "nmse": float(np.sum((target - recon) ** 2) / np.sum(target**2)),
    }
