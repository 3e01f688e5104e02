"""DnCn (lda_tf.cnn.dncn) and its data consistency (lda_tf.cnn.base)."""

import numpy as np
import pytest
import tensorflow as tf

from lda_tf.cnn import DnCn, hard_data_consistency
from lda_tf.cs import BlockSampling
from lda_tf.mri import MRISampling
from lda_tf.mri.operators import MRIOperator
from tests.cnn.helpers import check_config_and_model_file, check_gradient_reaches_every_weight, fft2c
from tests.loa.helpers import four_task_batch


def small_dncn(**overrides) -> DnCn:
    tf.keras.utils.set_random_seed(3)
    return DnCn(
        MRISampling(name="measurement"), **{"num_cascades": 2, "num_layers": 3, "num_filters": 4, **overrides}
    )


def test_data_consistency_puts_the_measured_kspace_back_and_keeps_the_rest():
    rng = np.random.default_rng(0)
    shape = (2, 7, 10)  # odd and even sides: the centring differs
    image = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    truth = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    mask = (rng.random(shape) < 0.4).astype(np.float32)
    measured = (mask * fft2c(truth)).astype(np.complex64)
    result = hard_data_consistency(MRIOperator.create(measured, mask), tf.constant(image)).numpy()
    kspace = fft2c(result)
    sampled = mask.astype(bool)
    np.testing.assert_allclose(kspace[sampled], measured[sampled], atol=1e-5)
    np.testing.assert_allclose(kspace[~sampled], fft2c(image)[~sampled], atol=1e-5)


def test_every_cascade_ends_data_consistent():
    inputs, _ = four_task_batch()
    network = small_dncn()
    mask = inputs.mask.numpy().astype(bool)
    for cascades in (1, 2):
        network.set_active_phases(cascades)
        kspace = fft2c(network(inputs).numpy())
        np.testing.assert_allclose(kspace[mask], inputs.kspace.numpy()[mask], atol=1e-5)


def test_the_cascades_are_residual_cnns_on_two_channels():
    """With every weight zero a cascade is the identity, so DnCn returns the zero filling."""
    inputs, _ = four_task_batch()
    network = small_dncn()
    for weight in network.trainable_variables:
        weight.assign(tf.zeros_like(weight))
    zero_filled = np.fft.ifft2(
        np.fft.ifftshift(inputs.kspace.numpy(), axes=(-2, -1)), norm="ortho"
    )  # F^H y, NumPy
    zero_filled = np.fft.fftshift(zero_filled, axes=(-2, -1))
    np.testing.assert_allclose(network(inputs).numpy(), zero_filled, atol=1e-5)
    kernel = network.cascades[0].convolutions[0].kernel
    assert tuple(kernel.shape) == (3, 3, 2, 4)  # real and imaginary parts in, n_f channels out
    assert len(network.cascades) == 2 and len(network.cascades[0].convolutions) == 3


def test_diagnostics_are_zeros_per_cascade():
    inputs, _ = four_task_batch()
    network = small_dncn()
    _, diagnostics = network(inputs, return_diagnostics=True)
    assert {name: tuple(value.shape) for name, value in diagnostics.items()}["line_search_failed"] == (2, 4)
    assert all(np.all(value.numpy() == 0) for value in diagnostics.values())
    assert network.num_tasks == 0 and network.omega_variables == [] and network.learned_scalars() == {}


def test_config_round_trip_and_model_file(tmp_path):
    inputs, _ = four_task_batch()
    check_config_and_model_file(small_dncn(leaky_slope=0.1, active_phases=1), inputs, tmp_path)


def test_gradient_reaches_every_weight():
    inputs, target = four_task_batch()
    check_gradient_reaches_every_weight(small_dncn(), inputs, target)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="num_layers must be >= 2"):
        small_dncn(num_layers=1)
    with pytest.raises(TypeError, match="complex MRI images"):
        DnCn(BlockSampling(ratio=0.25, block_size=4, name="measurement"))
