"""U-LDA's network (002): domain groups in UnrolledLOA, modified ELDA with adapters."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from lda_tf import UnrolledLOA
from lda_tf.mri import MRIInputs, MRISampling
from lda_tf.nn.regularizers import SMOOTHING_GAP
from lda_tf.training.bilevel import dense
from tests.loa.helpers import SHAPE, four_task_batch


def ulda_model(num_domains=2, num_phases=4, **overrides):
    keras.utils.set_random_seed(3)
    settings = dict(num_phases=num_phases, num_layers=3, num_filters=4, adapter_init="random")
    return UnrolledLOA.ulda_paper(MRISampling(name="measurement"), num_domains, **{**settings, **overrides})


def domain_batch(domains=(0, 1, 1, 0)):
    """The four-sample test batch, its samples assigned to ``domains``."""
    inputs, target = four_task_batch()
    return MRIInputs(inputs.kspace, inputs.mask, tf.constant(domains, tf.int32)), target


def test_descent_4_23_and_lyapunov_4_30_per_sample_with_adapters():
    """Per sample: phi_eps(x_{t+1}) - phi_eps(x_t) <= -min(eta2/2, eta3/eps_t) ||x_{t+1} - x_t||^2
    (4.23), and phi_{eps_t}(x_t) + d1 eps_t / 2 never increases (4.30), under elda with Huber."""
    model = ulda_model(num_phases=6)
    for phase in model.phases:  # the two domains step differently: u and the safeguard both run
        phase.log_tau.assign(np.log([0.01, 1.0]).astype(np.float32))
    inputs, _ = domain_batch()
    unrolled = model.unroll(inputs)
    d = {name: value.numpy() for name, value in unrolled.diagnostics.items()}
    iterates = [x.numpy() for x in unrolled.iterates]
    policy = model.policy
    for t in range(model.num_phases):
        step2 = np.sum(np.abs(iterates[t + 1] - iterates[t]) ** 2, axis=(1, 2))
        bound = -np.minimum(policy.eta2 / 2, policy.eta3 / d["eps"][t]) * step2
        assert np.all(d["phi_after"][t] - d["phi_before"][t] <= bound + 1e-5 * np.abs(d["phi_before"][t]))
    pixels = SHAPE[0] * SHAPE[1]
    lyapunov = np.concatenate([d["phi_before"], unrolled.state.value.numpy()[None]]) + SMOOTHING_GAP[
        "huber"
    ] * pixels * np.concatenate([d["eps"], unrolled.state.eps.numpy()[None]])
    assert np.all(np.diff(lyapunov, axis=0) <= 1e-5 * np.abs(lyapunov[:-1]))
    assert 0 < d["took_u"].mean() < 1  # the safeguard was exercised, and u taken elsewhere


def test_each_sample_uses_its_domain_group():
    model = ulda_model()
    inputs, _ = domain_batch((0, 1, 0, 1))
    before = model(inputs).numpy()
    model.phases[1].log_alpha.assign([np.log(0.5), np.log(0.1)])  # domain 1's step only
    model.adapters.adapters[1].kernel_real.assign(model.adapters.adapters[1].kernel_real * 2.0)
    model.log_eps0.assign([model.log_eps0[0], np.log(0.05)])
    after = model(inputs).numpy()
    np.testing.assert_array_equal(after[[0, 2]], before[[0, 2]])
    assert np.abs(after[[1, 3]] - before[[1, 3]]).max() > 1e-4


def test_identity_adapters_reproduce_the_network_without_domains():
    """With identity adapters and equal groups, U-LDA is LDA with the same g (Init's premise)."""
    lda = ulda_model(num_domains=0)
    ulda = ulda_model(adapter_init="identity")
    for source, target in zip(lda.features.weights, ulda.features.weights):
        target.assign(source)
    inputs, _ = domain_batch()
    np.testing.assert_allclose(ulda(inputs).numpy(), lda(inputs).numpy(), atol=1e-6)


def test_parameter_counts():
    """Bias-free complex layers: g = 3*3*(1*16 + 3*16*16) complex = 14,112 real; an adapter
    3*3*16*16 complex = 4,608 real (the paper's 36,864 / ~9,200 count an untied real layout)."""
    model = UnrolledLOA.ulda_paper(MRISampling(name="measurement"), num_domains=2)
    assert sum(int(np.prod(w.shape)) for w in model.features.weights) == 14_112
    assert sum(int(np.prod(w.shape)) for w in model.adapters.adapters[0].weights) == 4_608
    assert model.phases[0].log_alpha.shape == (2,) and model.log_eps0.shape == (2,)


def test_save_and_load_round_trip(tmp_path):
    model = ulda_model(activate_last=True)
    model.set_active_phases(2)
    path = tmp_path / "ulda.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert (loaded.num_domains, loaded.features.activate_last, loaded.active_phases) == (2, True, 2)
    inputs, _ = domain_batch()
    np.testing.assert_array_equal(loaded(inputs).numpy(), model(inputs).numpy())
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_copy_initialisation_takes_g_second_layer():
    model = ulda_model(adapter_init="copy")
    for adapter in model.adapters.adapters:
        np.testing.assert_array_equal(adapter.kernel_real, model.features.convolutions[1].kernel_real)
    clone = model.for_new_domains(1)
    np.testing.assert_array_equal(
        clone.adapters.adapters[2].kernel_imag, model.features.convolutions[1].kernel_imag
    )


def test_per_phase_recomputation_with_domains_gives_the_same_values_and_gradients():
    """U-LDA's preset recomputes its phases: the same reconstruction, diagnostics (the line search
    and its failures included) and gradients as autodiff through the stored phases, with both
    the u branch and the line-searched safeguard taken (mixed domains)."""
    inputs, target = domain_batch()
    results = []
    for recompute in (False, True):
        model = ulda_model(num_phases=4, recompute_phases=recompute)
        for phase in model.phases:
            phase.log_tau.assign(np.log([0.01, 1.0]).astype(np.float32))
        with tf.GradientTape() as tape:
            recon, diagnostics = model(inputs, training=True, return_diagnostics=True)
            loss = 0.5 * tf.reduce_sum(tf.square(tf.abs(recon) - target))
        gradients = dense(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        results.append((recon.numpy(), diagnostics, [g.numpy() for g in gradients]))
    (recon, diagnostics, gradients), (recon_rc, diagnostics_rc, gradients_rc) = results
    assert 0 < diagnostics["took_u"].numpy().mean() < 1 and diagnostics["backtracks"].numpy().max() > 0
    np.testing.assert_allclose(recon_rc, recon, rtol=1e-6, atol=1e-7)
    for name, values in diagnostics.items():
        np.testing.assert_allclose(diagnostics_rc[name].numpy(), values.numpy(), rtol=1e-6, err_msg=name)
    for got, want in zip(gradients_rc, gradients):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max(initial=0))


def test_recompute_phases_is_on_in_the_preset_and_round_trips():
    model = ulda_model()
    assert model.recompute_phases and UnrolledLOA.from_config(model.get_config()).recompute_phases
    assert model.for_new_domains(1).recompute_phases
    assert not ulda_model(recompute_phases=False).for_new_domains(1).recompute_phases


def test_bad_domain_settings():
    with pytest.raises(ValueError, match="excludes task weights"):
        UnrolledLOA(MRISampling(), num_tasks=2, num_domains=2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="domain index"):
        ulda_model()(domain_batch((0, 1, 2, 0))[0])
