"""Single-coil Cartesian-grid MRI forward model ``A = P F`` (SPEC 1).

Shapes: images and k-space are ``[B, H, W] complex64``; a mask is ``[H, W]`` or ``[B, H, W]``
(binary, float32 or bool), broadcast over the batch. ``y`` is stored on the full grid with zeros
off the mask, and every operator masks it again, so values off the mask are ignored consistently.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from lda_tf.math import squared_norm
from lda_tf.mri.fft import fft2c, ifft2c


def check_kspace_and_mask(kspace: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Validate and convert ``kspace`` [B, H, W] complex64 and ``mask`` [H, W] or [B, H, W].

    Raises ``ValueError``/``TypeError`` naming the argument and the mismatch. Static shapes are
    checked when known (they are inside ``tf.function`` traces with fixed input signatures).
    """
    kspace = tf.convert_to_tensor(kspace)
    if kspace.dtype != tf.complex64:
        raise TypeError(f"kspace must be complex64 [B, H, W]; got dtype {kspace.dtype.name}")
    if kspace.shape.rank is not None and kspace.shape.rank != 3:
        raise ValueError(f"kspace must have shape [B, H, W]; got shape {kspace.shape}")
    mask = tf.convert_to_tensor(mask)
    if mask.dtype == tf.bool or mask.dtype.is_integer or mask.dtype == tf.float64:
        mask = tf.cast(mask, tf.float32)
    if mask.dtype != tf.float32:
        raise TypeError(f"mask must be a binary float32 or bool array; got dtype {mask.dtype.name}")
    if mask.shape.rank is not None and mask.shape.rank not in (2, 3):
        raise ValueError(f"mask must have shape [H, W] or [B, H, W]; got shape {mask.shape}")
    if mask.shape.rank is not None and kspace.shape.rank is not None:
        image_shape = kspace.shape[-2:]
        if not mask.shape[-2:].is_compatible_with(image_shape):
            raise ValueError(f"mask shape {mask.shape} does not match the k-space image shape {image_shape}")
        if mask.shape.rank == 3 and not mask.shape[:1].is_compatible_with(kspace.shape[:1]):
            raise ValueError(
                f"mask batch size {mask.shape[0]} does not match the k-space batch size {kspace.shape[0]}"
            )
    return kspace, mask


class MRIOperator(NamedTuple):
    """``A = P F`` with the measured data ``y``; ``f(x) = 1/2 ||P F x - y||^2`` (SPEC 1).

    Build it with :meth:`create`, which validates shapes.
    """

    mask: tf.Tensor  # [H, W] or [B, H, W] float32 in {0, 1}
    kspace: tf.Tensor  # y, [B, H, W] complex64

    @classmethod
    def create(cls, kspace: tf.Tensor, mask: tf.Tensor) -> MRIOperator:
        kspace, mask = check_kspace_and_mask(kspace, mask)
        return cls(mask=mask, kspace=kspace)

    def _apply_mask(self, kspace: tf.Tensor) -> tf.Tensor:
        # tf.complex, not tf.cast: the same gradient (the real part), without tf.cast's warning when
        # the mask is differentiated (per-phase recomputation differentiates the data term)
        mask = tf.convert_to_tensor(self.mask, tf.float32)
        return kspace * tf.complex(mask, tf.zeros_like(mask))

    def forward(self, image: tf.Tensor) -> tf.Tensor:
        """``A x = P F x``: [B, H, W] image -> [B, H, W] k-space, zero off the mask."""
        return self._apply_mask(fft2c(image))

    def adjoint(self, kspace: tf.Tensor) -> tf.Tensor:
        """``A^H k = F^H P k``: [B, H, W] k-space -> [B, H, W] image."""
        return ifft2c(self._apply_mask(kspace))

    def zero_filled(self) -> tf.Tensor:
        """Zero-filled start ``x0 = A^H y = F^H P y`` (SPEC 1)."""
        return self.adjoint(self.kspace)

    def residual(self, image: tf.Tensor) -> tf.Tensor:
        """``P F x - y`` (restricted to the mask)."""
        return self._apply_mask(fft2c(image) - self.kspace)

    def data_fidelity(self, image: tf.Tensor) -> tf.Tensor:
        """``f(x) = 1/2 ||P F x - y||^2`` per sample -> [B] float32."""
        return 0.5 * squared_norm(self.residual(image))

    def data_fidelity_gradient(self, image: tf.Tensor) -> tf.Tensor:
        """``grad f(x) = F^H P (P F x - y)`` (P^H P = P for a binary mask) -> [B, H, W]."""
        return ifft2c(self._apply_mask(self.residual(image)))


def add_complex_noise(kspace: tf.Tensor, mask: tf.Tensor, snr_db: float, seed: int | tf.Tensor) -> tf.Tensor:
    """``y + n`` with circular complex Gaussian ``n`` on the sampled entries at a given SNR.

    SNR is per sample: ``10 log10(mean_{sampled} |y|^2 / sigma^2)`` with ``E|n|^2 = sigma^2``
    (``sigma^2 / 2`` in each of the real and imaginary parts). Deterministic in ``seed`` (an int,
    or a shape-[2] integer tensor as ``tf.random.stateless_normal`` takes).
    """
    kspace, mask = check_kspace_and_mask(kspace, mask)
    mask = tf.broadcast_to(mask, tf.shape(kspace))
    num_sampled = tf.maximum(tf.reduce_sum(mask, axis=(-2, -1)), 1.0)
    signal_power = squared_norm(kspace * tf.cast(mask, tf.complex64)) / num_sampled
    sigma = tf.sqrt(signal_power / 10.0 ** (snr_db / 10.0))[:, None, None]
    seed = tf.stack([seed, 0]) if isinstance(seed, int) else tf.cast(seed, tf.int64)
    noise_parts = tf.random.stateless_normal(
        tf.concat([[2], tf.shape(kspace)], axis=0), seed=seed, dtype=tf.float32
    )
    noise = tf.complex(noise_parts[0], noise_parts[1]) * tf.cast(sigma / tf.sqrt(2.0), tf.complex64)
    return kspace + noise * tf.cast(mask, tf.complex64)


def simulate_kspace(
    target: tf.Tensor, mask: tf.Tensor, snr_db: float | None = None, seed: int = 0
) -> tf.Tensor:
    """``y = P F xhat (+ n)`` from a real or complex ``[B, H, W]`` ground truth (SPEC 1)."""
    target = tf.convert_to_tensor(target)
    if not target.dtype.is_complex:
        target = tf.complex(tf.cast(target, tf.float32), tf.zeros_like(target, dtype=tf.float32))
    kspace = fft2c(tf.cast(target, tf.complex64))
    kspace, mask = check_kspace_and_mask(kspace, mask)
    kspace = kspace * tf.cast(mask, tf.complex64)
    if snr_db is None:
        return kspace
    return add_complex_noise(kspace, mask, snr_db, seed)
