"""Centred orthonormal 2D DFT on the last two axes (SPEC 1).

``F x = fftshift(fft2(ifftshift(x))) / sqrt(H * W)``: the k-space centre (DC) sits at index
``(H // 2, W // 2)``, so masks look like the papers' figures, and ``F`` is unitary, so ``F^H`` is
both its adjoint and its inverse for any H, W (odd sizes included).

The shifts and the scale come from the traced static shape where it holds ``H`` and ``W`` (a
run whose images share one size; otherwise they are computed at run time): one ``Roll`` with
constant shifts and one constant instead of :func:`tf.signal.fftshift`'s rank, shape, gather and
``where`` arithmetic. ``A`` and ``A^H`` run several times per phase and the bilevel step
differentiates them twice, so that arithmetic, with the same in the transposed convolutions and
the per-sample choice, was about a sixth of the step's graph (issue 19, goal 3). The values are
the same (the same rolls, the same ``rsqrt`` / ``sqrt`` kernel on the same float32 count).
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


def _num_pixels(x: tf.Tensor) -> tf.Tensor:
    """``H * W`` as float32: a constant where the traced shape knows it (module docstring)."""
    height, width = x.shape[-2:]
    if height is not None and width is not None:
        return tf.constant(height * width, tf.float32)
    return tf.cast(tf.shape(x)[-2] * tf.shape(x)[-1], tf.float32)


def _centred_shift(x: tf.Tensor, inverse: bool = False) -> tf.Tensor:
    """``fftshift`` (``ifftshift`` if ``inverse``) over the last two axes: a roll by ``n // 2``
    (``-(n // 2)``) along each axis of size ``n``, as :func:`tf.signal.fftshift` rolls, with the
    shifts a constant where the traced shape knows them (module docstring)."""
    height, width = x.shape[-2:]
    if height is None or width is None:
        return (tf.signal.ifftshift if inverse else tf.signal.fftshift)(x, axes=_AXES)
    sign = -1 if inverse else 1
    return tf.roll(x, [sign * (height // 2), sign * (width // 2)], axis=list(_AXES))


def fft2c(image: tf.Tensor) -> tf.Tensor:
    """Centred orthonormal forward DFT. ``image``: [..., H, W] complex64 -> k-space, same shape."""
    image = _check_complex(image, "image")
    kspace = tf.signal.fft2d(_centred_shift(image, inverse=True))
    return _centred_shift(kspace) * tf.cast(tf.math.rsqrt(_num_pixels(image)), tf.complex64)


def ifft2c(kspace: tf.Tensor) -> tf.Tensor:
    """Centred orthonormal inverse DFT, ``F^H``. ``kspace``: [..., H, W] complex64."""
    kspace = _check_complex(kspace, "kspace")
    image = tf.signal.ifft2d(_centred_shift(kspace, inverse=True))
    # tf.signal.ifft2d divides by H*W; orthonormal scaling multiplies it back by sqrt(H*W).
    return _centred_shift(image) * tf.cast(tf.sqrt(_num_pixels(kspace)), tf.complex64)
