"""Theorem 1 of paper 004: the adjoint (method of Lagrangian multipliers) gradient equals
back-propagation through the whole network, for every policy, both smoothings, with the safeguard's
branches, backtracking and eps reductions firing, with U-LDA's adapters and with a learned sampling
matrix; the second-order recursion (the bilevel penalty's gradient) equals nested tapes; a float64
control system pins the recursion itself down to rounding and to finite differences."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from lda_tf import UnrolledLOA
from lda_tf.cs import BlockSampling
from lda_tf.loa import ReleaseUnrolled
from lda_tf.mri import MRISampling
from lda_tf.mri.release import ReleaseSampling
from lda_tf.training import LOATrainer, penalty_objective
from lda_tf.training import adjoint as adjoint_module
from lda_tf.training.adjoint import (
    ControlSystem,
    Stage,
    adjoint_gradient,
    forward,
    hessian_vector_product,
    multiplier_recursion,
    second_order_recursion,
    tangent_recursion,
)
from lda_tf.training.bilevel import BilevelConfig, dense
from lda_tf.training.config import TrainingConfig, differences
from lda_tf.training.task_correlation import TaskCorrelationTrainer
from tests.loa.helpers import four_task_batch, small_model
from tests.loa.test_universal import domain_batch, ulda_model
from tests.training.helpers import meta_batches, trainer

POLICIES = ["meta", "lda", "elda", "residual", "gd", "agd"]


def relative_errors(got, want) -> list[float]:
    """``||got - want|| / ||want||`` per variable (0 where both are exactly zero)."""
    errors = []
    for a, b in zip(got, want):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        scale = np.linalg.norm(b)
        errors.append(np.linalg.norm(a - b) / scale if scale > 0 else np.linalg.norm(a))
    return errors


def magnitude_loss(target):
    return lambda recon: 0.5 * tf.reduce_sum(tf.square(tf.abs(recon) - target))


def tape_gradient(model, inputs, loss, variables):
    with tf.GradientTape() as tape:
        value = loss(model(inputs, training=True))
        auxiliary = model.auxiliary_loss(inputs)
        if auxiliary is not None:
            value = value + tf.reduce_sum(auxiliary)
    return value, dense(tape.gradient(value, variables), variables)


def check_theorem_1(model, inputs, loss, tolerance=1e-5):
    variables = model.trainable_variables
    value, expected = tape_gradient(model, inputs, loss, variables)
    result = adjoint_gradient(model, inputs, loss, variables)
    assert float(result.loss) == pytest.approx(float(value), rel=1e-6)
    np.testing.assert_array_equal(result.reconstruction.numpy(), model(inputs).numpy())
    names = [v.path.split("/", 1)[1] for v in variables]  # without the model's numbered name
    errors = relative_errors(result.gradients, expected)
    assert max(errors) <= tolerance, dict(zip(names, errors))
    return dict(zip(names, (g.numpy() for g in result.gradients)))


def fired(diagnostics) -> dict:
    """Which branches ran: ``u`` and ``v`` taken, backtracking, eps reduced (some, not all)."""
    eps = diagnostics["eps"].numpy()
    reduced = eps[1:] < eps[:-1]
    return {
        "took_u": diagnostics["took_u"].numpy().mean(),
        "backtracks": diagnostics["backtracks"].numpy().max(),
        "failed": diagnostics["line_search_failed"].numpy().max(),
        "reduced": reduced.mean(),
    }


@pytest.mark.parametrize("smoothing", ["sqrt", "huber"])
@pytest.mark.parametrize("policy", POLICIES)
def test_theorem_1_adjoint_gradient_equals_backpropagation(policy, smoothing):
    """With eps0 = 0.05 (so that Huber's r_eps depends on eps where ||g_j|| <= eps) and sigma = 400
    (600 for the gradient-step policies) the eps rule reduces eps_t for some samples and phases and
    not for others; the default steps make meta, elda and lda take u for some samples and the
    backtracked v for others."""
    inputs, target = four_task_batch()
    sigma = 600.0 if policy in ("gd", "agd") else 400.0
    model = small_model({"name": policy, "sigma": sigma}, num_phases=3, smoothing=smoothing, eps0=0.05)
    _, diagnostics = model(inputs, return_diagnostics=True)
    branches = fired(diagnostics)
    assert 0 < branches["reduced"] < 1, branches
    if policy in ("meta", "lda", "elda"):
        assert 0 < branches["took_u"] < 1 and branches["backtracks"] >= 1, branches
    gradients = check_theorem_1(model, inputs, magnitude_loss(target))
    # The multipliers reach eps0 (through eps_t) and every phase's step size (but phase 1's
    # momentum, which multiplies x_0 - x_{-1} = 0).
    assert np.abs(gradients["log_eps0"]) > 0
    steps = [name for name in gradients if "log_alpha" in name or "momentum" in name and "_1/" not in name]
    assert all(np.abs(gradients[name]).max() > 0 for name in steps), steps


def test_theorem_1_where_the_line_search_fails():
    """Huge steps and two reductions: the search fails for some samples, which keep x (step 0)."""
    inputs, target = four_task_batch()
    model = small_model({"name": "meta", "max_backtracks": 2}, num_phases=3, alpha_init=1e4, tau_init=1e4)
    _, diagnostics = model(inputs, return_diagnostics=True)
    assert fired(diagnostics)["failed"] == 1.0
    check_theorem_1(model, inputs, magnitude_loss(target))


def test_theorem_1_with_ulda_adapters_and_domain_groups():
    model = ulda_model(num_phases=3, recompute_phases=False, eps0=0.5)
    for phase in model.phases:  # the two domains step differently: u and the safeguard both run
        phase.log_tau.assign(np.log([0.01, 1.0]).astype(np.float32))
    inputs, target = domain_batch()
    _, diagnostics = model(inputs, return_diagnostics=True)
    assert 0 < fired(diagnostics)["took_u"] < 1
    gradients = check_theorem_1(model, inputs, magnitude_loss(target))
    assert all(np.abs(gradients[f"adapters/adapter_{i}/kernel_real"]).max() > 0 for i in (1, 2))
    assert np.all(np.abs(gradients["log_eps0"]) > 0)  # each domain's eps0


def test_theorem_1_with_a_learned_sampling_matrix_and_its_auxiliary_loss():
    """Block CS with learned A and A~ (LDA paper 4.2.2): A enters the data term of every phase, A~
    the start x0 = A~ b, both the auxiliary loss; real images, the complex form of the loss."""
    keras.utils.set_random_seed(0)
    model = UnrolledLOA.lda_paper(
        BlockSampling(0.25, block_size=8, learned=True, name="measurement"),
        num_phases=2,
        num_filters=4,
        num_layers=2,
    )
    images = tf.constant(np.random.default_rng(0).random((2, 16, 16)).astype(np.float32))
    gradients = check_theorem_1(model, images, lambda recon: 0.5 * tf.reduce_sum(tf.square(recon - images)))
    for name in ("sampling_matrix", "initialization_matrix"):
        # named, since Keras numbers unnamed layers by what the process built before
        assert np.abs(gradients[f"measurement/{name}"]).max() > 0


@pytest.fixture
def arithmetic_optimizer_off():
    """Grappler's arithmetic optimizer regroups sums, so a traced replay may be rounded apart from
    the forward phase (lda_tf.training.adjoint); training turns it off by default (deterministic)."""
    before = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"arithmetic_optimization": False})
    yield
    tf.config.optimizer.set_experimental_options(
        {"arithmetic_optimization": before.get("arithmetic_optimization", True)}
    )


@pytest.mark.parametrize("policy", ["meta", "lda"])
def test_theorem_1_traced(policy, arithmetic_optimizer_off):
    inputs, target = four_task_batch()
    model = small_model(policy, num_phases=3)
    variables, loss = model.trainable_variables, magnitude_loss(target)
    _, expected = tf.function(lambda: tape_gradient(model, inputs, loss, variables))()
    got = tf.function(lambda: adjoint_gradient(model, inputs, loss, variables).gradients)()
    assert max(relative_errors(got, expected)) <= 1e-5


# ----------------------------------------------------------------------------------- float64
def toy_system(controls):
    """A float64 control system with per-sample branches, a shared and a per-stage control:
    psi: (x0, e0) = (y P, exp(c) 1); stage t: z = tanh(x W + b_t), x+ = z where ||z|| > e else
    x/2 + e z, e+ = e/2 where ||x+|| < 1.2 e (else e)."""
    num_biases = len(controls) - 4

    def psi(tensors):
        y, projection, log_scale = tensors
        x0 = y @ projection
        return [x0, tf.exp(log_scale) * tf.ones_like(x0[:, 0])]

    def stage(tensors):
        x, e, weight, bias = tensors
        z = tf.tanh(x @ weight + bias)
        norm = tf.norm(z, axis=1)
        x_next = tf.where((norm > e)[:, None], z, 0.5 * x + e[:, None] * z)
        e_next = tf.where(tf.norm(x_next, axis=1) < 1.2 * e, 0.5 * e, e)
        return [x_next, e_next]

    stages = [Stage((0, 1, 2), psi, 0)]
    stages += [Stage((3, 4 + t), stage, 2) for t in range(num_biases)]
    return ControlSystem(list(controls), stages, 2)


def toy_controls(num_stages=4, seed=0):
    rng = np.random.default_rng(seed)
    y = tf.constant(rng.standard_normal((5, 3)))
    projection = tf.constant(rng.standard_normal((3, 4)))
    log_scale = tf.constant(np.log(1.4), tf.float64)
    weight = tf.constant(0.8 * rng.standard_normal((4, 4)))
    biases = [tf.constant(0.3 * rng.standard_normal(4)) for _ in range(num_stages)]
    return [y, projection, log_scale, weight, *biases]


def toy_loss(state):
    return 0.5 * tf.reduce_sum(tf.square(state[0] - 0.3)) + tf.reduce_sum(state[1])


def toy_value(controls):
    system = toy_system(controls)
    return toy_loss(forward(system)[-1])


def toy_gradient(controls):
    system = toy_system(controls)
    states = forward(system)
    with tf.GradientTape() as tape:
        tape.watch(states[-1])
        value = toy_loss(states[-1])
    return value, multiplier_recursion(system, states, tape.gradient(value, states[-1])), states


def test_multiplier_recursion_in_float64_equals_the_tape_and_finite_differences():
    controls = toy_controls()
    value, gradients, states = toy_gradient(controls)
    branches = [(tf.norm(s[0], axis=1).numpy(), s[1].numpy()) for s in states]
    halved = np.concatenate([b[1] for b in branches[1:]]) < np.concatenate([b[1] for b in branches[:-1]])
    assert 0 < halved.mean() < 1  # the e rule fires for some samples and stages
    with tf.GradientTape() as tape:
        tape.watch(controls)
        expected = tape.gradient(toy_value(controls), controls)
    assert max(relative_errors(gradients, expected)) <= 1e-13
    rng = np.random.default_rng(1)
    directions = [rng.standard_normal(c.shape) for c in controls]
    h = 1e-6
    shifted = [
        float(toy_value([c + sign * h * d for c, d in zip(controls, directions)])) for sign in (1.0, -1.0)
    ]
    directional = sum(float(tf.reduce_sum(g * d)) for g, d in zip(gradients, directions))
    assert (shifted[0] - shifted[1]) / (2 * h) == pytest.approx(directional, rel=1e-8)


def test_second_order_recursion_in_float64_equals_nested_tapes():
    """The tangent and second-order recursions give ``d/dr grad_c L(c + r w)`` = ``H w``, the
    nested-tape Hessian-vector product (and central differences of the gradient)."""
    controls = toy_controls()
    rng = np.random.default_rng(2)
    direction = [tf.zeros_like(controls[0])] + [
        tf.constant(rng.standard_normal(c.shape)) for c in controls[1:]
    ]
    system = toy_system(controls)
    states = forward(system)
    tangents = tangent_recursion(system, states, direction)
    x = states[-1]
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            value = toy_loss(x)
        final = inner.gradient(value, x)
        pairing = adjoint_module.real_inner(final, tangents[-1])
    final_tangent = outer.gradient(pairing, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    gradients, products = second_order_recursion(system, states, tangents, direction, final, final_tangent)

    with tf.GradientTape() as outer:
        outer.watch(controls)
        with tf.GradientTape() as inner:
            inner.watch(controls)
            value = toy_value(controls)
        first = inner.gradient(value, controls)
        pairing = adjoint_module.real_inner(first, direction)
    expected = outer.gradient(pairing, controls)
    assert max(relative_errors(gradients, first)) <= 1e-13
    assert max(relative_errors(products, expected)) <= 1e-12
    h = 1e-6
    plus, minus = (
        toy_gradient([c + sign * h * d for c, d in zip(controls, direction)])[1] for sign in (1.0, -1.0)
    )
    central = [(a - b) / (2 * h) for a, b in zip(plus, minus)]
    assert max(relative_errors(products, central)) <= 1e-7


# ----------------------------------------------------------------------------------- second order
def test_hessian_vector_product_equals_nested_tapes():
    inputs, target = four_task_batch()
    model = small_model("meta", num_phases=2)
    theta, loss = model.theta_variables, magnitude_loss(target)
    rng = np.random.default_rng(0)
    direction = [tf.constant(rng.standard_normal(v.shape).astype(np.float32)) for v in theta]
    variables = model.trainable_variables  # omega's row of H too
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            value = loss(model(inputs, training=True))
        first = dense(inner.gradient(value, theta), theta)
        pairing = tf.add_n([tf.reduce_sum(g * d) for g, d in zip(first, direction)])
    expected = dense(outer.gradient(pairing, variables), variables)
    moving = {id(v) for v in theta}
    directions = iter(direction)
    full = [next(directions) if id(v) in moving else None for v in variables]
    result, products = hessian_vector_product(model, inputs, loss, variables, full)
    assert max(relative_errors(products, expected)) <= 1e-5
    _, gradient = tape_gradient(model, inputs, loss, variables)
    assert max(relative_errors(result.gradients, gradient)) <= 1e-5


@pytest.mark.parametrize("policy", ["meta", "lda"])
def test_bilevel_penalty_gradient_by_adjoint_equals_the_tape(policy):
    """(17)'s gradient, lambda H G by the second-order recursion, against the nested tapes of
    lda_tf.training.bilevel.penalty_objective."""
    batch = next(iter(meta_batches()))
    model = trainer(num_phases=2, policy=policy)
    theta, omega = model.network.theta_variables, model.network.omega_variables
    weight = tf.constant(0.5)
    expected = penalty_objective(model.batch_loss, batch["train"], batch["val"], theta, omega, weight)
    got = adjoint_module.penalty_objective(
        model.network, model.sample_loss, batch["train"], batch["val"], theta, omega, weight
    )
    assert float(expected.penalty) > 1e-3 * float(expected.val_loss)  # the second-order term matters
    for name in ("objective", "val_loss", "train_loss", "penalty"):
        assert float(getattr(got, name)) == pytest.approx(float(getattr(expected, name)), rel=1e-5), name
    errors = relative_errors(
        got.theta_gradients + got.omega_gradients, expected.theta_gradients + expected.omega_gradients
    )
    assert max(errors) <= 1e-5


# ----------------------------------------------------------------------------------- trainer
@pytest.mark.parametrize("mode, traced", [("conventional", False), ("meta", False), ("meta", True)])
def test_trainer_step_with_the_adjoint_gradient_moves_the_weights_as_the_tape(mode, traced):
    """One train_step with SGD (Adam's first step is the gradient's sign, which rounding can flip
    where a component is near 0) from the same weights under both gradient settings; traced, the
    bilevel step's penalty evaluation is a nested ``tf.function`` (``LOATrainer._meta_step``)."""
    batch = next(iter(meta_batches()))
    data = batch if mode == "meta" else batch["train"]
    weights = []
    for gradient in ("tape", "adjoint"):
        keras.utils.set_random_seed(0)
        network = UnrolledLOA(
            MRISampling(name="measurement"), num_phases=1, num_tasks=0 if mode == "conventional" else 2
        )
        model = LOATrainer(network, mode, BilevelConfig(delta0=1e-12, delta_tol=0.0), gradient=gradient)
        model.compile(keras.optimizers.SGD(1e-3), keras.optimizers.SGD(1e-3))
        before = [v.numpy().copy() for v in network.trainable_variables]
        (tf.function(model.train_step) if traced else model.train_step)(data)
        assert int(model.skipped_steps.numpy()) == 0
        weights.append([v.numpy() - b for v, b in zip(network.trainable_variables, before)])
    assert max(relative_errors(weights[1], weights[0])) <= 1e-5
    assert model.get_config()["gradient"] == "adjoint"


def test_the_adjoint_gradient_needs_phases_as_state_maps():
    network = ReleaseUnrolled(ReleaseSampling(name="measurement"), num_phases=1, num_tasks=2)
    with pytest.raises(ValueError, match="`gradient`.*UnrolledLOA"):
        LOATrainer(network, "meta", gradient="adjoint")
    with pytest.raises(ValueError, match="gradient"):
        LOATrainer(small_model(), "meta", gradient="backprop")
    # The task-correlation trainer's per-task gradients are tapes: it refuses rather than ignores.
    with pytest.raises(ValueError, match="by tape; got gradient='adjoint'"):
        TaskCorrelationTrainer(
            small_model(num_tasks=0), num_train_tasks=2, num_validation_tasks=2, gradient="adjoint"
        )


def test_gradient_is_a_runtime_setting():
    config = TrainingConfig(output_dir="o")
    assert config.gradient == "tape"
    refused, allowed = differences(config, config.replace(gradient="adjoint"))
    assert refused == [] and [name for name, _, _ in allowed] == ["gradient"]
    with pytest.raises(ValueError, match="gradient"):
        config.replace(gradient="backprop")
