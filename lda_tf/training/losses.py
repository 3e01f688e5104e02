"""Training losses per sample: eq. (13) of the meta paper; U-LDA's (3.2a)."""

import tensorflow as tf

from lda_tf.checks import check_choice
from lda_tf.metrics import ssim_tf


def reconstruction_loss(recon: tf.Tensor, target: tf.Tensor, magnitude: bool = True) -> tf.Tensor:
    """``1/2 || |x_T| - xhat ||^2`` per sample (``[B]``), as the authors' release trains; with
    ``magnitude=False`` the complex form ``1/2 || x_T - xhat ||^2`` of eq. (13), which for real
    images is the LDA paper's ``1/2 || x_theta - xhat ||^2`` (section 1)."""
    target, recon = tf.convert_to_tensor(target), tf.convert_to_tensor(recon)
    if magnitude:
        residual = tf.abs(recon) - tf.abs(target)
        return 0.5 * tf.reduce_sum(tf.square(residual), axis=(-2, -1))
    if not recon.dtype.is_complex:  # real images (natural-image compressed sensing)
        return 0.5 * tf.reduce_sum(tf.square(recon - tf.cast(target, recon.dtype)), axis=(-2, -1))
    target = (
        tf.complex(tf.cast(target, tf.float32), tf.zeros_like(target, dtype=tf.float32))
        if not target.dtype.is_complex
        else target
    )
    residual = recon - target
    return 0.5 * tf.reduce_sum(
        tf.square(tf.math.real(residual)) + tf.square(tf.math.imag(residual)), axis=(-2, -1)
    )


LOSSES = ("half_squared", "mse_ssim")
LOSS_REDUCTIONS = ("mean", "sum")


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
    check_choice(reduction, LOSS_REDUCTIONS, "loss_reduction")
    residual = tf.abs(tf.convert_to_tensor(recon)) - tf.abs(tf.convert_to_tensor(target))
    reduce = tf.reduce_mean if reduction == "mean" else tf.reduce_sum
    return reduce(tf.square(residual), axis=(-2, -1)) - ssim_weight * ssim_tf(target, recon)
