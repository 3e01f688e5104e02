"""Iterating past the trained phases (LDA paper section 4.3.3, Figures 7-8; SPEC 3).

After the model's active phases, the same iteration continues with the last trained phase's
``alpha_T``, ``tau_T`` (or a given ``tau``) and a safeguarded policy, so every further step is a
line-searched descent step on ``phi_eps``, until ``sigma eps_t < eps_tol`` for every sample (line
16 of Algorithm 1) or ``max_iterations``. A model trained with the ``residual`` policy continues
with ``meta``, the meta paper's safeguard, since ``residual`` has no descent guarantee.

What is provably monotone: within an iteration ``phi_{eps_t}(x_{t+1}) <= phi_{eps_t}(x_t)``, and
across iterations the Lyapunov sequence of Lemma A4 (meta paper)
``phi_{eps_t}(x_t) + kappa c m eps_t`` (``m`` pixels; ``c = 1`` for sqrt, ``1/2`` for Huber, the
constants with ``r_eps <= r <= r_eps + c m eps``), since lowering eps can raise ``phi_eps`` by at
most ``kappa c m (eps_t - eps_{t+1})``.

The LDA paper's settings for Figure 7 are :data:`LDA_PAPER_SETTINGS`: ``eps_tol = 1.5e-5``,
``sigma = 1e3``, ``gamma = 0.9``, backtracking by ``rho = 0.5`` until
``phi(v) - phi(x) <= -0.35 ||v - x||^2`` (the paper's ``tau = 0.35`` is that sufficient-decrease
coefficient, ``1/a`` here, not the u step). Decision: the paper's backtracking is unbounded; 30
reductions (down to 1e-9 of the step) stand in for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from lda_tf.loa.model import UnrolledLOA
from lda_tf.loa.phase import SAFEGUARDED_POLICIES, PhasePolicy, phase_iteration, select
from lda_tf.nn.regularizers import SMOOTHING_GAP

LDA_PAPER_SETTINGS = dict(eps_tol=1.5e-5, sigma=1e3, gamma=0.9, rho=0.5, a=1.0 / 0.35, max_backtracks=30)


class SolveResult(NamedTuple):
    """Histories are ``[N + 1, B]`` NumPy arrays over iterates ``x_0 .. x_N`` (trained phases
    first); ``descent`` is ``[N, B]``: ``phi_{eps_t}(x_{t+1}) - phi_{eps_t}(x_t)`` (<= 0)."""

    image: tf.Tensor
    energy: np.ndarray  # phi_{eps_t}(x_t)
    lyapunov: np.ndarray  # phi_{eps_t}(x_t) + kappa c m eps_t
    eps: np.ndarray
    descent: np.ndarray
    trained_phases: int
    iterations: np.ndarray  # [B] iterations run past the trained phases
    converged: np.ndarray  # [B] whether sigma eps < eps_tol was reached
    observations: np.ndarray | None  # [N + 1, B] observe(x_t) when solve was given observe


def solve(
    model: UnrolledLOA,
    inputs,
    eps_tol: float = 1e-5,
    max_iterations: int = 500,
    tau: float | None = None,
    observe: Callable[[tf.Tensor], np.ndarray] | None = None,
    **policy_overrides,
) -> SolveResult:
    """Run ``model``'s trained phases, then iterate until ``sigma eps < eps_tol`` (module doc).

    ``policy_overrides`` replace fields of the model's :class:`PhasePolicy` (e.g.
    ``solve(model, inputs, **LDA_PAPER_SETTINGS)``). ``tau`` replaces the u step ``tau_T`` of the
    extra iterations. ``observe`` maps each iterate ``x_t`` ``[B, H, W]`` to ``[B]`` values (e.g.
    PSNR against the ground truth), collected in ``observations``.
    """
    if eps_tol <= 0 or max_iterations < 0:
        raise ValueError(f"solve needs eps_tol > 0 and max_iterations >= 0; got {eps_tol}, {max_iterations}")
    policy: PhasePolicy = model.policy.replace(**policy_overrides)
    if policy.name not in SAFEGUARDED_POLICIES:
        policy = policy.replace(name="meta")
    unrolled = model.unroll(
        inputs,
        policy=model.policy.replace(**{**policy_overrides, "name": model.policy.name}),
        differentiable=False,
    )
    objective, state = unrolled.objective, unrolled.state
    last_phase = model.phases[model.active_phases - 1]
    domain = model.domain_index(model.measurement.measure(inputs).task_index)  # U-LDA's groups
    alpha, last_tau = last_phase.steps(domain)
    tau = last_tau if tau is None else tf.constant(tau, tf.float32)
    iterate = tf.function(
        lambda current: phase_iteration(objective, current, alpha, tau, policy, differentiable=False)
    )

    trained = model.active_phases
    diagnostics = unrolled.diagnostics
    energy = list(diagnostics["phi_before"][:trained].numpy()) + [state.value.numpy()]
    eps = list(diagnostics["eps"][:trained].numpy()) + [state.eps.numpy()]
    descent = list((diagnostics["phi_after"] - diagnostics["phi_before"])[:trained].numpy())
    observations = None if observe is None else [np.asarray(observe(image)) for image in unrolled.iterates]
    iterations = np.zeros(state.eps.shape[0], np.int64)
    for _ in range(max_iterations):
        done = policy.sigma * state.eps < eps_tol
        if bool(tf.reduce_all(done)):
            break
        new_state, phase = iterate(state)
        state = select(done, state, new_state)
        iterations += ~done.numpy()
        descent.append(np.where(done.numpy(), 0.0, (phase.phi_after - phase.phi_before).numpy()))
        energy.append(state.value.numpy())
        eps.append(state.eps.numpy())
        if observations is not None:
            observations.append(np.asarray(observe(state.point.image)))

    energy, eps = np.stack(energy), np.stack(eps)
    num_pixels = int(np.prod(state.point.image.shape[-2:]))
    gap = SMOOTHING_GAP[model.smoothing] * num_pixels * objective.kappa.numpy()
    return SolveResult(
        image=state.point.image,
        energy=energy,
        lyapunov=energy + gap[None, :] * eps,
        eps=eps,
        descent=np.stack(descent) if descent else np.zeros((0, energy.shape[1]), np.float32),
        trained_phases=trained,
        iterations=iterations,
        converged=(policy.sigma * state.eps < eps_tol).numpy(),
        observations=None if observations is None else np.stack(observations),
    )
