"""Smoothed ReLU, eq. (19) of the meta paper, and its derivative (used by J_g^H)."""

import tensorflow as tf


def smoothed_relu(x: tf.Tensor, delta: float) -> tf.Tensor:
    """Eq. (19): ``0`` for ``x <= -delta``; ``x^2/(4 delta) + x/2 + delta/4`` for ``|x| < delta``;
    ``x`` for ``x >= delta``. C^1 with a piecewise-constant second derivative."""
    quadratic = x * x / (4.0 * delta) + 0.5 * x + 0.25 * delta
    return tf.where(x >= delta, x, tf.where(x <= -delta, tf.zeros_like(x), quadratic))


def smoothed_relu_derivative(x: tf.Tensor, delta: float) -> tf.Tensor:
    """Derivative of eq. (19): ``0``, ``x/(2 delta) + 1/2``, ``1`` on the same three pieces."""
    linear = x / (2.0 * delta) + 0.5
    return tf.where(x >= delta, tf.ones_like(x), tf.where(x <= -delta, tf.zeros_like(x), linear))
