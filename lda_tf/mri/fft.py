"""Centred orthonormal 2D DFT on the last two axes (SPEC 1).

``F x = fftshift(fft2(ifftshift(x))) / sqrt(H * W)``: the k-space centre (DC) sits at index
``(H // 2, W // 2)``, so masks look like the papers' figures, and ``F`` is unitary, so ``F^H`` is
both its adjoint and its inverse for any H, W (odd sizes included).
"""

import tensorflow as tf

_AXES = (-2, -1)


def _check_complex(x: tf.Tensor, name: str) -> tf.Tensor:
    x = tf.convert_to_tensor(x)
    if x.dtype != tf.complex64:
        raise TypeError(f"{name} must be complex64 of shape [..., H, W]; got dtype {x.dtype.name}")
    if x.shape.rank is not None and x.shape.rank < 2:
        raise ValueError(f"{name} must have shape [..., H, W]; got shape {x.shape}")
    return x


def _scale(x: tf.Tensor) -> tf.Tensor:
    num_pixels = tf.cast(tf.shape(x)[-2] * tf.shape(x)[-1], tf.float32)
    return tf.cast(tf.math.rsqrt(num_pixels), tf.complex64)


def fft2c(image: tf.Tensor) -> tf.Tensor:
    """Centred orthonormal forward DFT. ``image``: [..., H, W] complex64 -> k-space, same shape."""
    image = _check_complex(image, "image")
    kspace = tf.signal.fft2d(tf.signal.ifftshift(image, axes=_AXES))
    return tf.signal.fftshift(kspace, axes=_AXES) * _scale(image)


def ifft2c(kspace: tf.Tensor) -> tf.Tensor:
    """Centred orthonormal inverse DFT, ``F^H``. ``kspace``: [..., H, W] complex64."""
    kspace = _check_complex(kspace, "kspace")
    image = tf.signal.ifft2d(tf.signal.ifftshift(kspace, axes=_AXES))
    # tf.signal.ifft2d divides by H*W; orthonormal scaling multiplies it back by sqrt(H*W).
    num_pixels = tf.cast(tf.shape(kspace)[-2] * tf.shape(kspace)[-1], tf.float32)
    return tf.signal.fftshift(image, axes=_AXES) * tf.cast(tf.sqrt(num_pixels), tf.complex64)
