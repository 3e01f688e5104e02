import keras
import numpy as np
import pytest
import tensorflow as tf

from lda_tf.nn import FeatureExtractor
from tests.conftest import random_complex


def _image(shape, complex_valued, seed):
    image = random_complex(shape, seed)
    return image if complex_valued else tf.math.real(image)


@pytest.mark.parametrize(
    "shape, num_layers, num_filters, relu_delta, complex_valued, conjugate_input",
    [
        ((2, 8, 8), 3, 4, 1e-3, True, False),
        ((1, 7, 11), 4, 6, 0.01, True, False),
        ((3, 5, 6), 1, 2, 0.1, True, False),
        ((2, 9, 7), 3, 5, 0.01, False, False),
        ((2, 8, 9), 3, 4, 1e-3, True, True),  # the TF1 release's g and its grad_g1
    ],
)
def test_jacobian_transpose_equals_autodiff_vjp(
    shape, num_layers, num_filters, relu_delta, complex_valued, conjugate_input
):
    extractor = FeatureExtractor(
        num_layers, num_filters, 3, relu_delta, complex_valued, conjugate_input=conjugate_input
    )
    extractor.build()
    x = _image(shape, complex_valued, seed=1) * 0.05  # many pre-activations inside (-relu_delta, relu_delta)
    cotangent = tf.random.stateless_normal(shape + (num_filters * (2 if complex_valued else 1),), seed=[2, 3])
    with tf.GradientTape() as tape:
        tape.watch(x)
        features = extractor.forward(x)
        pairing = tf.reduce_sum(features.output * cotangent)  # <g(x), v>, real inner product
    autodiff = tape.gradient(pairing, x).numpy()
    explicit = extractor.jacobian_transpose(features.preactivations, cotangent).numpy()
    assert np.linalg.norm(explicit - autodiff) <= 1e-4 * np.linalg.norm(autodiff)


def test_output_shape_and_layer_count():
    extractor = FeatureExtractor(num_layers=3, num_filters=4)
    features = extractor.forward(tf.zeros((2, 10, 12), tf.complex64))
    assert features.output.shape == (2, 10, 12, 8)
    assert len(features.preactivations) == 2
    assert len(extractor.trainable_variables) == 6  # real and imaginary kernel per layer


def test_configuration_round_trip():
    extractor = FeatureExtractor(
        num_layers=4, num_filters=32, kernel_size=3, relu_delta=0.01, complex_valued=False
    )
    clone = FeatureExtractor.from_config(extractor.get_config())
    assert (clone.num_layers, clone.num_filters, clone.relu_delta, clone.complex_valued) == (
        4,
        32,
        0.01,
        False,
    )
    conjugating = FeatureExtractor.from_config(FeatureExtractor(conjugate_input=True).get_config())
    assert conjugating.conjugate_input and all(c.conjugate_input for c in conjugating.convolutions)


def test_configuration_saved_with_the_old_name_delta_loads():
    config = FeatureExtractor(num_filters=2, relu_delta=0.02).get_config()
    config["delta"] = config.pop("relu_delta")
    assert FeatureExtractor.from_config(config).relu_delta == 0.02


def test_bad_configuration_errors():
    with pytest.raises(ValueError, match="odd kernel_size"):
        FeatureExtractor(kernel_size=4)
    with pytest.raises(ValueError, match="relu_delta"):
        FeatureExtractor(relu_delta=0.0)


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_kernel_scale_multiplies_the_xavier_initialisation(scale):
    extractor = FeatureExtractor(num_layers=2, num_filters=32, complex_valued=False, kernel_scale=scale)
    extractor.build()
    kernel = extractor.convolutions[1].kernel_real.numpy()  # 3x3, 32 -> 32: fan_in = fan_out = 288
    xavier_limit = np.sqrt(6.0 / (288 + 288))
    assert np.abs(kernel).max() <= scale * xavier_limit + 1e-7
    np.testing.assert_allclose(kernel.std(), scale * xavier_limit / np.sqrt(3.0), rtol=0.05)
    assert FeatureExtractor.from_config(extractor.get_config()).kernel_scale == scale


def _kernels_of(extractor: FeatureExtractor) -> list[np.ndarray]:
    extractor.build()
    kernels = []
    for convolution in extractor.convolutions:
        kernels.append(convolution.kernel_real.numpy())
        if convolution.complex_valued:
            kernels.append(convolution.kernel_imag.numpy())
    return kernels


def _assert_independent(first: np.ndarray, second: np.ndarray, what: str):
    """Not equal and uncorrelated within sampling error (|r| < 4 / sqrt(n): a 4-sigma bound)."""
    assert not np.array_equal(first, second), f"{what} are equal"
    correlation = np.corrcoef(first.ravel(), second.ravel())[0, 1]
    assert abs(correlation) < 4.0 / np.sqrt(first.size), f"{what} correlate: r = {correlation:.3f}"


@pytest.mark.parametrize(
    "settings",
    [
        dict(num_layers=3, num_filters=4, complex_valued=True),  # the meta paper's g
        dict(num_layers=4, num_filters=32, complex_valued=True, kernel_scale=0.5),
        dict(num_layers=4, num_filters=32, complex_valued=False, kernel_scale=0.5),  # LDA quick profile
    ],
)
def test_every_kernel_draws_its_own_values(settings):
    """SPEC 2: real and imaginary parts of every complex kernel, and any two layers, start
    independent (a shared unseeded Keras initializer returned the same values for all of them)."""
    extractor = FeatureExtractor(**settings)
    kernels = _kernels_of(extractor)
    for convolution in extractor.convolutions:
        if convolution.complex_valued:
            _assert_independent(
                convolution.kernel_real.numpy(), convolution.kernel_imag.numpy(), f"{convolution.name} re/im"
            )
    for i, first in enumerate(kernels):
        for second in kernels[i + 1 :]:
            if first.shape == second.shape:
                _assert_independent(first, second, "two kernels of equal shape")


def test_seeded_construction_is_reproducible():
    def kernels(seed):
        keras.utils.set_random_seed(seed)
        return _kernels_of(FeatureExtractor(num_layers=2, num_filters=4))

    first, again, other = kernels(3), kernels(3), kernels(4)
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
