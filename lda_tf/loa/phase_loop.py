r"""The phases as one ``tf.while_loop``: one phase's graph, whatever the number of phases.

Unrolled in Python, ``T`` phases put ``T`` copies of Algorithm 1's iteration into the graph, and
the bilevel (second-order) step differentiates all of them twice: its graph, its tracing, its
Grappler pass and its first execution grow with ``T``. Here the iteration
(:func:`lda_tf.loa.phase.phase_iteration`, the same function) is the body of a
``tf.while_loop`` over ``t = 0 .. T-1`` that reads phase ``t``'s controls ``(alpha_t, tau_t,
theta_t)`` from ``[T, ...]`` stacks. TensorFlow differentiates the loop (to any order) with loops
of its own, so the graph holds one phase and its derivatives once.

Decisions: the loop carries what the next phase reads (``x_t``, ``eps_t``, ``phi(x_t)``,
``grad phi(x_t)``, ``x_{t-1}``), not ``g(x_t)``'s feature maps (no phase reads them; carried, their
zero cotangents cost ``ZerosLike`` and complex gradient work in every backward iteration: carried,
a 5-phase bilevel step spent 18 % more op time), and ``g(x_T)`` is evaluated once after the loop.
Diagnostics and iterates are written into dense ``[T, ...]`` tensors rather than
``TensorArray``\ s, whose unused lists TensorFlow's loop gradient fills with zeros (timed within
noise of each other).

The values are those of the unrolled phases, computed in the same order; the runtime cannot fuse
or simplify work across phases or inside the loop as it does in a straight graph, so a steady step
is slower (benchmarks/README.md, issue 19 goal 3). ``UnrolledLOA(loop_phases=True)`` selects it
(module docstring of :mod:`lda_tf.loa.model`); per-phase recomputation is not combined with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from lda_tf.loa.objective import VariationalObjective
from lda_tf.loa.phase import (
    IterateState,
    PhaseDiagnostics,
    PhasePolicy,
    phase_iteration,
    state_from_tensors,
    state_tensors,
)

Controls = tuple[tf.Tensor, tf.Tensor, "tf.Tensor | None"]  # (alpha_t, tau_t, theta_t) of one phase


def looped_phase_iterations(
    objective: VariationalObjective,
    state: IterateState,
    controls: Sequence[Controls],
    policy: PhasePolicy,
    differentiable: bool = True,
) -> tuple[IterateState, dict[str, tf.Tensor], tf.Tensor]:
    """``len(controls)`` iterations of :func:`phase_iteration` from ``state`` in one loop.

    Returns the last state, the diagnostics stacked to ``[T, B]`` by name and the iterates
    ``x_0 .. x_T`` stacked to ``[T + 1, B, H, W]``."""
    count = len(controls)
    if count == 0:
        raise ValueError("looped_phase_iterations needs at least one phase")
    alphas, taus = (tf.stack([phase[index] for phase in controls]) for index in (0, 1))
    momenta = None if controls[0][2] is None else tf.stack([phase[2] for phase in controls])
    image = state.point.image
    iterates = tf.tensor_scatter_nd_update(
        tf.zeros(tf.concat([[count + 1], tf.shape(image)], 0), image.dtype), [[0]], image[tf.newaxis]
    )
    diagnostics = tf.zeros(tf.concat([[count, len(PhaseDiagnostics._fields)], tf.shape(state.eps)], 0))

    def body(t, carried, iterates, diagnostics):
        state = state_from_tensors(carried)
        momentum = None if momenta is None else momenta[t]
        next_state, phase = phase_iteration(
            objective, state, alphas[t], taus[t], policy, momentum, differentiable
        )
        iterates = tf.tensor_scatter_nd_update(iterates, [[t + 1]], next_state.point.image[tf.newaxis])
        diagnostics = tf.tensor_scatter_nd_update(diagnostics, [[t]], tf.stack(phase)[tf.newaxis])
        return t + 1, state_tensors(next_state), iterates, diagnostics

    _, carried, iterates, diagnostics = tf.while_loop(
        lambda t, *_: t < count,
        body,
        (tf.constant(0), state_tensors(state), iterates, diagnostics),
        maximum_iterations=count,
    )
    state = IterateState(objective.point(carried[0]), *carried[1:])
    stacked = dict(zip(PhaseDiagnostics._fields, tf.unstack(diagnostics, axis=1)))
    return state, stacked, iterates
