"""Training loss, eq. (13) of the meta paper, per sample."""

import tensorflow as tf


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
