"""Smoothed l2,1 regulariser ``r_eps(x) = sum_j s_eps(||g_j(x)||)`` (SPEC 2).

Both smoothings act on the per-pixel feature norm ``n_j = ||g_j(x)||`` (the norm over the ``d``
complex channels of pixel ``j``; the TF1 release's normalisation by a sum over all pixels is not
followed):

- ``sqrt``, eq. (5) of the meta paper: ``s_eps(n) = sqrt(n^2 + eps^2) - eps``;
  ``grad r_eps = J_g^H [g_j / sqrt(||g_j||^2 + eps^2)]_j``, eq. (A2).
- ``huber``, eqs. (9)-(10) of the LDA paper and (4.3) of U-LDA: ``n^2 / (2 eps)`` if ``n <= eps``
  else ``n - eps/2``; ``grad r_eps = J_g^H [g_j / max(||g_j||, eps)]_j``.

Both are written through ``n^2`` so that their autodiff derivatives stay finite at ``g_j = 0``
(training differentiates through them). ``eps`` is per sample (``[B]``), since the eps-reduction
rule acts per sample.
"""

from __future__ import annotations

import tensorflow as tf

from lda_tf.checks import check_choice

SMOOTHINGS = ("sqrt", "huber")

# For each smoothing: the constant c with r_eps <= r <= r_eps + c * m * eps (m pixels), used by
# the Lyapunov sequence of Lemma A4 (meta paper) in `lda_tf.loa.solve`.
SMOOTHING_GAP = {"sqrt": 1.0, "huber": 0.5}


def check_smoothing(smoothing: str) -> str:
    return check_choice(smoothing, SMOOTHINGS, "smoothing")


def _squared_feature_norms(features: tf.Tensor) -> tf.Tensor:
    """``||g_j||^2`` per pixel: ``[B, H, W, p*d] -> [B, H, W]``."""
    return tf.reduce_sum(tf.math.square(features), axis=-1)


def _broadcast_eps(eps: tf.Tensor) -> tf.Tensor:
    return tf.reshape(tf.convert_to_tensor(eps, tf.float32), [-1, 1, 1])


def smoothed_l21(features: tf.Tensor, eps: tf.Tensor, smoothing: str) -> tf.Tensor:
    """``r_eps`` per sample from ``g(x)`` ``[B, H, W, p*d]`` and ``eps`` ``[B]`` -> ``[B]``."""
    squared_norms = _squared_feature_norms(features)
    eps = _broadcast_eps(eps)
    if check_smoothing(smoothing) == "sqrt":
        per_pixel = tf.sqrt(squared_norms + eps * eps) - eps
    else:
        inside = squared_norms <= eps * eps
        norms = tf.sqrt(tf.maximum(squared_norms, eps * eps))
        per_pixel = tf.where(inside, squared_norms / (2.0 * eps), norms - 0.5 * eps)
    return tf.reduce_sum(per_pixel, axis=(-2, -1))


def smoothed_l21_cotangent(features: tf.Tensor, eps: tf.Tensor, smoothing: str) -> tf.Tensor:
    """The vector ``[g_j / sqrt(||g_j||^2 + eps^2)]_j`` (sqrt) or ``[g_j / max(||g_j||, eps)]_j``
    (huber) that ``J_g^H`` maps to ``grad r_eps``; same shape as ``features``."""
    squared_norms = _squared_feature_norms(features)
    eps = _broadcast_eps(eps)
    if check_smoothing(smoothing) == "sqrt":
        scale = tf.math.rsqrt(squared_norms + eps * eps)
    else:
        scale = tf.math.rsqrt(tf.maximum(squared_norms, eps * eps))
    return features * scale[..., None]
