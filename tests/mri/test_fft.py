import numpy as np
import pytest
import tensorflow as tf

from lda_tf.mri import fft2c, ifft2c
from tests.conftest import random_complex

SHAPES = [(2, 8, 8), (3, 7, 9), (1, 160, 180), (2, 5, 4)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("transform, numpy_transform", [(fft2c, np.fft.fft2), (ifft2c, np.fft.ifft2)])
def test_equals_numpy_centred_orthonormal_transform(transform, numpy_transform, shape):
    data = random_complex(shape, seed=1)
    shifted = np.fft.ifftshift(data.numpy(), axes=(-2, -1))
    expected = np.fft.fftshift(numpy_transform(shifted, norm="ortho"), axes=(-2, -1))
    np.testing.assert_allclose(transform(data).numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", SHAPES)
def test_parseval(shape):
    image = random_complex(shape, seed=3)
    energy_image = np.sum(np.abs(image.numpy()) ** 2)
    energy_kspace = np.sum(np.abs(fft2c(image).numpy()) ** 2)
    assert abs(energy_kspace - energy_image) / energy_image < 1e-5


def test_dc_sits_at_the_array_centre():
    image = tf.ones((1, 7, 10), tf.complex64)
    kspace = np.abs(fft2c(image).numpy()[0])
    assert np.unravel_index(np.argmax(kspace), kspace.shape) == (7 // 2, 10 // 2)
    assert kspace[3, 5] == pytest.approx(np.sqrt(70), rel=1e-5)


def test_inverse_round_trip():
    image = random_complex((2, 9, 11), seed=4)
    np.testing.assert_allclose(ifft2c(fft2c(image)).numpy(), image.numpy(), atol=1e-5)


def test_rejects_real_input_with_clear_error():
    with pytest.raises(TypeError, match="complex64"):
        fft2c(tf.zeros((1, 4, 4)))


@pytest.mark.parametrize("transform", [fft2c, ifft2c])
def test_unknown_image_size_takes_the_same_values(transform):
    """Traced with H, W unknown (relaxed shapes) the transform computes its shifts and scale at
    run time; the values are bit-identical to the constant-shift path of a known size."""
    data = random_complex((2, 7, 10), seed=5)
    relaxed = tf.function(transform, input_signature=[tf.TensorSpec([None, None, None], tf.complex64)])
    np.testing.assert_array_equal(relaxed(data).numpy(), transform(data).numpy())
    shifted = np.fft.ifftshift(data.numpy(), axes=(-2, -1))
    numpy_transform = np.fft.fft2 if transform is fft2c else np.fft.ifft2
    expected = np.fft.fftshift(numpy_transform(shifted, norm="ortho"), axes=(-2, -1))
    np.testing.assert_allclose(relaxed(data).numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("transform", [fft2c, ifft2c])
def test_a_known_image_size_traces_no_shape_arithmetic(transform):
    """With H, W in the traced shape the centring is two constant rolls and the scale a constant
    (the bilevel step holds A and A^H several times per phase, twice differentiated)."""
    graph = tf.function(transform).get_concrete_function(tf.TensorSpec([None, 7, 10], tf.complex64)).graph
    op_types = [op.type for op in graph.get_operations()]
    assert op_types.count("Roll") == 2
    assert not {"Shape", "Rank", "GatherV2", "SelectV2", "StridedSlice", "FloorDiv"} & set(op_types)
