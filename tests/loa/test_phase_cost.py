"""How often a phase evaluates ``g`` and ``J_g^H``, counted as the convolutions it executes (eager,
so a ``tf.cond`` runs one branch and a ``tf.while_loop`` its body once per iteration), against
Algorithm 1's own count (lda_tf/loa/phase.py, "Inference"): the test fails if a pass comes back.
"""

import contextlib

import numpy as np
import pytest
import tensorflow as tf

from lda_tf.loa.phase import POLICIES, SAFEGUARDED_POLICIES, initial_state, line_search, phase_iteration
from tests.loa.helpers import four_task_batch, small_model

# Each setting exercises one branch of the phase (the test checks that it does).
SETTINGS = {
    "u taken": dict(),
    "first trial accepted": dict(alpha_init=0.01, tau_init=5.0, policy_overrides={"alpha_bar": 0.01}),
    "backtracking": dict(alpha_init=3.0, tau_init=5.0),
    "eps reduced": dict(policy_overrides={"sigma": 1e9}),
}


@contextlib.contextmanager
def counted_convolutions(monkeypatch):
    """Counts of ``tf.nn.conv2d`` (``g``'s layers) and ``tf.nn.conv2d_transpose`` (``J_g^H``'s)."""
    counts = {"conv2d": 0, "conv2d_transpose": 0}
    for name in counts:
        original = getattr(tf.nn, name)

        def counting(*args, _original=original, _name=name, **kwargs):
            counts[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(tf.nn, name, counting)
    yield counts
    monkeypatch.undo()


def _phase_setup(policy, setting):
    settings = dict(SETTINGS[setting])
    overrides = settings.pop("policy_overrides", {})
    model = small_model({"name": policy, **overrides}, num_phases=1, **settings)
    objective, image, eps, _ = model.start(four_task_batch()[0])
    state = initial_state(objective, image, eps)
    return model, objective, state, model.phases[0].controls()


def _searched_reductions(objective, state, alpha, policy) -> int:
    """The most reductions any sample's line search needs (the loop's iteration count)."""
    if policy.name == "elda":
        initial, decrease = tf.fill(tf.shape(state.eps), policy.alpha_bar), policy.eta3 / state.eps
    else:
        initial, decrease = (
            tf.broadcast_to(alpha, tf.shape(state.eps)),
            tf.fill(tf.shape(state.eps), 1 / policy.a),
        )
    _, reductions, _ = line_search(objective, state, initial, decrease, policy)
    return int(reductions.numpy().max())


def _expected_passes(
    policy, all_u: bool, reductions: int, eps_reduced: bool, differentiable: bool
) -> tuple[int, int]:
    """(feature passes ``g``, transposes ``J_g^H``) of one phase by Algorithm 1: ``z`` and ``u``
    (one ``g`` each, one ``J_g^H`` at ``z``), the candidate's own ``g`` at ``x_{t+1}`` and one
    ``J_g^H`` there for ``grad phi(x_{t+1})``; where some sample rejects ``u`` (``lda``: always),
    the safeguard's first trial (``v`` itself when accepted) and one ``g`` per reduction, then ``g``
    once more at the searched step; the eps rule's ``J_g^H`` at the reduced eps. Training runs
    the safeguard and the eps rule's ``J_g^H`` for every batch, and evaluates the first trial
    without gradients and ``v`` again with them."""
    if policy.name in ("gd", "agd"):
        features, transposes = 1, 1
    else:
        features, transposes = 2, 2
        safeguard = policy.name == "lda" or (policy.name in SAFEGUARDED_POLICIES and not all_u)
        if policy.name in SAFEGUARDED_POLICIES and (safeguard or differentiable):
            features += 1 + reductions + (1 if differentiable or reductions else 0)
    transposes += 1 if differentiable or eps_reduced else 0
    return features, transposes


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("differentiable", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("policy", POLICIES)
def test_a_phase_evaluates_g_and_its_transpose_as_often_as_algorithm_1_needs(
    policy, differentiable, setting, monkeypatch
):
    model, objective, state, (alpha, tau, momentum) = _phase_setup(policy, setting)
    reductions = _searched_reductions(objective, state, alpha, model.policy)
    with counted_convolutions(monkeypatch) as counts:
        next_state, diagnostics = phase_iteration(
            objective, state, alpha, tau, model.policy, momentum, differentiable
        )
    all_u = bool(np.all(diagnostics.took_u.numpy() == 1.0))
    eps_reduced = bool(np.any(next_state.eps.numpy() < state.eps.numpy()))
    layers = model.features.num_layers
    features, transposes = _expected_passes(model.policy, all_u, reductions, eps_reduced, differentiable)
    assert (counts["conv2d"], counts["conv2d_transpose"]) == (features * layers, transposes * layers), (
        f"{policy}: u taken everywhere {all_u}, {reductions} reductions, eps reduced {eps_reduced}"
    )
    if policy in ("meta", "elda"):  # the settings do what they say
        assert all_u == (setting in ("u taken", "eps reduced"))
        assert (reductions > 0) == (setting == "backtracking") or all_u
    if policy not in ("gd", "agd"):
        assert eps_reduced == (setting == "eps reduced")


@pytest.mark.parametrize("policy", POLICIES)
def test_inference_computes_what_training_computes(policy):
    """The skipped evaluations change no value: reconstruction and every diagnostic are
    bit-identical with and without ``training``, with backtracking, failed searches and eps
    reductions in the batch."""
    inputs, _ = four_task_batch()
    model = small_model(
        {"name": policy, "sigma": 0.3, "max_backtracks": 2}, num_phases=4, alpha_init=3.0, tau_init=5.0
    )
    inference, training = (model(inputs, training=flag, return_diagnostics=True) for flag in (False, True))
    np.testing.assert_array_equal(inference[0].numpy(), training[0].numpy())
    for name, values in training[1].items():
        np.testing.assert_array_equal(inference[1][name].numpy(), values.numpy(), err_msg=name)
    if policy in SAFEGUARDED_POLICIES:
        assert training[1]["backtracks"].numpy().max() > 0


@pytest.mark.parametrize("differentiable", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("policy", ["meta", "elda"])
def test_where_every_sample_takes_u_inference_chooses_nothing_per_pixel(policy, differentiable, monkeypatch):
    """The per-sample choice between ``u`` and ``v`` (a ``tf.where`` over the image and every
    feature map) runs at inference only when some sample takes ``v``; training always runs it (its
    gradient flows through the branch taken). Counted: ``tf.where`` on image-sized tensors."""
    model, objective, state, (alpha, tau, momentum) = _phase_setup(policy, "u taken")
    image_sized = []
    original = tf.where

    def counting(condition, *args, **kwargs):
        if args and args[0] is not None and len(args[0].shape) >= 3:
            image_sized.append(args[0].shape)
        return original(condition, *args, **kwargs)

    monkeypatch.setattr(tf, "where", counting)
    _, diagnostics = phase_iteration(objective, state, alpha, tau, model.policy, momentum, differentiable)
    monkeypatch.undo()
    assert np.all(diagnostics.took_u.numpy() == 1.0)
    assert (len(image_sized) > 0) == differentiable, image_sized
