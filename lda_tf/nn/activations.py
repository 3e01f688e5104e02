"""Smoothed ReLU, eq. (19) of the meta paper, and its derivative (used by J_g^H).

Eq. (19) is ``0`` for ``x <= -delta``, ``x^2/(4 delta) + x/2 + delta/4`` for ``|x| < delta`` and
``x`` for ``x >= delta``. With ``c = clip(x, -delta, delta)`` the same function is

    s(x) = (c + delta)^2 / (4 delta) + relu(x - delta),    s'(x) = (c + delta) / (2 delta):

for ``x >= delta`` the first term is ``delta`` and the second ``x - delta``; for ``x <= -delta``
both vanish; in between the second vanishes and the first is the quadratic. Written this way
each is a few fused element-wise kernels instead of two nested ``tf.where`` selections with their
branch tensors, which measured 2.6x (value) and 5x (derivative) faster on a 2-core CPU
(``benchmarks/README.md``), and its autodiff (second order in bilevel training) is lighter too.
"""

import tensorflow as tf


def smoothed_relu(x: tf.Tensor, delta: float) -> tf.Tensor:
    """Eq. (19), C^1 with a piecewise-constant second derivative (module docstring)."""
    return tf.square(tf.clip_by_value(x, -delta, delta) + delta) * (0.25 / delta) + tf.nn.relu(x - delta)


def smoothed_relu_derivative(x: tf.Tensor, delta: float) -> tf.Tensor:
    """Derivative of eq. (19): ``0``, ``x/(2 delta) + 1/2``, ``1`` on the three pieces."""
    return (tf.clip_by_value(x, -delta, delta) + delta) * (0.5 / delta)
