"""Shared test helpers: quiet TensorFlow, deterministic random data."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
import tensorflow as tf


def random_complex(shape, seed: int) -> tf.Tensor:
    rng = np.random.default_rng(seed)
    return tf.constant((rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64))


def inner(a: tf.Tensor, b: tf.Tensor) -> complex:
    """Complex inner product <a, b> = sum conj(a) b in float64."""
    a, b = np.asarray(a, np.complex128), np.asarray(b, np.complex128)
    return complex(np.vdot(a.ravel(), b.ravel()))


def real_inner(a: tf.Tensor, b: tf.Tensor) -> float:
    """Real inner product Re <a, b>: the one under which gradients of real functions are taken."""
    return inner(a, b).real


@pytest.fixture(autouse=True)
def _seed():
    tf.random.set_seed(0)
    np.random.seed(0)
