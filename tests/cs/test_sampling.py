"""Block CS measurement layer: operator adjoint and gradient, x0 = Q b, learned sampling as a
strided convolution, its loss term and training, serialisation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from lda_tf.cs import BlockSampling, split_blocks
from lda_tf.loa import UnrolledLOA
from lda_tf.training.trainer import LOATrainer


def _images(shape=(2, 16, 24), seed=0):
    return tf.constant(np.random.default_rng(seed).random(shape).astype(np.float32))


def test_operator_adjoint_identity_and_gradient_of_f():
    sampling = BlockSampling(0.3, block_size=8, seed=1)
    sampling.build()
    images = _images()
    measured = sampling.measure(images)
    operator = measured.data
    x = _images(seed=1)
    b = tf.random.stateless_normal(operator.measurements.shape, seed=[1, 2])
    lhs = np.vdot(operator.forward(x).numpy().astype(np.float64), b.numpy())
    rhs = np.vdot(x.numpy().astype(np.float64), operator.adjoint(b).numpy())
    np.testing.assert_allclose(lhs, rhs, rtol=1e-5)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = tf.reduce_sum(operator.data_fidelity(x))
    np.testing.assert_allclose(
        operator.data_fidelity_gradient(x).numpy(), tape.gradient(value, x).numpy(), atol=1e-5
    )
    np.testing.assert_allclose(operator.data_fidelity(images).numpy(), 0.0, atol=1e-8)  # b = A xhat


def test_start_is_q_times_b_per_block_and_measurements_may_be_given_directly():
    sampling = BlockSampling(0.25, block_size=4, seed=0)
    sampling.build()
    images = _images((1, 8, 12))
    q_matrix = sampling.fit_initialization(_images((30, 8, 12), seed=5).numpy())
    phi = sampling.sampling_matrix()
    start = sampling.measure(images).initial.numpy()
    block = images.numpy()[0, 4:8, 8:12].ravel()
    np.testing.assert_allclose(start[0, 4:8, 8:12].ravel(), q_matrix @ (phi @ block), rtol=1e-4, atol=1e-5)
    measurements = sampling.measure_images(images)
    np.testing.assert_allclose(sampling.measure(measurements).initial.numpy(), start, atol=1e-6)


def test_learned_sampling_is_a_strided_convolution_with_the_consistency_loss():
    sampling = BlockSampling(0.1, block_size=32, learned=True, seed=2)
    sampling.build()
    assert sampling.sampling.shape == (102, 1024) and sampling.initialization.shape == (1024, 102)
    assert sampling.sampling.trainable and sampling.initialization.trainable
    images = _images((2, 64, 96))
    kernel = tf.reshape(tf.transpose(sampling.sampling), [32, 32, 1, 102])  # row-major blocks
    strided = tf.nn.conv2d(images[..., None], kernel, strides=32, padding="VALID")
    np.testing.assert_allclose(sampling.measure_images(images).numpy(), strided.numpy(), rtol=1e-4, atol=1e-4)
    transposed = tf.nn.conv2d_transpose(
        strided,
        tf.reshape(sampling.initialization, [32, 32, 1, 102]),
        [2, 64, 96, 1],
        strides=32,
        padding="VALID",
    )[..., 0]
    expected = 0.01 * np.sum((transposed.numpy() - images.numpy()) ** 2, axis=(1, 2))
    np.testing.assert_allclose(sampling.auxiliary_loss(images).numpy(), expected, rtol=1e-4)
    with pytest.raises(ValueError, match="images"):
        sampling.measure(sampling.measure_images(images))  # a learned A needs the images


def test_training_moves_the_learned_sampling_and_the_loss_includes_its_term():
    keras.utils.set_random_seed(0)
    network = UnrolledLOA.lda_paper(
        BlockSampling(0.25, block_size=8, learned=True), num_phases=2, num_filters=4, num_layers=2
    )
    trainer = LOATrainer(network, "conventional", magnitude_loss=False)
    trainer.compile(keras.optimizers.Adam(1e-3))
    images = _images((2, 16, 16))
    sampling_ids = {id(v) for v in network.measurement.trainable_variables}
    assert sampling_ids <= {id(v) for v in network.theta_variables}
    with tf.GradientTape() as tape:
        loss = trainer.batch_loss((images, images))
    reconstruction = 0.5 * tf.reduce_sum(tf.square(network(images) - images))
    auxiliary = tf.reduce_sum(network.auxiliary_loss(images))
    np.testing.assert_allclose(loss.numpy(), (reconstruction + auxiliary).numpy(), rtol=1e-5)
    gradient = tape.gradient(loss, network.measurement.sampling)
    assert float(tf.reduce_max(tf.abs(gradient))) > 0
    before = network.measurement.sampling.numpy().copy()
    trainer.fit(tf.data.Dataset.from_tensors((images, images)), epochs=1, verbose=0)
    assert not np.allclose(before, network.measurement.sampling.numpy())


def test_model_with_block_sampling_round_trips_and_refuses_complex_features(tmp_path):
    network = UnrolledLOA.lda_paper(BlockSampling(0.5, block_size=8, seed=3), num_phases=2, num_filters=4)
    network.measurement.fit_initialization(_images((40, 8, 8), seed=2).numpy())
    images = _images((1, 16, 16))
    network.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(loaded(images).numpy(), network(images).numpy(), atol=1e-6)
    np.testing.assert_array_equal(
        loaded.measurement.initialization.numpy(), network.measurement.initialization.numpy()
    )
    assert split_blocks(images, 8).shape == (1, 2, 2, 64)
    with pytest.raises(ValueError, match="contradicts the real images"):
        UnrolledLOA.lda_paper(BlockSampling(0.5, block_size=8), complex_valued=True)
