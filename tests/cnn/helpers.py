"""What the CNN baselines' tests share: a NumPy centred orthonormal FFT (the reference) and the
properties every baseline has (configuration, model file, gradients)."""

import keras
import numpy as np
import tensorflow as tf

from lda_tf import outputs
from lda_tf.training.losses import reconstruction_loss


def fft2c(image: np.ndarray) -> np.ndarray:
    """The centred orthonormal DFT, by NumPy (``lda_tf.mri.fft`` is what is tested against it)."""
    axes = (-2, -1)
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(image, axes=axes), norm="ortho"), axes=axes)


def check_config_and_model_file(network, inputs, tmp_path):
    """``from_config(get_config())`` rebuilds the same configuration; ``model.keras`` read by
    :func:`lda_tf.outputs.load_model` reconstructs as the network does."""
    config = network.get_config()
    assert type(network).from_config(config).get_config() == config
    path = tmp_path / "model.keras"
    network.save(path)
    loaded = outputs.load_model(path)
    assert type(loaded) is type(network) and loaded.get_config() == config
    np.testing.assert_allclose(loaded(inputs).numpy(), network(inputs).numpy(), rtol=1e-5, atol=1e-6)


def check_gradient_reaches_every_weight(network, inputs, target):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(reconstruction_loss(network(inputs, training=True), target))
    gradients = tape.gradient(loss, network.trainable_variables)
    assert network.trainable_variables and len(gradients) == len(network.trainable_variables)
    for variable, gradient in zip(network.trainable_variables, gradients):
        assert gradient is not None and np.any(keras.ops.convert_to_numpy(gradient) != 0), variable.path
