"""fastMRI's U-Net on the zero filling's magnitude (lda_tf.cnn.unet)."""

import numpy as np
import pytest
import tensorflow as tf

from lda_tf.cnn import UNet
from lda_tf.mri import MRIInputs, MRISampling, make_mask, simulate_kspace
from tests.cnn.helpers import check_config_and_model_file, check_gradient_reaches_every_weight
from tests.loa.helpers import four_task_batch


def small_unet(**overrides) -> UNet:
    tf.keras.utils.set_random_seed(4)
    return UNet(MRISampling(name="measurement"), **{"channels": 4, "num_pools": 2, **overrides})


def test_the_paper_size_has_fastmris_weights():
    """fastMRI's ``Unet(1, 1, chans=32, num_pool_layers=4)`` layer by layer (bias-free 3x3 and 2x2
    transposed convolutions, a 1x1 output convolution with bias): 7,756,097 weights."""
    network = UNet(MRISampling(name="measurement"))
    widths = [32 * 2**level for level in range(5)]
    block = lambda c_in, c_out: 9 * c_in * c_out + 9 * c_out * c_out  # noqa: E731  two 3x3 convs, no bias
    expected = block(1, 32) + sum(block(widths[i], widths[i + 1]) for i in range(3))  # down
    expected += block(widths[3], widths[4])  # bottom
    expected += sum(4 * widths[i + 1] * widths[i] + block(2 * widths[i], widths[i]) for i in range(4))  # up
    expected += widths[0] + 1  # 1x1 output convolution with bias
    assert sum(int(np.prod(w.shape)) for w in network.trainable_weights) == expected == 7_756_097


@pytest.mark.parametrize("shape", [(7, 9), (13, 5), (16, 18)])
def test_odd_sizes_come_back_the_same_size_and_real(shape):
    target = np.random.default_rng(0).random((2, *shape)).astype(np.float32)
    mask = make_mask("cartesian_gaussian", shape, 0.3, seed=0)
    inputs = MRIInputs(simulate_kspace(target, mask), tf.constant(mask), tf.constant([0, 0]))
    recon = small_unet(num_pools=3)(inputs)
    assert recon.shape == (2, *shape) and recon.dtype == tf.complex64
    assert np.all(np.imag(recon.numpy()) == 0) and np.all(np.isfinite(recon.numpy()))


def test_the_input_is_the_magnitude_and_its_scale_carries_through():
    """Normalisation in, scaling out: the network commutes with a positive scale of the data
    (up to the epsilons), and a phase on the data changes nothing."""
    inputs, _ = four_task_batch()
    network = small_unet()
    recon = network(inputs).numpy()
    scaled = network(inputs._replace(kspace=inputs.kspace * 3.0)).numpy()
    np.testing.assert_allclose(scaled, 3.0 * recon, rtol=1e-4, atol=1e-5)
    global_phase = tf.exp(tf.complex(0.0, 0.7))
    rotated = network(inputs._replace(kspace=inputs.kspace * global_phase)).numpy()
    np.testing.assert_allclose(rotated, recon, rtol=1e-4, atol=1e-5)


def test_config_round_trip_and_model_file(tmp_path):
    inputs, _ = four_task_batch()
    check_config_and_model_file(small_unet(leaky_slope=0.1), inputs, tmp_path)


def test_gradient_reaches_every_weight():
    inputs, target = four_task_batch()
    check_gradient_reaches_every_weight(small_unet(), inputs, target)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="num_pools must be >= 1"):
        small_unet(num_pools=0)
