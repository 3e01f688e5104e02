"""GD-Net and AGD-Net (LDA paper 4.3.1): the u step turned off, and the inertial step."""

import numpy as np
import tensorflow as tf

from lda_tf.loa.phase import initial_state
from tests.loa.helpers import four_task_batch, small_model


def _explicit_gradient_steps(model, inputs, momenta):
    """x_{t+1} = x_t - alpha_t grad phi_{eps_t}(x_t) + theta_t (x_t - x_{t-1}), written out with
    the objective's gradient and eps kept by the same rule."""
    unrolled = model.unroll(inputs)
    objective, eps = unrolled.objective, unrolled.diagnostics["eps"]
    previous = image = unrolled.iterates[0]
    for t, phase in enumerate(model.phases[: model.active_phases]):
        point = objective.point(image)
        step = image - tf.cast(phase.alpha, tf.complex64) * objective.gradient(point, eps[t])
        step = step + tf.cast(momenta[t], tf.complex64) * (image - previous)
        previous, image = image, step
    return unrolled, image


def test_gd_net_is_unrolled_gradient_descent_on_phi():
    inputs, _ = four_task_batch()
    model = small_model("gd", num_phases=3)
    unrolled, expected = _explicit_gradient_steps(model, inputs, [0.0, 0.0, 0.0])
    np.testing.assert_allclose(unrolled.state.point.image.numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)
    assert np.all(unrolled.diagnostics["took_u"].numpy() == 0)


def test_agd_net_adds_the_learned_momentum():
    inputs, _ = four_task_batch()
    model = small_model("agd", num_phases=3)
    for phase, value in zip(model.phases, (0.5, 0.3, -0.2)):
        phase.momentum.assign(value)
    unrolled, expected = _explicit_gradient_steps(model, inputs, [0.5, 0.3, -0.2])
    np.testing.assert_allclose(unrolled.state.point.image.numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)
    # the momentum is a theta variable that training reaches
    assert any(variable is model.phases[0].momentum for variable in model.theta_variables)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.abs(model(inputs, training=True)))
    assert float(tf.abs(tape.gradient(loss, model.phases[1].momentum))) > 0


def test_only_agd_has_momentum_and_stair_growth_copies_it():
    assert small_model("gd").phases[0].momentum is None
    model = small_model("agd", num_phases=3, active_phases=1)
    model.phases[0].momentum.assign(0.7)
    model.set_active_phases(3, copy_steps_from_last=True)
    np.testing.assert_allclose([p.momentum.numpy() for p in model.phases], 0.7)
    inputs, _ = four_task_batch()
    state = initial_state(model.unroll(inputs).objective, model.initial_image(inputs), tf.fill([4], 1e-3))
    np.testing.assert_array_equal(state.previous.numpy(), state.point.image.numpy())
