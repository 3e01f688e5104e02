"""ReleaseUnrolled against a float64 NumPy rendering of the TF1 release's script as it runs.

The reference below is written from ``recon_meta_Journal_of_Imaging.py`` (line numbers in the
comments), not from lda_tf: its own convolutions, its real/imaginary kernel combination, its
``grad_g1``, ``np.fft`` for ``tf.fft2d``, and the release's k-space ``P_u fft2(xhat)`` built from
the image directly (the model gets our centred, orthonormal k-space and converts it).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from lda_tf.loa import ReleaseUnrolled
from lda_tf.mri import MRIInputs, ReleaseSampling
from lda_tf.training import BilevelConfig, LOATrainer
from tests.loa.helpers import four_task_batch

DELTA = 1e-3  # ddelta, line 83
MOVE_TOLERANCE = 1e-3  # relative error of x_T - x_0: float32 round-off of x_0 against a small move


# ------------------------------------------------------------------ the script, in NumPy
def conv2d(x, kernel):
    """tf.nn.conv2d, SAME, stride 1: out[i, j, o] = sum x[i + a - 1, j + b - 1, c] K[a, b, c, o]."""
    size = kernel.shape[0]
    padded = np.pad(x, ((0, 0), (size // 2,) * 2, (size // 2,) * 2, (0, 0)))
    height, width = x.shape[1:3]
    return sum(
        np.einsum("bijc,co->bijo", padded[:, a : a + height, b : b + width], kernel[a, b])
        for a in range(size)
        for b in range(size)
    )


def conv2d_transpose(v, kernel):
    """tf.nn.conv2d_transpose with conv2d's kernel: the adjoint of :func:`conv2d`."""
    size = kernel.shape[0]
    height, width = v.shape[1:3]
    padded = np.zeros((v.shape[0], height + size - 1, width + size - 1, kernel.shape[2]), v.dtype)
    for a in range(size):
        for b in range(size):
            padded[:, a : a + height, b : b + width] += np.einsum("bijo,co->bijc", v, kernel[a, b])
    return padded[:, size // 2 : size // 2 + height, size // 2 : size // 2 + width]


def act(x):  # lines 129-133
    return np.where(np.abs(x) > DELTA, np.maximum(x, 0), x * x / (4 * DELTA) + 0.5 * x + 0.25 * DELTA)


def deri_act(x):  # lines 135-137
    return np.where(np.abs(x) > DELTA, (x > 0).astype(float), x / (2 * DELTA) + 0.5)


def g1_forward(x, weights):  # lines 141-159; weights: [(W_r, W_i)] per layer
    real, imag = x.real[..., None], x.imag[..., None]
    layers = []
    for index, (w_r, w_i) in enumerate(weights):
        if index > 0:
            real, imag = act(real), act(imag)
        real, imag = conv2d(real, w_r) + conv2d(imag, w_i), conv2d(real, w_i) - conv2d(imag, w_r)
        layers.append((real, imag))
    return layers


def grad_g1(x, weights):  # lines 161-190: J^T g(x)
    layers = g1_forward(x, weights)
    real, imag = layers[-1]
    for index in reversed(range(len(weights))):
        if index < len(weights) - 1:  # deri_act of the layer below, times the back-propagated maps
            real, imag = deri_act(layers[index][0]) * real, deri_act(layers[index][1]) * imag
        w_r, w_i = weights[index]
        real, imag = (
            conv2d_transpose(real, w_r) + conv2d_transpose(imag, w_i),
            conv2d_transpose(real, w_i) - conv2d_transpose(imag, w_r),
        )
    return real[..., 0] + 1j * imag[..., 0]


def grad_r1(x, eps, weights):  # lines 200-210
    real, imag = g1_forward(x, weights)[-1]
    de = np.sum(np.sqrt(np.sum(real**2 + imag**2, axis=-1) + eps**2), axis=(-2, -1))
    return grad_g1(x, weights) / de[:, None, None]


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def script(target, masks, task_index, params, phases, step="v", eps_rule=True):
    """x_T and the eps of every phase, as the script's graph computes them."""
    mask = np.fft.ifftshift(masks, axes=(-2, -1))  # the release's masks: DC at [0, 0]
    kspace = mask * np.fft.fft2(target)  # the release's k-space of the image

    def adjoint(k):  # mriAdjointOp, lines 54-57
        return np.fft.ifft2(mask * k)

    def forward(x):  # mriForwardOp, lines 47-52
        return mask * np.fft.fft2(x)

    weights, alpha, tau, eps = params["weights"], params["alpha"], params["tau"], params["eps0"]
    w = sigmoid(params["omega"][task_index])[:, None, None]  # grad_sigma_w, lines 221-225
    x, history = adjoint(kspace), []  # line 280
    for _ in range(phases):
        history.append(eps)
        data_gradient = adjoint(forward(x)) - adjoint(kspace)  # ATAx1 - ATf1, lines 236-237
        if step == "v":
            x1 = x - alpha * (w * grad_r1(x, eps, weights))  # line 256
        else:
            z1 = x - alpha * data_gradient  # line 240
            x1 = z1 - tau * grad_r1(z1, eps, weights)  # line 241
        if eps_rule:  # lines 272-274
            grad_phi = data_gradient + w * grad_r1(x1, eps, weights)
            norm = np.mean(np.sqrt(np.sum(np.abs(grad_phi) ** 2, axis=(-2, -1))))
            eps = 0.9 * eps if norm <= 1.0 * 0.9 * eps else eps
        x = x1
    return x, history


# ------------------------------------------------------------------ helpers
def _model(step="v", eps_rule=True, num_phases=3, **values) -> ReleaseUnrolled:
    keras.utils.set_random_seed(3)
    model = ReleaseUnrolled(
        ReleaseSampling(name="measurement"), num_phases=num_phases, num_tasks=4, step=step, eps_rule=eps_rule
    )
    for name, value in values.items():
        getattr(model, name).assign(value)
    return model


def _params(model: ReleaseUnrolled) -> dict:
    weights = [
        (c.kernel_real.numpy().astype(np.float64), c.kernel_imag.numpy().astype(np.float64))
        for c in model.features.convolutions
    ]
    value = lambda name: float(getattr(model, name).numpy())  # noqa: E731
    omega = model.omega_real.numpy().astype(np.float64) + 1j * model.omega_imag.numpy()
    return dict(
        weights=weights,
        alpha=value("alpha_real") + 1j * value("alpha_imag"),
        tau=value("tau_real") + 1j * value("tau_imag"),
        eps0=value("eps0"),
        omega=omega,
    )


def _compare(model, step="v", eps_rule=True, expect_reductions=None):
    inputs, target = four_task_batch()
    recon, diagnostics = model(inputs, return_diagnostics=True)
    expected, history = script(
        target.numpy().astype(np.float64),
        inputs.mask.numpy().astype(np.float64),
        inputs.task_index.numpy(),
        _params(model),
        model.num_phases,
        step,
        eps_rule,
    )
    error = np.linalg.norm(recon.numpy() - expected) / np.linalg.norm(expected)
    assert error < 2e-5, error
    # and what the phases did, x_T - x_0 (much smaller than x_T at the initial values)
    start = model.initial_image(inputs).numpy()
    moved = np.linalg.norm(expected - start)
    assert moved > 1e-4 * np.linalg.norm(start)
    assert np.linalg.norm((recon.numpy() - start) - (expected - start)) < MOVE_TOLERANCE * moved
    eps = diagnostics["eps"].numpy()
    assert np.all(eps == eps[:, :1])  # one eps for the whole batch
    np.testing.assert_allclose(eps[:, 0], history, rtol=1e-6)
    if expect_reductions is not None:
        reductions = [later < earlier for earlier, later in zip(history, history[1:])]
        assert reductions == expect_reductions  # the case exercises both branches of the rule


# ------------------------------------------------------------------ tests
def test_forward_is_the_script_as_it_runs_at_its_initial_values():
    """alpha = 0.01 + 0.01i, w = 1 + 1i, eps0 = 1e-8: the steps are tiny, yet x_T is the script's."""
    model = _model()
    assert _params(model)["alpha"] == pytest.approx(0.01 + 0.01j) and _params(model)["eps0"] == pytest.approx(
        1e-8
    )
    _compare(model, expect_reductions=[False, False])


def test_forward_with_large_steps_and_the_batch_eps_rule_firing():
    """Large complex steps and task weights; eps0 chosen so that the batch-mean rule reduces eps in
    some phases and not in others."""
    omega = (np.array([0.3, -1.0, 2.0, 0.5], np.float32), np.array([0.7, 0.2, -0.4, 1.5], np.float32))
    model = _model(
        num_phases=4,
        alpha_real=2.0,
        alpha_imag=-1.0,
        eps0=0.2,
        omega_real=omega[0],
        omega_imag=omega[1],
    )
    _compare(model, expect_reductions=[True, True, False])


@pytest.mark.parametrize("eps_rule", [False, True])
def test_u_step_is_the_test_script(eps_rule):
    """``step="u"``: the data step then ``u = z - tau grad_R(z)`` (lines 240-242), as the test
    script computes every phase (without the eps rule) and the first upload of the training
    script did (with it)."""
    model = _model(step="u", eps_rule=eps_rule, alpha_real=0.8, alpha_imag=0.3, tau_real=5.0, tau_imag=-2.0)
    _compare(model, step="u", eps_rule=eps_rule)


def test_our_kspace_becomes_the_release_kspace():
    """ReleaseSampling turns ``P F xhat`` (centred, orthonormal) into ``P_u fft2d(xhat)``."""
    inputs, target = four_task_batch()
    operator = ReleaseSampling().measure(inputs).data
    masks = np.fft.ifftshift(inputs.mask.numpy(), axes=(-2, -1))
    expected = masks * np.fft.fft2(target.numpy().astype(np.float64))
    np.testing.assert_allclose(operator.mask.numpy(), masks)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(operator.kspace.numpy() / scale, expected / scale, atol=1e-6)
    # f is H W times ours: the unnormalised DFT
    x = tf.complex(target, target * 0.5)
    ours = 0.5 * np.sum(np.abs(masks * np.fft.fft2(x.numpy()) - expected) ** 2, axis=(-2, -1))
    np.testing.assert_allclose(operator.data_fidelity(x).numpy(), ours, rtol=1e-4)


def test_task_weights_sigmoid_of_modulus_for_phi_complex_sigmoid_for_the_step():
    model = _model(omega_real=np.array([0.3, -1.0, 2.0, 0.5], np.float32))
    w = np.array([0.3, -1.0, 2.0, 0.5]) + 1j
    np.testing.assert_allclose(model.task_weight_values().numpy(), sigmoid(np.abs(w)), rtol=1e-6)
    # phi_before of phase 1 at x0 (data term 0 there): sigmoid(|w|) (sum_j sqrt(|g_j|^2 + eps^2) - eps)
    inputs, _ = four_task_batch()
    _, diagnostics = model(inputs, return_diagnostics=True)
    x0 = model.initial_image(inputs).numpy().astype(np.complex128)
    real, imag = g1_forward(x0, _params(model)["weights"])[-1]
    eps = 1e-8
    regulariser = np.sum(np.sqrt(np.sum(real**2 + imag**2, axis=-1) + eps**2), axis=(-2, -1)) - eps
    np.testing.assert_allclose(
        diagnostics["phi_before"].numpy()[0], sigmoid(np.abs(w)) * regulariser, rtol=1e-4
    )


def test_tau_gets_no_gradient_in_the_v_step_and_omega_none_in_the_u_step():
    inputs, target = four_task_batch()
    for step, idle in (("v", ("tau_real", "tau_imag")), ("u", ("omega_real", "omega_imag"))):
        model = _model(step=step, eps_rule=False)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.abs(model(inputs)) - target)
        variables = [getattr(model, name) for name in ("alpha_real", *idle)]
        gradients = tape.gradient(loss, variables)
        assert gradients[0] is not None and all(gradient is None for gradient in gradients[1:])


def test_kernel_gradients_are_summed_two_at_a_time():
    """Each of g's kernels is used in every phase; its gradient must be summed pairwise (no AddN of
    more than two filter gradients), the sum whose rounding varied between runs under oneDNN
    (docs/reproducibility.md, lda_tf.math.PairwiseFanOut)."""
    inputs, target = four_task_batch()
    model = _model()

    @tf.function
    def gradients():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(tf.abs(model(inputs)) - target))
        return tape.gradient(loss, model.features.trainable_weights)

    graph = gradients.get_concrete_function().graph
    filter_sums = [
        op
        for op in graph.get_operations()
        if op.type == "AddN" and any("Conv2DBackpropFilter" in i.op.type for i in op.inputs)
    ]
    assert filter_sums and all(len(op.inputs) == 2 for op in filter_sums)


def test_save_and_load_round_trip(tmp_path):
    model = _model(step="u", eps_rule=False, num_phases=2, alpha_real=0.5)
    model.set_active_phases(1)
    inputs, _ = four_task_batch()
    path = tmp_path / "release.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, ReleaseUnrolled) and isinstance(loaded.measurement, ReleaseSampling)
    assert (loaded.step, loaded.eps_rule, loaded.active_phases) == ("u", False, 1)
    np.testing.assert_allclose(loaded(inputs).numpy(), model(inputs).numpy(), rtol=1e-6, atol=1e-7)


def test_a_few_release_training_steps_lower_the_loss():
    """Trained as the script trains (5 theta steps, then one step on theta and omega, no delta
    gate, the per-pixel MSE); the validation loss falls."""
    model = _model(num_phases=2)
    trainer = LOATrainer(
        model,
        "meta",
        BilevelConfig(theta_steps=5, delta0=0.0, omega_step_updates_theta=True),
        loss_reduction="mean",
    )
    trainer.compile(keras.optimizers.Adam(1e-2, epsilon=1e-8), keras.optimizers.Adam(1e-2, epsilon=1e-8))
    inputs, target = four_task_batch()
    batch = {"train": (inputs, target), "val": (inputs, target)}
    before = float(tf.reduce_sum(trainer.sample_loss(model(inputs), target)))
    omega_before = model.omega_real.numpy().copy()
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    trainer.fit(dataset, epochs=1, steps_per_epoch=3, verbose=0)
    after = float(tf.reduce_sum(trainer.sample_loss(model(inputs), target)))
    assert after < 0.995 * before, (before, after)  # slowly: the steps start tiny (alpha = 0.01 + 0.01i)
    assert int(trainer.theta_optimizer.iterations.numpy()) == 3 * 6  # global_step: 6 per batch
    assert int(trainer.omega_optimizer.iterations.numpy()) == 3
    assert not np.array_equal(omega_before, model.omega_real.numpy())


def test_construction_errors():
    with pytest.raises(ValueError, match="argument `step` must be one of"):
        _model(step="w")
    with pytest.raises(TypeError, match="must be a lda_tf.measurement.Measurement layer"):
        ReleaseUnrolled("not a measurement")
    inputs, _ = four_task_batch()
    with pytest.raises(ValueError, match="task_index"):
        _model()(MRIInputs(inputs.kspace, inputs.mask))


def test_reference_convolutions_are_an_adjoint_pair():
    """The reference's conv2d / conv2d_transpose (the test checks itself)."""
    rng = np.random.default_rng(0)
    x, v, kernel = (
        rng.standard_normal((1, 5, 6, 2)),
        rng.standard_normal((1, 5, 6, 3)),
        rng.standard_normal((3, 3, 2, 3)),
    )
    assert np.sum(conv2d(x, kernel) * v) == pytest.approx(np.sum(x * conv2d_transpose(v, kernel)))
