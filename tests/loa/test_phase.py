import numpy as np
import pytest
import tensorflow as tf

from lda_tf.loa.phase import PhasePolicy, initial_state, line_search
from tests.loa.helpers import four_task_batch, small_model

SAFEGUARDED = ["meta", "lda", "elda"]
# Aggressive initial steps make u fail the descent tests, so the safeguards are exercised.
STEP_SETTINGS = [dict(), dict(alpha_init=3.0, tau_init=5.0)]


def _diagnostics(model, inputs):
    _, diagnostics = model(inputs, return_diagnostics=True)
    return {name: value.numpy() for name, value in diagnostics.items()}


@pytest.mark.parametrize("steps", STEP_SETTINGS)
@pytest.mark.parametrize("policy", SAFEGUARDED)
def test_phi_never_increases(policy, steps):
    inputs, _ = four_task_batch()
    model = small_model(policy, num_phases=4, **steps)
    diagnostics = _diagnostics(model, inputs)
    increase = diagnostics["phi_after"] - diagnostics["phi_before"]
    assert np.all(increase <= 1e-6 * np.abs(diagnostics["phi_before"])), increase


@pytest.mark.parametrize("policy", ["meta", "elda"])
def test_aggressive_steps_exercise_the_safeguard(policy):
    inputs, _ = four_task_batch()
    diagnostics = _diagnostics(small_model(policy, num_phases=4, **STEP_SETTINGS[1]), inputs)
    assert diagnostics["took_u"].min() == 0.0
    assert diagnostics["backtracks"].max() >= 1


def test_residual_policy_has_no_descent_guarantee():
    # The same aggressive steps without a safeguard raise phi: the descent test above can fail.
    inputs, _ = four_task_batch()
    diagnostics = _diagnostics(small_model("residual", num_phases=4, **STEP_SETTINGS[1]), inputs)
    assert np.any(diagnostics["phi_after"] > diagnostics["phi_before"])
    assert np.all(diagnostics["took_u"] == 1.0)


@pytest.mark.parametrize("policy", SAFEGUARDED + ["residual"])
def test_reported_phi_is_the_energy_of_the_output(policy):
    inputs, _ = four_task_batch()
    model = small_model(policy, num_phases=2)
    unrolled = model.unroll(inputs)
    objective = unrolled.objective
    recomputed = objective.value(objective.point(unrolled.state.point.image), unrolled.diagnostics["eps"][-1])
    np.testing.assert_allclose(unrolled.diagnostics["phi_after"][-1].numpy(), recomputed.numpy(), rtol=1e-5)


def test_eps_reduction_rule():
    inputs, _ = four_task_batch()
    always = _diagnostics(small_model(policy={"name": "meta", "sigma": 1e9}, num_phases=3), inputs)
    np.testing.assert_allclose(always["eps"][1:] / always["eps"][:-1], 0.9, rtol=1e-6)
    never = _diagnostics(small_model(policy={"name": "meta", "sigma": 1e-9}, num_phases=3), inputs)
    np.testing.assert_allclose(never["eps"], 1e-3, rtol=1e-6)


@pytest.mark.parametrize("first_value_given", [False, True], ids=["training", "inference"])
def test_line_search_returns_the_largest_sufficient_step(first_value_given):
    """Both ways of starting the search: phi at the first trial evaluated by the search itself
    (training) or passed in by the caller (inference, where it is ``v``'s own value)."""
    inputs, _ = four_task_batch()
    model = small_model("meta")
    objective = model.unroll(inputs).objective
    state = initial_state(objective, objective.data.zero_filled(), tf.fill([4], 1e-3))
    policy = PhasePolicy(name="meta", rho=0.5, max_backtracks=30)
    decrease = tf.fill([4], 1.0 / policy.a)
    initial = tf.fill([4], 64.0)

    def trial(step_value):  # x - s grad phi(x), per sample
        return objective.point(
            state.point.image - tf.cast(tf.reshape(step_value, [-1, 1, 1]), tf.complex64) * state.gradient
        )

    first_value = objective.value(trial(initial), state.eps) if first_value_given else None
    step, reductions, failed = line_search(objective, state, initial, decrease, policy, first_value)
    assert np.all(failed.numpy() == 0.0)

    def excess(step_value):  # phi(x - s grad) - phi(x) + (1/a) ||s grad||^2, per sample
        distance2 = tf.reduce_sum(
            tf.abs(step_value[:, None, None] * tf.abs(state.gradient)) ** 2, axis=(1, 2)
        )
        return (objective.value(trial(step_value), state.eps) - state.value + decrease * distance2).numpy()

    assert np.all(step.numpy() > 0)
    np.testing.assert_allclose(step.numpy(), 64.0 * 0.5 ** reductions.numpy())
    assert np.all(excess(step) <= 0)  # accepted steps satisfy the sufficient decrease
    assert np.all(excess(step / 0.5)[reductions.numpy() > 0] > 0)  # and one step larger does not


def test_a_failed_line_search_is_told_apart_from_one_accepted_at_the_last_reduction():
    """``backtracks == max_backtracks`` is ambiguous; ``line_search_failed`` is 1 exactly where x
    was kept (phi unchanged), and 0 where the last reduction was accepted (phi decreased)."""
    inputs, _ = four_task_batch()
    policy = {"name": "meta", "max_backtracks": 2}
    diagnostics = _diagnostics(small_model(policy, num_phases=4, alpha_init=1e4, tau_init=1e4), inputs)
    failed, took_v = diagnostics["line_search_failed"] == 1.0, diagnostics["took_u"] == 0.0
    assert failed.any() and np.all(took_v[failed])
    assert np.all(diagnostics["backtracks"][failed] == 2)
    np.testing.assert_array_equal(diagnostics["phi_after"][failed], diagnostics["phi_before"][failed])
    accepted = took_v & ~failed & (diagnostics["backtracks"] == 2)
    assert np.all(diagnostics["phi_after"][accepted] < diagnostics["phi_before"][accepted])
    assert np.all(diagnostics["line_search_failed"][~took_v] == 0.0)


def _phase_gradient_norms(model, inputs, target):
    with tf.GradientTape() as tape:
        recon, diagnostics = model(inputs, training=True, return_diagnostics=True)
        loss = tf.reduce_sum(tf.square(tf.abs(recon) - target))
    gradients = tape.gradient(loss, model.features.trainable_weights)
    norms = [0.0 if g is None else float(tf.norm(g)) for g in gradients]
    return norms, {name: value.numpy() for name, value in diagnostics.items()}


def test_elda_line_search_keeps_up_with_a_grown_regularizer():
    """elda's search starts at the constant ``alpha_bar``, so the reductions it needs grow with
    ``g``'s gain (U-LDA Lemma 4.5). With ``g``'s kernels at 16x Xavier (phi ~ 5e5, as a trained
    network's regulariser can grow) 12-14 are needed: the default cap finds them, phi decreases in
    every phase and ``g`` gets a gradient. A cap of 10 fails every search: ``x_T = x_0`` and every
    gradient of ``g`` is zero, the state U-LDA's quick runs were stuck in."""
    inputs, target = four_task_batch()
    assert PhasePolicy(name="elda").max_backtracks == 30 and PhasePolicy(name="meta").max_backtracks == 10
    norms, diagnostics = _phase_gradient_norms(
        small_model("elda", num_phases=2, kernel_scale=16.0), inputs, target
    )
    assert diagnostics["backtracks"].max() > 10
    assert np.all(diagnostics["line_search_failed"] == 0.0)
    assert np.all(diagnostics["phi_after"] < diagnostics["phi_before"])
    assert min(norms) > 0.0
    capped = small_model({"name": "elda", "max_backtracks": 10}, num_phases=2, kernel_scale=16.0)
    norms, diagnostics = _phase_gradient_norms(capped, inputs, target)
    assert np.all(diagnostics["line_search_failed"] == 1.0)
    assert max(norms) == 0.0


def test_bad_policy_parameters():
    with pytest.raises(ValueError, match="argument `policy` must be one of"):
        PhasePolicy(name="adam")
    with pytest.raises(ValueError, match="rho"):
        PhasePolicy(rho=1.5)
