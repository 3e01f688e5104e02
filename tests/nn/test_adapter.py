import numpy as np
import pytest
import tensorflow as tf

from lda_tf.nn import AdaptedFeatures, AdapterBank, FeatureExtractor
from tests.conftest import random_complex, real_inner


def _bank(num_domains=3, channels=4, initializer="random"):
    bank = AdapterBank(num_domains, channels, initializer=initializer)
    bank.build()
    return bank


def test_adapter_transpose_is_the_adjoint_per_sample():
    bank = _bank()
    selector = tf.one_hot([2, 0, 1], 3)  # three samples, three different adapters
    features = tf.random.stateless_normal((3, 6, 7, 8), seed=[1, 2])
    cotangent = tf.random.stateless_normal((3, 6, 7, 8), seed=[3, 4])
    forward = bank.apply(features, selector)
    backward = bank.transpose(cotangent, selector)
    np.testing.assert_allclose(real_inner(forward, cotangent), real_inner(features, backward), rtol=1e-5)


def test_unknown_batch_size_takes_the_same_values():
    """Traced with the batch size unknown (relaxed shapes) the adapters' reshapes and transposed
    convolution take run-time shapes; with it known, constants. The values are identical."""
    bank = _bank()
    selector = tf.one_hot([2, 0, 1], 3)
    features = tf.random.stateless_normal((3, 6, 7, 8), seed=[1, 2])
    for method in (bank.apply, bank.transpose):
        spec = [tf.TensorSpec([None, 6, 7, 8]), tf.TensorSpec([None, 3])]
        relaxed = tf.function(method, input_signature=spec)
        np.testing.assert_array_equal(relaxed(features, selector).numpy(), method(features, selector).numpy())
        graph = tf.function(method).get_concrete_function(features, selector).graph
        assert "Shape" not in {op.type for op in graph.get_operations()}


def test_each_sample_gets_its_own_adapter():
    bank = _bank()
    features = tf.random.stateless_normal((2, 5, 5, 8), seed=[5, 6])
    mixed = bank.apply(features, tf.one_hot([1, 2], 3))
    for sample, domain in enumerate((1, 2)):
        alone = bank.adapters[domain](features[sample : sample + 1])
        np.testing.assert_allclose(mixed[sample : sample + 1], alone, atol=1e-6)


def test_identity_adapter_leaves_g_unchanged():
    extractor = FeatureExtractor(num_layers=2, num_filters=4)
    extractor.build()
    bank = _bank(num_domains=2, initializer="identity")
    image = random_complex((2, 6, 6), seed=1)
    q = AdaptedFeatures(extractor, bank, tf.one_hot([0, 1], 2)).forward(image).output
    np.testing.assert_array_equal(q.numpy(), extractor.forward(image).output.numpy())
    assert np.all(bank.adapters[0].kernel_imag.numpy() == 0)


@pytest.mark.parametrize("activate_last", [False, True])
def test_jacobian_transpose_of_q_equals_autodiff_vjp(activate_last):
    """J_q^H v = J_g^H (W_h^H v) (002, section 4.1) against reverse-mode autodiff."""
    extractor = FeatureExtractor(num_layers=3, num_filters=4, relu_delta=1e-3, activate_last=activate_last)
    extractor.build()
    q = AdaptedFeatures(extractor, _bank(num_domains=2), tf.one_hot([1, 0], 2))
    image = random_complex((2, 7, 9), seed=2) * 0.05  # many pre-activations inside (-delta, delta)
    cotangent = tf.random.stateless_normal((2, 7, 9, 8), seed=[7, 8])
    with tf.GradientTape() as tape:
        tape.watch(image)
        features = q.forward(image)
        pairing = tf.reduce_sum(features.output * cotangent)
    autodiff = tape.gradient(pairing, image).numpy()
    explicit = q.jacobian_transpose(features.preactivations, cotangent).numpy()
    assert np.linalg.norm(explicit - autodiff) <= 1e-4 * np.linalg.norm(autodiff)


def test_activate_last_applies_the_smoothed_relu_after_the_last_layer():
    plain = FeatureExtractor(num_layers=2, num_filters=3)
    plain.build()
    activated = FeatureExtractor(num_layers=2, num_filters=3, activate_last=True)
    activated.build()
    for source, target in zip(plain.weights, activated.weights):
        target.assign(source)
    image = random_complex((1, 5, 5), seed=3)
    raw = plain.forward(image).output.numpy()
    delta = 1e-3
    quadratic = raw**2 / (4 * delta) + raw / 2 + delta / 4
    expected = np.where(raw >= delta, raw, np.where(raw <= -delta, 0.0, quadratic))
    np.testing.assert_allclose(activated.forward(image).output.numpy(), expected, atol=1e-7)
    assert FeatureExtractor.from_config(activated.get_config()).activate_last


def test_bad_adapter_settings():
    with pytest.raises(ValueError, match="adapter_init"):
        AdapterBank(2, 4, initializer="dirac")
    with pytest.raises(ValueError, match="num_domains"):
        AdapterBank(0, 4)
