import numpy as np
import pytest
import tensorflow as tf

from lda_tf.training import BilevelConfig, penalty_objective
from lda_tf.training.bilevel import dense
from lda_tf.training.callbacks import BilevelSchedule
from tests.training.helpers import count_phase_iterations, meta_batches, trainer, values


def test_penalty_gradient_matches_finite_differences():
    # Ltilde contains phi' (through grad L_tr), whose derivative phi'' jumps at +-relu_delta, so its
    # gradient is discontinuous where a pre-activation crosses a kink and central differences do
    # not converge there. relu_delta = 10 keeps every pre-activation in the quadratic piece.
    model = trainer(policy="residual", relu_delta=10.0)
    network = model.network
    batch = next(iter(meta_batches()))
    theta, omega = network.theta_variables, network.omega_variables
    weight = tf.constant(0.5)  # a large lambda, so the penalty matters

    def objective():
        return penalty_objective(model.batch_loss, batch["train"], batch["val"], theta, omega, weight)

    evaluation = objective()
    variables = theta + omega
    gradients = evaluation.theta_gradients + evaluation.omega_gradients
    assert float(evaluation.penalty) > 1e-3 * float(evaluation.val_loss)
    rng = np.random.default_rng(0)
    directions = [rng.standard_normal(v.shape).astype(np.float32) for v in variables]
    directional = sum(float(tf.reduce_sum(g * d)) for g, d in zip(gradients, directions))
    start = values(variables)
    h = 3e-3
    results = []
    for sign in (1, -1):
        for variable, origin, direction in zip(variables, start, directions):
            variable.assign(origin + sign * h * direction)
        results.append(float(objective().objective))
    for variable, origin in zip(variables, start):
        variable.assign(origin)
    assert (results[0] - results[1]) / (2 * h) == pytest.approx(directional, rel=1e-3)


def test_distributable_surrogate_equals_the_literal_penalty_gradient():
    # penalty_objective differentiates L_val + lambda <g, stop(G)>; on one device that must equal
    # nested autodiff of the literal L_val + lambda/2 ||grad_theta L_tr||^2, variable by variable.
    model = trainer(num_phases=2)
    batch = next(iter(meta_batches()))
    theta, omega = model.network.theta_variables, model.network.omega_variables
    weight = tf.constant(0.5)
    evaluation = penalty_objective(model.batch_loss, batch["train"], batch["val"], theta, omega, weight)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            train_loss = model.batch_loss(batch["train"])
        train_gradients = dense(inner.gradient(train_loss, theta), theta)
        literal = model.batch_loss(batch["val"]) + 0.5 * weight * tf.add_n(
            [tf.reduce_sum(g * g) for g in train_gradients]
        )
    expected = dense(outer.gradient(literal, theta + omega), theta + omega)
    for got, want in zip(evaluation.theta_gradients + evaluation.omega_gradients, expected):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("setting", ["recompute_phases", "loop_phases"])
@pytest.mark.parametrize("traced", [False, True])
def test_recomputed_or_looped_phases_give_the_same_bilevel_gradients(setting, traced):
    """The bilevel step differentiates twice, also through the replayed phases or the loop of
    phases: Ltilde's gradients equal those through the stored, unrolled phases (traced at
    relu_delta = 0.1, see tests/loa/test_model.py::
    test_recomputed_or_looped_phases_give_the_same_values_and_gradients)."""
    batch = next(iter(meta_batches()))
    results = []
    for flag in (False, True):
        model = trainer(num_phases=2, policy="meta", relu_delta=0.1 if traced else 1e-3, **{setting: flag})
        theta, omega = model.network.theta_variables, model.network.omega_variables

        def evaluate(model=model, theta=theta, omega=omega):
            evaluation = penalty_objective(
                model.batch_loss, batch["train"], batch["val"], theta, omega, tf.constant(0.5)
            )
            return evaluation.objective, evaluation.theta_gradients + evaluation.omega_gradients

        results.append(tf.function(evaluate)() if traced else evaluate())
    (objective, gradients), (objective_rc, gradients_rc) = results
    assert float(objective_rc) == pytest.approx(float(objective), rel=1e-6)
    for got, want in zip(gradients_rc, gradients):
        np.testing.assert_allclose(
            got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5 * np.abs(want.numpy()).max(initial=0.0)
        )


@pytest.mark.parametrize("recompute", [False, True])
def test_recomputed_phases_replay_in_the_second_order_backward_pass(recompute, monkeypatch):
    """With recompute_phases the bilevel step keeps no phase's backward intermediates: the
    second differentiation replays each phase instead (memory flat in T, benchmarks/README.md
    issue 19 goal 2). Phase runs per phase in one eager evaluation of Ltilde (17): the training
    and validation forwards (2); with recomputation, the replays of the training gradient and of
    the validation branch's outer gradient (2), and in the outer gradient of the training gradient
    one replay of the phase's backward pass and one of the training forward's backward pass (2).
    Keeping the first backward pass on the outer tape instead (the earlier recomputation, whose
    bilevel step outgrew the tape's memory) runs 5."""
    calls = count_phase_iterations(monkeypatch)
    batch = next(iter(meta_batches()))
    num_phases = 2
    model = trainer(num_phases=num_phases, policy="meta", recompute_phases=recompute)
    penalty_objective(
        model.batch_loss,
        batch["train"],
        batch["val"],
        model.network.theta_variables,
        model.network.omega_variables,
        tf.constant(0.5),
    )
    assert len(calls) == num_phases * (6 if recompute else 2)


def test_penalty_value_is_half_lambda_squared_train_gradient():
    model = trainer()
    batch = next(iter(meta_batches()))
    theta = model.network.theta_variables
    with tf.GradientTape() as tape:
        train_loss = model.batch_loss(batch["train"])
    squared = sum(
        float(tf.reduce_sum(tf.square(tf.convert_to_tensor(g))))
        for g in tape.gradient(train_loss, theta)
        if g is not None
    )
    evaluation = penalty_objective(
        model.batch_loss, batch["train"], batch["val"], theta, model.network.omega_variables, tf.constant(0.3)
    )
    assert float(evaluation.penalty) == pytest.approx(0.15 * squared, rel=1e-5)
    assert float(evaluation.objective) == pytest.approx(
        float(evaluation.val_loss) + float(evaluation.penalty), rel=1e-6
    )


@pytest.mark.parametrize("frozen", ["theta", "omega"])
def test_theta_steps_leave_omega_and_omega_steps_leave_theta(frozen):
    # A zero learning rate removes one group's steps: the other group's steps must not move it.
    model = trainer(theta_lr=0.0 if frozen == "theta" else 1e-2, omega_lr=0.0 if frozen == "omega" else 1e-2)
    network = model.network
    theta_before, omega_before = values(network.theta_variables), values(network.omega_variables)
    model.fit(meta_batches(), epochs=1, steps_per_epoch=2, verbose=0)
    theta_after, omega_after = values(network.theta_variables), values(network.omega_variables)
    theta_same = all(np.array_equal(a, b) for a, b in zip(theta_before, theta_after))
    omega_same = all(np.array_equal(a, b) for a, b in zip(omega_before, omega_after))
    assert (theta_same, omega_same) == ((True, False) if frozen == "theta" else (False, True))


def test_schedule_follows_nu_and_stops_at_delta_tol():
    config = BilevelConfig(
        lambda0=1e-3, nu_lambda=1.5, delta0=1e-9, nu_delta=0.5, delta_tol=1e-9 * 0.5**3 * 1.01
    )
    model = trainer(bilevel=config)
    history = model.fit(
        meta_batches(), epochs=10, steps_per_epoch=1, verbose=0, callbacks=[BilevelSchedule()]
    )
    assert len(history.history["loss"]) == 3  # delta <= delta_tol after the third update
    assert float(model.delta.numpy()) == pytest.approx(1e-9 * 0.5**3, rel=1e-5)
    assert float(model.penalty_weight.numpy()) == pytest.approx(1e-3 * 1.5**3, rel=1e-5)


def test_round_cap_and_criterion_gate():
    capped = trainer(bilevel=BilevelConfig(delta0=1e-12, delta_tol=0.0, max_rounds=2, theta_steps=2))
    capped.fit(meta_batches(), epochs=1, steps_per_epoch=2, verbose=0)
    assert int(capped.rounds.numpy()) == 4  # 2 rounds per batch, never more
    assert (
        int(capped.theta_optimizer.iterations.numpy()) == 8
        and int(capped.omega_optimizer.iterations.numpy()) == 4
    )
    satisfied = trainer(bilevel=BilevelConfig(delta0=1e12, delta_tol=0.0))
    before = values(satisfied.network.trainable_variables)
    satisfied.fit(meta_batches(), epochs=1, steps_per_epoch=2, verbose=0)
    assert int(satisfied.rounds.numpy()) == 0  # criterion <= delta: no update at all
    assert all(np.array_equal(a, b) for a, b in zip(before, values(satisfied.network.trainable_variables)))


def test_a_few_meta_steps_lower_the_validation_loss():
    model = trainer(num_phases=2, theta_lr=1e-2, omega_lr=1e-2)
    validation = meta_batches(seed=5).take(4)
    before = model.evaluate(validation, verbose=0, return_dict=True)["loss"]
    model.fit(meta_batches(), epochs=3, steps_per_epoch=4, verbose=0)
    after = model.evaluate(validation, verbose=0, return_dict=True)["loss"]
    assert after < 0.9 * before
