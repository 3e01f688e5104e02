"""Training loss, eq. (13) of the meta paper, per sample."""

import tensorflow as tf

from lda_tf.checks import check_choice

REDUCTIONS = ("sum", "mean")


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
    target, recon = tf.convert_to_tensor(target), tf.convert_to_tensor(recon)
    if magnitude:
        squared_error = tf.square(tf.abs(recon) - tf.abs(target))
    elif not recon.dtype.is_complex:  # real images (natural-image compressed sensing)
        squared_error = tf.square(recon - tf.cast(target, recon.dtype))
    else:
        if not target.dtype.is_complex:
            target = tf.complex(tf.cast(target, tf.float32), tf.zeros_like(target, dtype=tf.float32))
        residual = recon - target
        squared_error = tf.square(tf.math.real(residual)) + tf.square(tf.math.imag(residual))
    if reduction == "mean":
        return tf.reduce_mean(squared_error, axis=(-2, -1))
    return 0.5 * tf.reduce_sum(squared_error, axis=(-2, -1))
