import numpy as np
import pytest
import tensorflow as tf
from scipy.signal import correlate2d

from lda_tf.nn import BlockConv2D
from tests.conftest import real_inner


def _stack(complex_channels: np.ndarray) -> tf.Tensor:
    return tf.constant(
        np.concatenate([complex_channels.real, complex_channels.imag], axis=-1).astype(np.float32)
    )


def _unstack(stacked: tf.Tensor) -> np.ndarray:
    half = stacked.shape[-1] // 2
    return stacked.numpy()[..., :half] + 1j * stacked.numpy()[..., half:]


@pytest.mark.parametrize("conjugate_input", [False, True])
def test_block_kernel_convolution_is_the_complex_convolution(conjugate_input):
    """``W * x``, or with ``conjugate_input`` ``W * conj(x)``: the TF1 release's combination."""
    layer = BlockConv2D(in_channels=2, filters=3, kernel_size=3, conjugate_input=conjugate_input)
    layer.build()
    kernel = layer.kernel_real.numpy() + 1j * layer.kernel_imag.numpy()  # [3, 3, 2, 3]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 7, 8, 2)) + 1j * rng.standard_normal((1, 7, 8, 2))
    convolved = np.conj(x) if conjugate_input else x
    expected = np.zeros((7, 8, 3), complex)
    for out in range(3):
        for inp in range(2):
            # tf.nn.conv2d is a cross-correlation with zero "SAME" padding; scipy's correlate2d
            # conjugates its second argument, hence the conj to get sum x[n + k] w[k].
            expected[..., out] += correlate2d(
                convolved[0, ..., inp], np.conj(kernel[..., inp, out]), mode="same"
            )
    np.testing.assert_allclose(_unstack(layer(_stack(x)))[0], expected, atol=1e-5)


@pytest.mark.parametrize("complex_valued, conjugate_input", [(True, False), (False, False), (True, True)])
def test_transpose_is_the_adjoint(complex_valued, conjugate_input):
    layer = BlockConv2D(3, 4, 3, complex_valued=complex_valued, conjugate_input=conjugate_input)
    layer.build()
    factor = 2 if complex_valued else 1
    rng = np.random.default_rng(1)
    x = tf.constant(rng.standard_normal((2, 9, 6, 3 * factor)).astype(np.float32))
    v = tf.constant(rng.standard_normal((2, 9, 6, 4 * factor)).astype(np.float32))
    left, right = real_inner(layer(x), v), real_inner(x, layer.transpose(v))
    # Relative to |<Ax, v>|'s natural scale ||Ax|| ||v||: <Ax, v> itself can be near 0 for unlucky
    # (unseeded Glorot) kernels, which made a plain relative error flaky.
    scale = float(tf.norm(layer(x))) * float(tf.norm(v))
    assert abs(left - right) < 1e-6 * scale


def test_transpose_with_an_unknown_batch_size_takes_the_same_values():
    """A fully known shape makes the transposed convolution's output shape a constant; with the
    batch size unknown (relaxed shapes) it is computed at run time, to the same values."""
    layer = BlockConv2D(2, 3, 3)
    layer.build()
    v = tf.constant(np.random.default_rng(2).standard_normal((2, 5, 6, 6)).astype(np.float32))
    relaxed = tf.function(layer.transpose, input_signature=[tf.TensorSpec([None, 5, 6, 6], tf.float32)])
    known = tf.function(layer.transpose)
    assert "Shape" not in {op.type for op in known.get_concrete_function(v).graph.get_operations()}
    np.testing.assert_array_equal(relaxed(v).numpy(), known(v).numpy())
    assert relaxed(v).shape == (2, 5, 6, 4)


def test_an_explicitly_seeded_initializer_still_gives_different_real_and_imaginary_parts():
    layer = BlockConv2D(2, 8, kernel_initializer={"class_name": "GlorotUniform", "config": {"seed": 7}})
    layer.build()
    assert not np.array_equal(layer.kernel_real.numpy(), layer.kernel_imag.numpy())
    again = BlockConv2D(2, 8, kernel_initializer={"class_name": "GlorotUniform", "config": {"seed": 7}})
    again.build()
    np.testing.assert_array_equal(layer.kernel_imag.numpy(), again.kernel_imag.numpy())
