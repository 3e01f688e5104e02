import numpy as np
import pytest
import tensorflow as tf

from lda_tf import UnrolledLOA
from lda_tf.loa.phase import initial_state, phase_iteration
from lda_tf.mri import MRISampling
from lda_tf.training.bilevel import dense
from tests.loa.helpers import SHAPE, four_task_batch, small_model


def test_forward_on_four_tasks_shape_dtype_and_eager_equals_graph():
    inputs, _ = four_task_batch()
    model = small_model("meta", num_phases=3)
    eager = model(inputs)
    graph = tf.function(lambda batch: model(batch))(inputs)
    assert eager.shape == (4,) + SHAPE and eager.dtype == tf.complex64
    np.testing.assert_allclose(graph.numpy(), eager.numpy(), rtol=1e-5, atol=1e-6)


def test_kappa_is_the_sigmoid_of_the_sample_task_weight():
    model = small_model()
    model.omega.assign([-1.0, 0.0, 1.0, 2.0])
    kappa = model.task_weights(tf.constant([3, 0, 0, 2]), 4).numpy()
    np.testing.assert_allclose(kappa, 1 / (1 + np.exp(-np.array([2.0, -1.0, -1.0, 1.0]))), rtol=1e-6)
    baseline = UnrolledLOA(MRISampling(), num_phases=1, num_tasks=0)
    np.testing.assert_array_equal(baseline.task_weights(None, 3).numpy(), [1.0, 1.0, 1.0])


def test_theta_and_omega_partition_the_trainable_variables():
    model = small_model(num_phases=3)
    theta, omega = model.theta_variables, model.omega_variables
    assert {id(v) for v in theta}.isdisjoint(id(v) for v in omega)
    assert len(theta) + len(omega) == len(model.trainable_variables)
    assert len(theta) == 6 + 1 + 2 * 3  # g's kernels (re, im per layer), eps0, alpha_t and tau_t
    assert id(model._active_phases) not in {id(v) for v in model.trainable_variables}


def test_changing_active_phases_matches_manual_iteration_and_never_goes_stale():
    inputs, _ = four_task_batch()
    model = small_model("meta", num_phases=3)
    model.compile()
    dataset = tf.data.Dataset.from_tensors((inputs,))  # x = the (kspace, mask, task_index) tuple
    full = model.predict(dataset, verbose=0)
    assert model.predict_function is not None
    model.set_active_phases(1)
    assert model.predict_function is None  # the compiled 3-phase function is dropped
    one = model.predict(dataset, verbose=0)
    assert not np.allclose(full, one)
    np.testing.assert_allclose(one, model(inputs).numpy(), rtol=1e-5, atol=1e-6)

    objective = model.unroll(inputs).objective
    state = initial_state(objective, objective.data.zero_filled(), tf.fill([4], 1e-3))
    manual, _ = phase_iteration(objective, state, model.phases[0].alpha, model.phases[0].tau, model.policy)
    np.testing.assert_allclose(one, manual.point.image.numpy(), rtol=1e-5, atol=1e-6)
    _, diagnostics = model(inputs, return_diagnostics=True)
    assert diagnostics["eps"].shape == (1, 4)
    with pytest.raises(ValueError, match="active phases"):
        model.set_active_phases(4)


def test_growing_phases_copies_the_last_step_sizes():
    model = small_model(num_phases=4, active_phases=2)
    model.phases[1].log_alpha.assign(np.log(0.3))
    model.phases[1].log_tau.assign(np.log(0.02))
    model.set_active_phases(4, copy_steps_from_last=True)
    for phase in model.phases[2:]:
        assert phase.alpha.numpy() == pytest.approx(0.3) and phase.tau.numpy() == pytest.approx(0.02)
    assert model.active_phases == 4


@pytest.mark.parametrize("policy", ["meta", "lda", "elda", "residual"])
def test_gradients_reach_theta_and_omega(policy):
    inputs, target = four_task_batch()
    model = small_model(policy, num_phases=2)
    with tf.GradientTape() as tape:
        loss = 0.5 * tf.reduce_sum(tf.square(tf.abs(model(inputs, training=True)) - target))
    gradients = tape.gradient(loss, model.trainable_variables)
    for variable, gradient in zip(model.trainable_variables, gradients):
        assert gradient is not None, variable.path
        assert np.all(np.isfinite(tf.convert_to_tensor(gradient).numpy())), variable.path
    omega_gradient = tf.convert_to_tensor(
        gradients[[id(v) for v in model.trainable_variables].index(id(model.omega))]
    )
    assert np.all(omega_gradient.numpy() != 0)  # every task has a sample in the batch


@pytest.mark.parametrize("policy", ["residual", "meta"])
def test_step_size_gradient_matches_finite_differences(policy):
    inputs, target = four_task_batch()
    # relu_delta = 0.1: with relu_delta = 1e-3 pre-activations crossing the kinks of phi'' make central
    # differences at h = 1e-2 off by a few percent (they converge to autodiff as h shrinks).
    model = small_model(policy, num_phases=2, relu_delta=0.1)

    def loss():
        return 0.5 * tf.reduce_sum(tf.square(tf.abs(model(inputs)) - target))

    variable = model.phases[0].log_tau
    with tf.GradientTape() as tape:
        value = loss()
    autodiff = tape.gradient(value, variable).numpy()
    start, h = variable.numpy(), 1e-2
    variable.assign(start + h)
    plus = loss().numpy()
    variable.assign(start - h)
    minus = loss().numpy()
    variable.assign(start)
    assert (plus - minus) / (2 * h) == pytest.approx(autodiff, rel=1e-2)


def test_omega_gradient_matches_finite_differences():
    inputs, target = four_task_batch()
    model = small_model("residual", num_phases=2, relu_delta=0.1)

    def loss():
        return 0.5 * tf.reduce_sum(tf.square(tf.abs(model(inputs)) - target))

    with tf.GradientTape() as tape:
        value = loss()
    autodiff = tf.convert_to_tensor(tape.gradient(value, model.omega)).numpy()
    start, h = model.omega.numpy(), 1e-2
    for task in range(4):
        shift = np.eye(4, dtype=np.float32)[task] * h
        model.omega.assign(start + shift)
        plus = loss().numpy()
        model.omega.assign(start - shift)
        minus = loss().numpy()
        assert (plus - minus) / (2 * h) == pytest.approx(autodiff[task], rel=1e-2, abs=1e-4)
    model.omega.assign(start)


def test_configuration_and_weights_round_trip(tmp_path):
    inputs, _ = four_task_batch()
    model = small_model("elda", num_phases=3, smoothing="huber", active_phases=2)
    model.omega.assign([0.5, -0.5, 1.0, 0.0])
    model.phases[0].log_alpha.assign(-0.3)
    expected = model(inputs).numpy()

    clone = UnrolledLOA.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    model.save_weights(tmp_path / "model.weights.h5")
    clone.load_weights(tmp_path / "model.weights.h5")
    np.testing.assert_array_equal(clone(inputs).numpy(), expected)

    model.save(tmp_path / "model.keras")
    loaded = tf.keras.models.load_model(tmp_path / "model.keras")
    assert loaded.policy == model.policy and loaded.active_phases == 2
    np.testing.assert_array_equal(loaded(inputs).numpy(), expected)


def test_model_saved_with_the_old_name_delta_loads():
    config = small_model(relu_delta=0.02).get_config()
    config["delta"] = config.pop("relu_delta")
    assert UnrolledLOA.from_config(config).features.relu_delta == 0.02


def test_the_measurement_is_required_and_must_be_a_measurement_layer():
    with pytest.raises(TypeError):
        UnrolledLOA(num_phases=1)  # no measurement given
    with pytest.raises(TypeError, match="Measurement layer"):
        UnrolledLOA("mri", num_phases=1)


def test_paper_configurations():
    meta = UnrolledLOA.meta_paper(MRISampling())
    assert (meta.num_phases, meta.num_tasks, meta.features.num_layers, meta.features.num_filters) == (
        11,
        4,
        3,
        4,
    )
    assert (meta.features.relu_delta, meta.smoothing, meta.policy.name) == (1e-3, "sqrt", "meta")
    assert meta.eps0.numpy() == pytest.approx(1e-3)
    lda = UnrolledLOA.lda_paper(MRISampling())
    assert (lda.num_phases, lda.features.num_layers, lda.features.num_filters) == (15, 4, 32)
    assert (lda.features.relu_delta, lda.smoothing, lda.policy.name) == (0.01, "huber", "lda")


def test_bad_inputs_give_clear_errors():
    inputs, _ = four_task_batch()
    model = small_model()
    with pytest.raises(ValueError, match="task_index"):
        model(inputs[:2])
    with pytest.raises(tf.errors.InvalidArgumentError, match="task_index must be < num_tasks"):
        model(inputs._replace(task_index=tf.constant([0, 1, 2, 7])))
    with pytest.raises(ValueError, match="mask shape"):
        model(inputs._replace(mask=inputs.mask[:, :8]))


def test_autodiff_reference_gives_the_same_reconstruction_and_gradients():
    """The naive formulation (grad r_eps by autodiff through g) against the explicit J_g^H, for the
    output and for the training gradient through the unrolled phases."""
    inputs, target = four_task_batch()
    results = []
    for mode in ("explicit", "autodiff"):
        model = small_model(num_phases=2, regularizer_gradient=mode)
        with tf.GradientTape() as tape:
            recon = model(inputs, training=True)
            loss = 0.5 * tf.reduce_sum(tf.square(tf.abs(recon) - target))
        gradients = tape.gradient(loss, model.trainable_variables)
        results.append((recon.numpy(), [tf.convert_to_tensor(g).numpy() for g in gradients]))
    (recon_explicit, grads_explicit), (recon_autodiff, grads_autodiff) = results
    np.testing.assert_allclose(recon_autodiff, recon_explicit, rtol=1e-5, atol=1e-6)
    for explicit, autodiff in zip(grads_explicit, grads_autodiff):
        assert np.linalg.norm(autodiff - explicit) <= 1e-4 * np.linalg.norm(explicit) + 1e-7
    with pytest.raises(ValueError, match="regularizer_gradient"):
        small_model(regularizer_gradient="numeric")


def _values_and_gradients(model, inputs, target, traced: bool):
    """Reconstruction, diagnostics and the gradient of a squared-error loss in every variable."""

    def run():
        with tf.GradientTape() as tape:
            recon, diagnostics = model(inputs, training=True, return_diagnostics=True)
            loss = 0.5 * tf.reduce_sum(tf.square(tf.abs(recon) - target))
        variables = model.trainable_variables
        return recon, diagnostics, dense(tape.gradient(loss, variables), variables)

    return tf.function(run)() if traced else run()


SAME_PHASES_CASES = [
    ("meta", False, {}),
    ("lda", False, {}),
    ("agd", False, {}),
    ("meta", True, {}),
    ("lda", True, {}),
    ("elda", True, {"num_tasks": 0, "num_domains": 4}),  # U-LDA: per-sample step sizes [B]
]


@pytest.mark.parametrize("setting", ["recompute_phases", "loop_phases"])
@pytest.mark.parametrize("policy, traced, network", SAME_PHASES_CASES, ids=lambda case: str(case))
def test_recomputed_or_looped_phases_give_the_same_values_and_gradients(setting, policy, traced, network):
    """Recomputing each phase in the backward pass, or running the phases as one
    ``tf.while_loop``, changes neither the reconstruction, the diagnostics nor the training
    gradient; the reference is autodiff through the stored, unrolled phases.
    Traced, graph optimisation may round a phase differently in another graph
    (~1e-7); the smoothed ReLU's phi'' = 1/(2 relu_delta) amplifies that to ~1e-4 at relu_delta =
    1e-3, so the traced cases use relu_delta = 0.1."""
    inputs, target = four_task_batch()
    delta = 0.1 if traced else 1e-3
    stored, recomputed = (
        _values_and_gradients(
            small_model(policy, relu_delta=delta, **network, **{setting: flag}), inputs, target, traced
        )
        for flag in (False, True)
    )
    np.testing.assert_allclose(recomputed[0].numpy(), stored[0].numpy(), rtol=1e-6, atol=1e-7)
    for name, values in stored[1].items():
        np.testing.assert_allclose(recomputed[1][name].numpy(), values.numpy(), rtol=1e-6, err_msg=name)
    for got, want in zip(recomputed[2], stored[2]):
        np.testing.assert_allclose(
            got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5 * np.abs(want).max(initial=0.0)
        )


def test_loop_phases_round_trips_is_off_by_default_and_excludes_recomputation():
    assert not small_model().loop_phases and not UnrolledLOA.meta_paper(MRISampling()).loop_phases
    clone = UnrolledLOA.from_config(small_model(loop_phases=True).get_config())
    assert clone.loop_phases and clone.for_new_tasks(2).loop_phases
    clone.recompute_phases = True  # a runtime change, refused when the network runs
    with pytest.raises(ValueError, match="loop_phases and recompute_phases"):
        clone(four_task_batch()[0], training=True)
    with pytest.raises(ValueError, match="loop_phases and recompute_phases"):
        small_model(loop_phases=True, recompute_phases=True)


@pytest.mark.parametrize("policy", ["meta", "elda"])
def test_looped_phases_infer_and_iterate_as_the_unrolled_ones(policy):
    """Inference (whose phases skip work by tf.cond, inside the loop here) and the iterates
    ``x_0 .. x_T``, traced (relu_delta = 0.1 as in the test above)."""
    inputs, _ = four_task_batch()
    results = []
    for flag in (False, True):
        model = small_model(policy, relu_delta=0.1, loop_phases=flag)
        forward = tf.function(
            lambda model=model: (
                model(inputs, return_diagnostics=True),
                model.unroll(inputs, differentiable=False).iterates,
            )
        )
        results.append(forward())
    ((recon, diagnostics), iterates), ((recon_loop, diagnostics_loop), iterates_loop) = results
    np.testing.assert_allclose(recon_loop.numpy(), recon.numpy(), rtol=1e-5, atol=1e-6)
    for name, value in diagnostics.items():
        np.testing.assert_allclose(diagnostics_loop[name].numpy(), value.numpy(), rtol=1e-5, err_msg=name)
    assert len(iterates_loop) == len(iterates) == 4
    for got, want in zip(iterates_loop, iterates):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_recompute_phases_round_trips_and_is_off_by_default():
    assert not small_model().recompute_phases and not UnrolledLOA.meta_paper(MRISampling()).recompute_phases
    model = small_model(recompute_phases=True)
    clone = UnrolledLOA.from_config(model.get_config())
    assert clone.recompute_phases and clone.for_new_tasks(2).recompute_phases
    inputs, _ = four_task_batch()
    unrolled = model.unroll(inputs)  # the last state carries its feature maps, as without recomputation
    np.testing.assert_allclose(
        unrolled.objective.value(unrolled.state.point, unrolled.state.eps).numpy(),
        unrolled.state.value.numpy(),
        rtol=1e-6,
    )
