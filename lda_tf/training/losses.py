"""Per-sample training losses ``[B]``: eq. (13) of the meta paper (or the TF1 release's pixel mean)
and U-LDA's (3.2a)."""

import tensorflow as tf

from lda_tf.checks import check_choice
from lda_tf.metrics import ssim_tf

LOSSES = ("half_squared", "mse_ssim")
REDUCTIONS = ("sum", "mean")


def squared_error(recon: tf.Tensor, target: tf.Tensor, magnitude: bool = True) -> tf.Tensor:
    """Per-pixel squared error ``[B, H, W]``: of the magnitudes ``(|x| - xhat)^2`` (as the authors'
    releases train), or with ``magnitude=False`` of the complex (or real) images."""
    target, recon = tf.convert_to_tensor(target), tf.convert_to_tensor(recon)
    if magnitude:
        return tf.square(tf.abs(recon) - tf.abs(target))
    if not recon.dtype.is_complex:  # real images (natural-image compressed sensing)
        return tf.square(recon - tf.cast(target, recon.dtype))
    if not target.dtype.is_complex:
        target = tf.complex(tf.cast(target, tf.float32), tf.zeros_like(target, dtype=tf.float32))
    residual = recon - target
    return tf.square(tf.math.real(residual)) + tf.square(tf.math.imag(residual))


def reconstruction_loss(
    recon: tf.Tensor, target: tf.Tensor, magnitude: bool = True, reduction: str = "sum"
) -> tf.Tensor:
    """``1/2 || |x_T| - xhat ||^2`` per sample (``[B]``; the magnitude, as the authors' release
    trains); with ``magnitude=False`` the complex form ``1/2 || x_T - xhat ||^2`` of eq. (13),
    which for real images is the LDA paper's ``1/2 || x_theta - xhat ||^2`` (section 1).

    ``reduction="mean"``: the mean of the squared error over the pixels, without the 1/2, which is
    what the TF1 release's script computes per sample (``tf.losses.mean_squared_error`` of one
    sample, lines 306-307 and 320-327 of ``recon_meta_Journal_of_Imaging.py``)."""
    check_choice(reduction, REDUCTIONS, "loss_reduction")
    error = squared_error(recon, target, magnitude)
    if reduction == "mean":
        return tf.reduce_mean(error, axis=(-2, -1))
    return 0.5 * tf.reduce_sum(error, axis=(-2, -1))


def mse_ssim_loss(
    recon: tf.Tensor, target: tf.Tensor, ssim_weight: float = 0.01, reduction: str = "mean"
) -> tf.Tensor:
    """U-LDA's upper-level loss (3.2a) per sample (``[B]``): ``||x - xhat||^2 - alpha S(x, xhat)``
    on magnitudes, with ``S`` the SSIM of :func:`lda_tf.metrics.ssim_tf` (Wang et al., Gaussian
    11x11, differentiable through ``tf.image.ssim``) and ``alpha = ssim_weight`` (0.01, Table 5).

    Decision: ``reduction="mean"`` (default) averages the squared error over pixels, so that both
    terms are of order one and ``alpha`` matters (with the per-image sum, the SSIM term's gradient
    is ~1e-6 of the squared error's at ``alpha = 0.01``, which cannot explain Table 5);
    ``"sum"`` is the literal ``||.||^2``."""
    check_choice(reduction, REDUCTIONS, "loss_reduction")
    reduce = tf.reduce_mean if reduction == "mean" else tf.reduce_sum
    return reduce(squared_error(recon, target), axis=(-2, -1)) - ssim_weight * ssim_tf(target, recon)
