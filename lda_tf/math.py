"""Per-sample norms and small tensor helpers shared by the measurement models, the unrolled
network and training. Imports only TensorFlow.

A batch is ``[B, ...]``: the first axis is the sample, every norm here is taken per sample (or,
for :func:`global_squared_norm`, over a whole list of tensors).
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf
from tensorflow.python.ops import control_flow_util


def squared_norm(x: tf.Tensor) -> tf.Tensor:
    """Per-sample ``||x||^2 = sum |x_j|^2`` over every axis but the first: ``[B, ...]`` real or
    complex -> ``[B]`` real.

    The data terms ``f(x) = 1/2 ||A x - y||^2`` (SPEC 1; LDA paper 4.2.1), the tests
    ``||grad phi(x)|| <= a ||u - x||`` and ``phi(v) - phi(x) <= -(1/a) ||v - x||^2`` of Algorithm 1
    (meta paper, lines 5 and 8-12), its eps rule (line 15) and the learned-sampling loss
    ``||A~ A xhat - xhat||^2`` (LDA paper 4.2.2) use it. For a complex tensor it is
    written as ``re^2 + im^2`` (no ``|x|``, whose gradient is undefined at 0).
    """
    x = tf.convert_to_tensor(x)
    if x.dtype.is_complex:
        squares = tf.math.square(tf.math.real(x)) + tf.math.square(tf.math.imag(x))
    else:
        squares = tf.math.square(x)
    rank = squares.shape.rank
    axes = list(range(1, rank)) if rank is not None else tf.range(1, tf.rank(squares))
    return tf.reduce_sum(squares, axis=axes)


def traced_shape(x: tf.Tensor) -> list:
    """``x``'s shape as a list: each dimension the traced static size (an ``int``) where known, else
    its run-time size (a scalar tensor). Fully known, it becomes one constant where it is used
    (a ``Reshape`` or transposed convolution's target); ``tf.shape`` would put shape and slicing
    ops in the graph for every use, in every phase and derivative order of the bilevel step.
    """
    static = x.shape.as_list()
    if None not in static:
        return static
    dynamic = tf.shape(x)
    return [dynamic[axis] if size is None else size for axis, size in enumerate(static)]


def broadcastable_per_sample(values: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """``[B]`` per-sample values -> ``[B, 1, ..., 1]``, broadcastable against ``like`` ``[B, ...]``.

    With ``like``'s rank known when traced (always in the package) the target shape is a constant:
    one ``Reshape`` instead of the rank and shape arithmetic a dynamic shape needs, which the
    bilevel step's graph would hold for every use in every phase and derivative order.
    """
    rank = like.shape.rank
    if rank is not None:
        return tf.reshape(values, [-1] + [1] * (rank - 1))
    return tf.reshape(values, tf.concat([tf.shape(values), tf.ones([tf.rank(like) - 1], tf.int32)], 0))


def global_squared_norm(tensors: Sequence[tf.Tensor]) -> tf.Tensor:
    """``sum_k ||t_k||^2`` over a list of real tensors (all entries of all of them) -> scalar.

    Algorithm 2's stop criterion ``||grad_theta Ltilde||^2 + ||grad_omega Ltilde||^2`` (meta paper
    line 5) and the penalty ``lambda/2 ||grad_theta L(B_tr)||^2`` of eq. (17) take it over lists of
    gradients; it is not per sample.
    """
    return tf.add_n([tf.reduce_sum(tf.square(tensor)) for tensor in tensors])


def _compiled_by_xla() -> bool:
    """Whether the graph being traced is compiled by XLA (``tf.function(jit_compile=True)``, Keras's
    ``jit_compile``, on by default with a GPU where op determinism is off): TensorFlow's own test
    (``control_flow_util``, not in its public API), which its ops use to choose XLA-compatible
    constructions."""
    return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


def complex_to_channels(image: tf.Tensor) -> tf.Tensor:
    """``[B, H, W]`` complex -> ``[B, H, W, 2]`` real (real part, imaginary part).

    A ``tf.bitcast``: complex64 is stored as (real, imaginary) float32 pairs, so the channels are
    the image's own memory, with no copy (a ``tf.stack`` of ``real`` and ``imag`` cost about 5 % of
    a forward pass; issue 19, goal 4). ``Bitcast`` has no gradient in TensorFlow, hence the custom
    one, TensorFlow's convention for a complex input (``dL/dRe + i dL/dIm``, what the stack's
    gradient gives): the inverse bitcast, itself differentiable (second order in bilevel training).
    Under XLA, whose ``Bitcast`` refuses complex types and which fuses the copy away anyway, it is
    the ``tf.stack`` of ``real`` and ``imag`` (the same values and gradients).
    """
    image = tf.convert_to_tensor(image)
    if _compiled_by_xla():
        return tf.stack([tf.math.real(image), tf.math.imag(image)], axis=-1)
    return _bitcast_to_channels(image)


def channels_to_complex(channels: tf.Tensor) -> tf.Tensor:
    """``[B, H, W, 2]`` real -> ``[B, H, W]`` complex; the inverse of :func:`complex_to_channels`
    (also a bitcast, whose gradient is :func:`complex_to_channels`; under XLA ``tf.complex`` of the
    two channels)."""
    channels = tf.convert_to_tensor(channels)
    if channels.shape[-1] != 2:
        raise ValueError(
            f"channels_to_complex needs a last axis of 2 (real, imaginary); got {channels.shape}"
        )
    if _compiled_by_xla():
        return tf.complex(channels[..., 0], channels[..., 1])
    return _bitcast_to_complex(channels)


@tf.custom_gradient
def _bitcast_to_channels(image: tf.Tensor) -> tf.Tensor:
    return tf.bitcast(image, image.dtype.real_dtype), channels_to_complex


@tf.custom_gradient
def _bitcast_to_complex(channels: tf.Tensor) -> tf.Tensor:
    complex_dtype = tf.complex64 if channels.dtype == tf.float32 else tf.complex128
    return tf.bitcast(channels, complex_dtype), complex_to_channels


class PairwiseFanOut:
    """Hands out the same tensors once per use so that their gradients are summed two at a time,
    in an order fixed by the graph rather than by the runtime.

    Autodiff sums the gradients of a tensor's ``n`` uses with one ``AddN`` of ``n`` inputs. With
    oneDNN on (TensorFlow's CPU default), the rounding of such a sum was found to vary from run
    to run for ``n = 6`` (the release's ``g`` kernels; docs/reproducibility.md), although its
    inputs were bit-identical. Here every :meth:`take` splits the chain ``k_0 -> (use_1, k_1) ->
    (use_2, k_2) -> ...`` with identities, so each tensor has exactly two consumers and every
    aggregation is ``a + b``, which IEEE rounds the same in either order. The forward values are
    unchanged (identities); only the gradient's summation order becomes fixed:
    ``g_use_1 + (g_use_2 + (g_use_3 + ...))``.
    """

    def __init__(self, tensors: Sequence[tf.Tensor]):
        self._rest = list(tensors)

    def take(self) -> list[tf.Tensor]:
        """The tensors, for one use (one convolution or one transposed convolution each)."""
        use = [tf.identity(tensor) for tensor in self._rest]
        self._rest = [tf.identity(tensor) for tensor in self._rest]
        return use
