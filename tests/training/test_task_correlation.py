"""Algorithm 1 of the task-correlation paper (lda_tf.training.task_correlation): the hypergradients
against finite differences of the objectives they differentiate (float64 on smooth toy losses,
float32 on the network), the estimators against each other where they must agree, and the steps
of Algorithm 1 against Adam on independently computed gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from lda_tf import UnrolledLOA
from lda_tf.data import cross_task_batches
from lda_tf.loa.task_specific import TaskSpecificUnrolled
from lda_tf.mri import MRISampling
from lda_tf.training.task_correlation import (
    TaskCorrelationConfig,
    TaskCorrelationTrainer,
    correlation_weights,
    lookahead_hypergradient,
    unrolled_hypergradient,
    virtual_step,
)
from tests.training.helpers import TASKS, images


# ------------------------------------------------------------------------------ float64, toy losses
def _toy_problem(num_tasks=3, seed=0):
    """Smooth, non-quadratic per-task losses of two parameter tensors (float64)."""
    rng = np.random.default_rng(seed)
    shapes = [(3,), (2, 2)]
    size = sum(int(np.prod(shape)) for shape in shapes)
    matrices = [tf.constant(rng.standard_normal((4, size))) for _ in range(num_tasks + 1)]
    offsets = [tf.constant(rng.standard_normal(4)) for _ in range(num_tasks + 1)]

    def loss(index, values):
        flat = tf.concat([tf.reshape(v, [-1]) for v in values], axis=0)
        residual = tf.linalg.matvec(matrices[index], flat) - offsets[index]
        return tf.reduce_sum(tf.math.log(tf.cosh(residual))) + 0.1 * tf.reduce_sum(flat**4)

    theta = [tf.constant(rng.standard_normal(shape)) for shape in shapes]
    task_losses = [lambda values, i=i: loss(i, values) for i in range(num_tasks)]
    return theta, task_losses, lambda values: loss(num_tasks, values)


def _gradient(function, values):
    values = [tf.convert_to_tensor(v) for v in values]
    with tf.GradientTape() as tape:
        tape.watch(values)
        result = function(values)
    return tape.gradient(result, values)


def _central_differences(function, point: np.ndarray, h: float) -> np.ndarray:
    result = np.zeros_like(point)
    for index in np.ndindex(point.shape):
        step = np.zeros_like(point)
        step[index] = h
        result[index] = (function(point + step) - function(point - step)) / (2 * h)
    return result


def test_lookahead_closed_form_is_the_gradient_of_the_lookahead_objective_float64():
    theta, task_losses, val_loss = _toy_problem()
    eta = 0.05
    logits = np.array([0.3, -0.2, 0.1])
    per_task = [_gradient(loss, theta) for loss in task_losses]
    stacked = [tf.stack([g[v] for g in per_task]) for v in range(len(theta))]  # [M, *shape]
    weights = correlation_weights(tf.constant(logits))
    ahead = virtual_step(theta, weights, stacked, eta)
    hypergradient = lookahead_hypergradient(weights, stacked, _gradient(val_loss, ahead), eta)

    def objective(c):  # F(c) = L_val(theta - eta sum_i softmax(c)_i G_i), G_i fixed at theta
        w = np.exp(c) / np.exp(c).sum()
        moved = [t - eta * sum(w[i] * per_task[i][v] for i in range(3)) for v, t in enumerate(theta)]
        return float(val_loss(moved))

    expected = _central_differences(objective, logits, 1e-5)
    np.testing.assert_allclose(hypergradient.numpy(), expected, rtol=1e-7, atol=1e-12)
    assert np.abs(expected).max() > 1e-3  # the objective does depend on c
    assert abs(float(tf.reduce_sum(hypergradient))) < 1e-12  # softmax: shifting every c_i changes nothing


def test_first_order_variant_is_the_small_step_limit_of_the_lookahead_float64():
    theta, task_losses, val_loss = _toy_problem(seed=1)
    per_task = [_gradient(loss, theta) for loss in task_losses]
    stacked = [tf.stack([g[v] for g in per_task]) for v in range(len(theta))]
    weights = correlation_weights(tf.constant([0.5, 0.0, -0.5], tf.float64))
    at_theta = _gradient(val_loss, theta)
    for eta, tolerance in ((1e-2, 1e-1), (1e-5, 1e-4)):
        ahead = virtual_step(theta, weights, stacked, eta)
        lookahead = lookahead_hypergradient(weights, stacked, _gradient(val_loss, ahead), eta) / eta
        first_order = lookahead_hypergradient(weights, stacked, at_theta, eta) / eta
        np.testing.assert_allclose(lookahead.numpy(), first_order.numpy(), rtol=tolerance)


@pytest.mark.parametrize("steps", [1, 3])
def test_unrolled_hypergradient_matches_finite_differences_float64(steps):
    theta, task_losses, val_loss = _toy_problem(seed=2)
    eta = 0.05
    logits = np.array([[0.3, 0.0], [-0.2, 0.4], [0.1, -0.1]])  # two columns, each its own theta

    def lower(values, weights):  # sum_k sum_i W_ik L_i(theta_k), theta_k = values[2k: 2k + 2]
        return tf.add_n(
            [
                weights[i, k] * loss(values[2 * k : 2 * k + 2])
                for k in range(2)
                for i, loss in enumerate(task_losses)
            ]
        )

    def upper(values):
        return val_loss(values[:2]) + 2.0 * val_loss(values[2:])

    start = theta + [t + 0.1 for t in theta]
    objective, hypergradient = unrolled_hypergradient(lower, upper, start, tf.constant(logits), steps, eta)

    def objective_at(c):  # the same k SGD steps, each gradient by its own tape
        weights = tf.constant(np.exp(c) / np.exp(c).sum(axis=0))
        values = [tf.convert_to_tensor(v) for v in start]
        for _ in range(steps):
            values = [v - eta * g for v, g in zip(values, _gradient(lambda x: lower(x, weights), values))]
        return float(upper(values))

    assert float(objective) == pytest.approx(objective_at(logits), rel=1e-12)
    expected = _central_differences(objective_at, logits, 1e-5)
    np.testing.assert_allclose(hypergradient.numpy(), expected, rtol=1e-6, atol=1e-11)
    if steps == 1:  # one step: the look-ahead closed form, column by column
        for k in range(2):
            values = start[2 * k : 2 * k + 2]
            per_task = [_gradient(loss, values) for loss in task_losses]
            stacked = [tf.stack([g[v] for g in per_task]) for v in range(2)]
            weights = correlation_weights(tf.constant(logits))[:, k]
            ahead = virtual_step(values, weights, stacked, eta)
            scale = 1.0 if k == 0 else 2.0
            direction = [scale * g for g in _gradient(val_loss, ahead)]
            closed = lookahead_hypergradient(weights, stacked, direction, eta)
            np.testing.assert_allclose(hypergradient.numpy()[:, k], closed.numpy(), rtol=1e-9)


# ------------------------------------------------------------------------------ float32, the network
def _batch():
    return next(iter(cross_task_batches(images("train"), images("val"), TASKS, seed=0)))


def _trainer(model="vector", hypergradient="lookahead", eta=5e-2, **network):
    keras.utils.set_random_seed(0)
    # relu_delta = 10 keeps g in the quadratic piece of the smoothed ReLU and "residual" takes no
    # branch: the objective is smooth, so central differences converge.
    settings = dict(num_phases=1, policy="residual", relu_delta=10.0, **network)
    net = UnrolledLOA(MRISampling(name="measurement"), num_tasks=0, **settings)
    if model == "matrix":
        net = TaskSpecificUnrolled.replicate(net, len(TASKS))
        for index, member in enumerate(net.members):  # different networks theta_j
            for weight in member.trainable_weights:
                weight.assign(weight * (1.0 + 0.1 * index))
    config = TaskCorrelationConfig(model=model, hypergradient=hypergradient, virtual_learning_rate=eta)
    trainer = TaskCorrelationTrainer(
        net, correlation=config, num_train_tasks=len(TASKS), num_validation_tasks=len(TASKS)
    )
    trainer.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-2))
    return trainer


def _masked_loss(trainer, member, batch, task, values=None):
    """Sum of the losses of ``batch``'s samples of ``task`` (by mask, not per sample)."""
    inputs, target = batch
    with trainer._at(values):
        losses = trainer.sample_loss(member(inputs, training=True), target)
    return tf.reduce_sum(tf.cast(tf.equal(inputs.task_index, task), tf.float32) * losses)


def _lookahead_objective(trainer, batch, logits: np.ndarray) -> float:
    """``sum_j F_j(C)`` computed directly: per-task gradients by masked losses, the virtual step,
    the validation losses (vector: all tasks on the one network; matrix: task j on network j)."""
    weights = np.exp(logits) / np.exp(logits).sum(axis=0)
    eta = trainer.correlation.virtual_learning_rate
    moved = []
    for k, (member, variables) in enumerate(zip(trainer.members, trainer.member_variables)):
        step = [tf.zeros_like(v) for v in variables]
        for task in range(len(TASKS)):
            with tf.GradientTape() as tape:
                loss = _masked_loss(trainer, member, batch["train"], task)
            gradients = tape.gradient(loss, variables)
            step = [s + weights[task, k] * g for s, g in zip(step, gradients)]
        moved += [tf.convert_to_tensor(v) - eta * s for v, s in zip(variables, step)]
    if len(trainer.members) == 1:
        inputs, target = batch["val"]
        with trainer._at(moved):
            return float(tf.reduce_sum(trainer.sample_loss(trainer.members[0](inputs), target)))
    return sum(
        float(_masked_loss(trainer, member, batch["val"], j, moved))
        for j, member in enumerate(trainer.members)
    )


@pytest.mark.parametrize("model", ["vector", "matrix"])
def test_network_lookahead_hypergradient_matches_finite_differences(model):
    trainer = _trainer(model)
    batch = _batch()
    rng = np.random.default_rng(0)
    logits = rng.standard_normal(trainer.task_correlation_logits.shape).astype(np.float32)
    trainer.task_correlation_logits.assign(logits)
    objective, hypergradient = trainer.hypergradient(batch["train"], batch["val"])
    assert float(objective) == pytest.approx(_lookahead_objective(trainer, batch, logits), rel=1e-5)
    direction = rng.standard_normal(logits.shape)
    h = 0.02
    difference = (
        _lookahead_objective(trainer, batch, logits + h * direction)
        - _lookahead_objective(trainer, batch, logits - h * direction)
    ) / (2 * h)
    directional = float(np.sum(hypergradient.numpy() * direction))
    assert abs(directional) > 1e-3
    assert directional == pytest.approx(difference, rel=2e-3)


@pytest.mark.parametrize("model", ["vector", "matrix"])
def test_unrolled_through_one_step_equals_the_lookahead_on_the_network(model):
    batch = _batch()
    results = []
    for estimator in ("lookahead", "unrolled"):
        trainer = _trainer(model, estimator)
        trainer.task_correlation_logits.assign(
            np.linspace(-1, 1, trainer.task_correlation_logits.shape.num_elements())
            .reshape(trainer.task_correlation_logits.shape)
            .astype(np.float32)
        )
        results.append([t.numpy() for t in trainer.hypergradient(batch["train"], batch["val"])])
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-3, atol=1e-6)


def test_penalty_hypergradient_is_the_gradient_of_the_weighted_penalty_objective():
    # (17) with the softmax-weighted lower loss, differentiated literally by nested tapes.
    trainer = _trainer("vector", "penalty")
    trainer.penalty_weight.assign(0.5)
    trainer.task_correlation_logits.assign([[0.4], [-0.3]])
    batch = _batch()
    objective, hypergradient = trainer.hypergradient(batch["train"], batch["val"])
    logits = trainer.task_correlation_logits
    with tf.GradientTape() as outer:
        weights = tf.nn.softmax(logits, axis=0)
        with tf.GradientTape() as inner:
            lower = _masked_loss(trainer, trainer.network, batch["train"], 0) * weights[0, 0]
            lower += _masked_loss(trainer, trainer.network, batch["train"], 1) * weights[1, 0]
        gradients = inner.gradient(lower, trainer.theta)
        literal = tf.reduce_sum(
            trainer.sample_loss(trainer.network(batch["val"][0]), batch["val"][1])
        ) + 0.25 * tf.add_n([tf.reduce_sum(g * g) for g in gradients if g is not None])
    expected = outer.gradient(literal, logits)
    assert float(objective) == pytest.approx(float(literal), rel=1e-5)
    np.testing.assert_allclose(hypergradient.numpy(), expected.numpy(), rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("model", ["vector", "matrix"])
def test_algorithm1_steps_theta_on_the_weighted_loss_then_the_logits(model):
    # Plain SGD for both, so that the steps show the gradients themselves (Adam's first step is
    # about sign(g)).
    trainer = _trainer(model, "lookahead")
    trainer.compile(keras.optimizers.SGD(1e-2), keras.optimizers.SGD(10.0))
    batch = _batch()
    logits = np.array([[0.5], [-0.5]] if model == "vector" else [[0.5, 0.0], [-0.5, 0.2]], np.float32)
    trainer.task_correlation_logits.assign(logits)
    weights = np.exp(logits) / np.exp(logits).sum(axis=0)
    expected_theta = []
    for k, (member, variables) in enumerate(zip(trainer.members, trainer.member_variables)):
        total = [np.zeros(v.shape, np.float32) for v in variables]
        for task in range(len(TASKS)):
            with tf.GradientTape() as tape:
                loss = _masked_loss(trainer, member, batch["train"], task)
            for index, g in enumerate(tape.gradient(loss, variables)):
                if g is not None:
                    total[index] += weights[task, k] * g.numpy()
        expected_theta += [v.numpy() - 1e-2 * g for v, g in zip(variables, total)]
    start = [v.numpy() for v in trainer.theta]
    trainer.train_step(batch)
    for variable, expected, before in zip(trainer.theta, expected_theta, start):
        np.testing.assert_allclose(variable.numpy() - before, expected - before, rtol=1e-3, atol=1e-8)
    # Then Adam's first step on C with the hypergradient at the updated theta and the old C.
    stepped = trainer.task_correlation_logits.numpy()
    trainer.task_correlation_logits.assign(logits)
    _, hypergradient = trainer.hypergradient(batch["train"], batch["val"])
    assert np.abs(hypergradient.numpy()).max() > 1e-4
    np.testing.assert_allclose(stepped - logits, -10.0 * hypergradient.numpy(), rtol=1e-3, atol=1e-8)


def test_uniform_weights_never_move():
    trainer = _trainer("vector", "none")
    batch = _batch()
    logs = trainer.train_step(batch)
    assert np.all(trainer.task_correlation_logits.numpy() == 0)
    assert float(logs["weight_task0"]) == pytest.approx(0.5) and "upper_loss" not in logs


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(model="matrix"), "the matrix model needs one network per validation task"),
        (dict(model="vector", network_tasks=2), "the vector model trains one network without task weights"),
        (dict(mode="meta"), "TaskCorrelationTrainer trains mode 'task_correlation'"),
    ],
)
def test_trainer_refuses_a_network_of_the_other_model(arguments, message):
    net = UnrolledLOA(
        MRISampling(name="measurement"), num_phases=1, num_tasks=arguments.get("network_tasks", 0)
    )
    with pytest.raises(ValueError, match=message):
        TaskCorrelationTrainer(
            net,
            arguments.get("mode", "task_correlation"),
            correlation=TaskCorrelationConfig(model=arguments.get("model", "vector")),
            num_train_tasks=2,
            num_validation_tasks=2,
        )


def test_settings_are_checked_and_name_the_setting():
    with pytest.raises(ValueError, match="argument `correlation_hypergradient` must be one of"):
        TaskCorrelationConfig(hypergradient="implicit")
    with pytest.raises(ValueError, match="argument `correlation_virtual_learning_rate` must be > 0"):
        TaskCorrelationConfig(virtual_learning_rate=0.0)
