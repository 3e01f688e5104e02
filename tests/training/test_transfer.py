"""U-LDA's Step 2 (3.3) and loss (3.2a) in the trainer."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from skimage.metrics import structural_similarity

from lda_tf.training import LOATrainer
from lda_tf.training.losses import mse_ssim_loss
from tests.loa.test_universal import domain_batch, ulda_model


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_ssim_loss_against_numpy(reduction):
    rng = np.random.default_rng(0)
    target = rng.random((2, 24, 20)).astype(np.float32)
    recon = (target + 0.1 * rng.standard_normal(target.shape)) * np.exp(1j * rng.uniform(0, 1, target.shape))
    recon = recon.astype(np.complex64)
    loss = mse_ssim_loss(tf.constant(recon), tf.constant(target), 0.01, reduction).numpy()
    for sample in range(2):
        squared = (np.abs(recon[sample]) - target[sample]) ** 2
        peak = target[sample].max()
        ssim = structural_similarity(
            target[sample] / peak,
            np.abs(recon[sample]) / peak,
            data_range=1.0,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
        expected = (squared.mean() if reduction == "mean" else squared.sum()) - 0.01 * ssim
        np.testing.assert_allclose(loss[sample], expected, rtol=1e-4, atol=1e-5)


def test_transfer_moves_only_the_target_group_and_keeps_g_bit_identical():
    universal = ulda_model(num_phases=3)
    transferred = universal.for_new_domains(1)  # domains 0, 1 frozen; 2 is the target
    trainer = LOATrainer(transferred, "conventional", loss="mse_ssim")
    trainer.compile(keras.optimizers.Adam(1e-2))
    inputs, target = domain_batch((2, 0, 2, 1))  # source samples too: their groups must not move
    groups_before = [v.numpy().copy() for v in transferred.group_variables]
    target_adapter = transferred.adapters.adapters[2].kernel_real.numpy().copy()
    for _ in range(2):
        trainer.train_step((inputs, target))
    assert int(trainer.skipped_steps.numpy()) == 0
    for source, copy in zip(universal.features.weights, transferred.features.weights):
        np.testing.assert_array_equal(source.numpy(), copy.numpy())
    for d in (0, 1):
        adapter = transferred.adapters.adapters[d]
        for source, copy in zip(universal.adapters.adapters[d].weights, adapter.weights):
            np.testing.assert_array_equal(source.numpy(), copy.numpy())
    moved = 0
    for source, copy, before in zip(universal.group_variables, transferred.group_variables, groups_before):
        np.testing.assert_array_equal(source.numpy(), copy.numpy()[:2])
        moved += int(copy.numpy()[2] != before[2])
    assert moved  # the target's alpha_t, beta_t or eps0 (those of the branches taken) moved
    assert not np.array_equal(transferred.adapters.adapters[2].kernel_real.numpy(), target_adapter)


def test_stair_growth_in_transfer_copies_only_the_target_steps():
    model = ulda_model(num_phases=3).for_new_domains(1)
    model.set_active_phases(1)
    model.phases[0].log_alpha.assign([0.1, 0.2, 0.3])
    frozen = model.phases[2].log_alpha.numpy().copy()
    model.set_active_phases(3, copy_steps_from_last=True)
    np.testing.assert_array_equal(model.phases[2].log_alpha.numpy()[:2], frozen[:2])
    assert model.phases[2].log_alpha.numpy()[2] == pytest.approx(0.3)
