"""Reconstructions that need no training, the anchor rows of every results table.

- Zero filling: ``x = F^H P y`` (``MRIOperator.zero_filled``).
- Total variation (TV): the classical compressed-sensing MRI baseline (Lustig et al. 2007),

      min_x  1/2 ||P F x - y||^2 + weight * TV(x),   TV(x) = sum_pixels sqrt(|D_h x|^2 + |D_v x|^2),

  the isotropic TV of the complex image (forward differences, zero at the last row/column, as
  ``skimage.restoration.denoise_tv_chambolle``), solved by the primal-dual algorithm of Chambolle
  and Pock (2011, Algorithm 1) with ``K = D``, ``||D||^2 <= 8``, ``sigma = tau = 1/sqrt(8)``.
  Both proximal maps are exact: the data term's is diagonal in k-space because ``F`` is unitary,
  ``prox_{tau f}(v) = F^H [(F v + tau P y) / (1 + tau P)]``, and the conjugate of the TV term is the
  indicator of ``{p : |p_pixel| <= weight}``, whose prox is the pointwise projection.

Decision (the paper has no non-learned row): ``weight`` is chosen per task from
:data:`TV_WEIGHTS` by the best mean PSNR on the validation split (:func:`select_tv_weight`), as a
researcher tuning a baseline fairly would, and reported with the table. Images are max-normalised
(SPEC 5), so one grid serves every dataset.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from lda_tf.metrics import psnr_tf
from lda_tf.mri.fft import fft2c, ifft2c
from lda_tf.mri.measurement import as_mri_inputs
from lda_tf.mri.operators import MRIOperator, check_kspace_and_mask

TV_WEIGHTS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
TV_ITERATIONS = 200
_STEP = 1.0 / np.sqrt(8.0)  # sigma = tau, sigma tau ||D||^2 <= 1


def gradient(image: tf.Tensor) -> tf.Tensor:
    """Forward differences ``D x`` of ``[B, H, W]`` -> ``[B, H, W, 2]`` (vertical, horizontal),
    zero in the last row / column."""
    vertical = tf.concat([image[:, 1:] - image[:, :-1], tf.zeros_like(image[:, :1])], axis=1)
    horizontal = tf.concat([image[:, :, 1:] - image[:, :, :-1], tf.zeros_like(image[:, :, :1])], axis=2)
    return tf.stack([vertical, horizontal], axis=-1)


def divergence(field: tf.Tensor) -> tf.Tensor:
    """``-D^H p`` of ``[B, H, W, 2]`` -> ``[B, H, W]``, so that ``<D x, p> = -<x, div p>``."""

    def backward(component: tf.Tensor, axis: int) -> tf.Tensor:
        size = tf.shape(component)[axis]  # dynamic: the traced shapes may be relaxed to None
        first = tf.gather(component, [0], axis=axis)
        middle = tf.gather(component, tf.range(1, size - 1), axis=axis) - tf.gather(
            component, tf.range(0, size - 2), axis=axis
        )
        last = -tf.gather(component, [size - 2], axis=axis)
        return tf.concat([first, middle, last], axis=axis)

    return backward(field[..., 0], 1) + backward(field[..., 1], 2)


def total_variation(image: tf.Tensor) -> tf.Tensor:
    """Isotropic ``TV(x)`` per sample, ``[B]``."""
    return tf.reduce_sum(tf.norm(tf.abs(gradient(image)), axis=-1), axis=(1, 2))


def tv_objective(kspace: tf.Tensor, mask: tf.Tensor, image: tf.Tensor, weight: float) -> tf.Tensor:
    """``1/2 ||P F x - y||^2 + weight TV(x)`` per sample."""
    return MRIOperator.create(kspace, mask).data_fidelity(image) + weight * total_variation(image)


@tf.function(reduce_retracing=True)
def _primal_dual(kspace: tf.Tensor, mask: tf.Tensor, weight: tf.Tensor, iterations: tf.Tensor) -> tf.Tensor:
    mask = tf.cast(tf.broadcast_to(mask, tf.shape(kspace)), tf.complex64)
    measured = mask * kspace
    tau = tf.constant(_STEP, tf.complex64)
    denominator = 1.0 + tau * mask

    def prox_data(point):
        return ifft2c((fft2c(point) + tau * measured) / denominator)

    def project(dual):  # onto {|p_pixel| <= weight}: |p_pixel|^2 = sum over directions of |p|^2
        magnitude = tf.sqrt(tf.reduce_sum(tf.square(tf.abs(dual)), axis=-1, keepdims=True))
        return dual / tf.cast(tf.maximum(1.0, magnitude / weight), tf.complex64)

    def step(count, image, extrapolated, dual):
        dual = project(dual + tau * gradient(extrapolated))
        updated = prox_data(image + tau * divergence(dual))
        return count + 1, updated, 2.0 * updated - image, dual

    start = ifft2c(measured)
    dual = tf.zeros(tf.concat([tf.shape(kspace), [2]], axis=0), tf.complex64)
    _, image, _, _ = tf.while_loop(lambda i, *__: i < iterations, step, (tf.constant(0), start, start, dual))
    return image


def tv_reconstruction(kspace, mask, weight: float, iterations: int = TV_ITERATIONS) -> tf.Tensor:
    """TV-regularised reconstruction ``[B, H, W] complex64`` (module docstring), ``iterations``
    primal-dual steps from the zero-filled image."""
    if weight <= 0:
        raise ValueError(f"TV weight must be positive; got {weight}")
    kspace, mask = check_kspace_and_mask(kspace, mask)
    return _primal_dual(kspace, mask, tf.constant(weight, tf.float32), tf.constant(iterations))


def select_tv_weight(batches: tf.data.Dataset, weights=TV_WEIGHTS, iterations: int = TV_ITERATIONS) -> float:
    """The weight of ``weights`` with the best mean PSNR over ``batches`` of
    ``(MRIInputs, target)`` (one task's validation images)."""
    batches = [(as_mri_inputs(inputs), target) for inputs, target in batches]
    scores = []
    for weight in weights:
        values = [
            psnr_tf(target, tv_reconstruction(inputs.kspace, inputs.mask, weight, iterations))
            for inputs, target in batches
        ]
        scores.append(float(tf.reduce_mean(tf.concat(values, axis=0))))
    return float(weights[int(np.argmax(scores))])
