"""Per-sample and global squared norms against NumPy; per-sample broadcasting; the pairwise fan-out
against closed forms; the complex <-> channel bitcasts against their definition (real and imaginary
parts) and its derivatives."""

import numpy as np
import pytest
import tensorflow as tf

from lda_tf.math import (
    PairwiseFanOut,
    broadcastable_per_sample,
    channels_to_complex,
    complex_to_channels,
    global_squared_norm,
    squared_norm,
)


@pytest.mark.parametrize("shape", [(3, 5, 4), (2, 3, 3, 7)])
@pytest.mark.parametrize("complex_valued", [False, True])
def test_squared_norm_is_per_sample_sum_of_squared_moduli(shape, complex_valued):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    if complex_valued:
        x = x + 1j * rng.standard_normal(shape)
    x = x.astype(np.complex64 if complex_valued else np.float32)
    expected = np.array([np.linalg.norm(sample.ravel()) ** 2 for sample in x])
    result = squared_norm(tf.constant(x))
    assert result.dtype == tf.float32
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-5)


def test_squared_norm_gradient_is_finite_at_zero():
    x = tf.zeros([2, 3, 3], tf.complex64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = tf.reduce_sum(squared_norm(x))
    assert np.all(np.isfinite(tape.gradient(value, x).numpy()))


@pytest.mark.parametrize("rank_known", [True, False])
def test_broadcastable_per_sample_scales_each_sample_of_any_rank(rank_known):
    values = tf.constant([2.0, -1.0, 0.5])
    like = tf.ones((3, 2, 4, 5))
    spec = tf.TensorSpec([3, 2, 4, 5] if rank_known else None, tf.float32)
    broadcast = tf.function(broadcastable_per_sample, input_signature=[tf.TensorSpec([3]), spec])
    scaled = (broadcast(values, like) * like).numpy()
    np.testing.assert_array_equal(scaled, values.numpy()[:, None, None, None] * np.ones((3, 2, 4, 5)))


def test_global_squared_norm_sums_over_all_tensors():
    rng = np.random.default_rng(1)
    tensors = [rng.standard_normal(shape).astype(np.float32) for shape in [(3,), (2, 4), ()]]
    expected = sum(float(np.sum(t.astype(np.float64) ** 2)) for t in tensors)
    np.testing.assert_allclose(
        global_squared_norm([tf.constant(t) for t in tensors]).numpy(), expected, rtol=1e-5
    )


def _add_n_arities(graph: tf.Graph) -> list[int]:
    return [len(op.inputs) for op in graph.get_operations() if op.type == "AddN"]


def test_pairwise_fan_out_keeps_values_and_sums_gradients_two_at_a_time():
    """Six uses ``c_i * k``: the gradient is ``sum_i c_i`` (closed form), every use sees ``k``, and
    the traced gradient sums two terms at a time; the plain six uses give one six-input AddN."""
    kernel = tf.constant(np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4))
    scales = [0.5, -1.25, 2.0, 3.5, -0.75, 1.5]

    def loss(fan_out: bool):
        with tf.GradientTape() as tape:
            tape.watch(kernel)
            uses = PairwiseFanOut([kernel]) if fan_out else None
            copies = [uses.take()[0] if fan_out else kernel for _ in scales]
            value = sum(scale * tf.reduce_sum(copy) for scale, copy in zip(scales, copies))
        return copies, tape.gradient(value, kernel)

    for fan_out in (True, False):
        copies, gradient = loss(fan_out)
        for copy in copies:
            np.testing.assert_array_equal(copy.numpy(), kernel.numpy())
        np.testing.assert_allclose(gradient.numpy(), np.full((3, 4), sum(scales)), rtol=1e-6)
    paired = tf.function(lambda: loss(True)[1]).get_concrete_function().graph
    plain = tf.function(lambda: loss(False)[1]).get_concrete_function().graph
    assert _add_n_arities(plain) == [6]  # what autodiff does without the fan-out
    assert _add_n_arities(paired) and max(_add_n_arities(paired)) == 2


def _stacked_channels(image):
    """The definition: the real part and the imaginary part as two channels."""
    return tf.stack([tf.math.real(image), tf.math.imag(image)], axis=-1)


def _complex_from_stacked(channels):
    return tf.complex(channels[..., 0], channels[..., 1])


def _derivatives(image, weights, to_channels, to_complex):
    """First and second derivatives of a nonlinear function of both conversions."""
    with tf.GradientTape() as outer:
        outer.watch(image)
        with tf.GradientTape() as inner:
            inner.watch(image)
            channels = to_channels(image)
            value = tf.reduce_sum(tf.sin(channels) * weights) + tf.reduce_sum(
                tf.abs(to_complex(channels * channels)) ** 2
            )
        gradient = inner.gradient(value, image)
        curvature = tf.reduce_sum(tf.math.real(gradient * tf.math.conj(gradient)))
    return gradient, outer.gradient(curvature, image)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_channel_bitcasts_are_the_real_and_imaginary_parts(dtype):
    rng = np.random.default_rng(2)
    image = (rng.standard_normal((2, 3, 5)) + 1j * rng.standard_normal((2, 3, 5))).astype(dtype)
    channels = complex_to_channels(tf.constant(image))
    np.testing.assert_array_equal(channels.numpy(), np.stack([image.real, image.imag], axis=-1))
    np.testing.assert_array_equal(channels_to_complex(channels).numpy(), image)
    with pytest.raises(ValueError, match="last axis of 2"):
        channels_to_complex(tf.zeros([2, 3, 4]))


def test_complex_channel_bitcasts_differentiate_as_their_definition_to_second_order():
    """Bitcast has no gradient in TensorFlow (it would give None); the custom gradients must give
    the definition's: closed form ``dL/dRe + i dL/dIm`` for a linear L, and the same first and
    second derivatives as the stack/complex formulation for a nonlinear one."""
    rng = np.random.default_rng(3)
    image = tf.constant(
        (rng.standard_normal((2, 4, 3)) + 1j * rng.standard_normal((2, 4, 3))).astype(np.complex64)
    )
    weights = tf.constant(rng.standard_normal((2, 4, 3, 2)).astype(np.float32))

    with tf.GradientTape() as tape:
        tape.watch(image)
        linear = tf.reduce_sum(weights * complex_to_channels(image))
    np.testing.assert_array_equal(
        tape.gradient(linear, image).numpy(), weights[..., 0].numpy() + 1j * weights[..., 1].numpy()
    )

    bitcast = _derivatives(image, weights, complex_to_channels, channels_to_complex)
    definition = _derivatives(image, weights, _stacked_channels, _complex_from_stacked)
    for ours, reference in zip(bitcast, definition):
        np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-5, atol=1e-5)


def test_complex_channel_conversions_compile_with_xla():
    # XLA's Bitcast refuses complex types: under jit_compile the conversions must still give the
    # real and imaginary parts, and the definition's first and second derivatives.
    rng = np.random.default_rng(4)
    image = tf.constant(
        (rng.standard_normal((2, 4, 3)) + 1j * rng.standard_normal((2, 4, 3))).astype(np.complex64)
    )
    weights = tf.constant(rng.standard_normal((2, 4, 3, 2)).astype(np.float32))
    round_trip = tf.function(
        lambda x: (complex_to_channels(x), channels_to_complex(complex_to_channels(x))), jit_compile=True
    )
    channels, back = round_trip(image)
    np.testing.assert_array_equal(channels.numpy(), np.stack([image.numpy().real, image.numpy().imag], -1))
    np.testing.assert_array_equal(back.numpy(), image.numpy())
    compiled = tf.function(
        lambda: _derivatives(image, weights, complex_to_channels, channels_to_complex), jit_compile=True
    )()
    definition = _derivatives(image, weights, _stacked_channels, _complex_from_stacked)
    for ours, reference in zip(compiled, definition):
        np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-5, atol=1e-5)
