"""The adjoint gradient (method of Lagrangian multipliers, paper 004, Theorem 1): the training
gradient of an unrolled network by an explicit multiplier recursion over its phases.

The network is a discrete-time control system (004's [2a]-[2b], digest B1.1)::

    s_0 = psi(c),    s_t = F_t(s_{t-1}; c)  (t = 1..T),    L = l(x_T) + a(c)

with the *state* ``s_t = (x_t, eps_t, phi_{eps_t}(x_t), grad phi_{eps_t}(x_t), x_{t-1})``, all a
phase carries (:data:`lda_tf.loa.phase.STATE_SIZE` tensors), and the *controls* ``c``: every tensor
computed from the variables that ``psi`` or a phase reads, i.e. ``x_0`` and ``eps_0`` (``psi``'s),
``alpha_t``, ``tau_t`` (and ``theta_t``) of each phase, ``kappa``, the kernels of ``g`` (and of
U-LDA's adapters) and the data term; ``a`` is the measurement's auxiliary loss (learned sampling).
``psi(c) = (x_0, eps_0, phi(x_0), grad phi(x_0), x_0)`` and ``F_t`` is phase ``t``
(:func:`lda_tf.loa.phase.phase_function`).

With the Lagrangian (004's (4), digest B2.1)
``L(S, c; Lambda) = l(x_T) + a(c) + <lambda_0, psi(c) - s_0> + sum_t <lambda_t, F_t(s_{t-1}; c) - s_t>``
(``<a, b> = Re(a^H b)``, the real inner product of TensorFlow's gradients), stationarity in the
states gives (digest B2.2)

- (6) ``lambda_T = grad_{s_T} l`` (only ``x_T``'s part is non-zero),
- (7a) ``lambda_{t-1} = J_s F_t(s_{t-1}; c)^T lambda_t``, ``t = T..1``,
- (8) ``grad_c L = grad a + J_c psi^T lambda_0 + sum_{t=1}^T J_c F_t(s_{t-1}; c)^T lambda_t``,

and Theorem 1: for the states of the forward pass (7b) and these multipliers, ``grad_c L`` is the
gradient of ``L`` in the controls, what back-propagation gives. A control that several phases read
(the kernels, ``kappa``, the data term) sums their terms; the multiplier of ``eps_t`` carries the
eps reductions back to the learned ``eps0``. The gradient in the variables is
``J_c(variables)^T grad_c L`` by one tape over the cheap map from the variables to the controls.

Computed with recomputation (digest B4 #13): the forward pass (7b) keeps only ``s_0 .. s_T``; the
backward pass runs phase ``t`` again from the stored ``s_{t-1}`` under a tape and takes one
vector-Jacobian product with ``lambda_t`` (:func:`multiplier_recursion`). Memory: the ``T + 1``
states and one phase's intermediates; time: one more forward pass than the tape's. Branch choices
(``u`` or ``v``, LDA's smaller energy), backtracking counts and eps reductions are recomputed from
the same inputs, so they are those of the forward pass, and ``J`` is the Jacobian of the branch
taken with the counts held fixed, exactly what autodiff through the network differentiates
(docs/decisions.md). Traced, Grappler's arithmetic optimizer may round a replayed phase
differently from the forward one (it regroups sums); the smoothing's second derivatives (scale
``1/eps``, ``1/relu_delta``) amplify that to ~1e-4 relative in the gradient. Training turns that
pass off by default (``deterministic``, :mod:`lda_tf.determinism`), and then the two agree to
~1e-6.

Second order (the meta paper's bilevel penalty (17) needs ``H v``, the Hessian of ``L`` times a
direction ``v`` of the variables): the derivative of the recursion along ``v``,

- tangent states (forward): ``sdot_0 = J_c psi cdot``, ``sdot_t = J_s F_t sdot_{t-1} + J_c F_t cdot``
  with ``cdot = J_c(variables) v``;
- tangent multipliers (backward): ``lambdadot_T = grad^2 l(x_T) xdot_T``,
  ``lambdadot_{t-1} = J_s F_t^T lambdadot_t + [grad^2 <lambda_t, F_t>]_s (sdot_{t-1}, cdot)``;
- ``(grad_c L)dot = sum_t J_c F_t^T lambdadot_t + [grad^2 <lambda_t, F_t>]_c (sdot_{t-1}, cdot)``
  (and ``psi``'s terms), then ``H v = J_c^T (grad_c L)dot + grad^2_variables <grad_c L, c> v``,

each term one phase at a time from the stored states (:func:`hessian_vector_product`): memory of
the states and their tangents plus one phase. ``[grad^2 <lambda, F>] w`` is the gradient of
``<J^T lambda, w>`` (the Hessian of ``<lambda, F>`` is symmetric: the branches, counts and eps
reductions held, ``F`` is twice differentiable almost everywhere), ``J w`` the gradient in ``u`` of
``<J^T u, w>``. :func:`penalty_objective` uses it for the gradient of ``lambda/2 ||grad_theta
L_tr||^2``.

Relation to per-phase recomputation (``UnrolledLOA(recompute_phases=True)``,
:func:`lda_tf.loa.phase.checkpointed_phase_iteration`): both replay a phase from its stored inputs
through the same :func:`lda_tf.loa.phase.phase_function`, but recomputation hides the replay in a
``tf.custom_gradient`` per phase and lets the tape chain the phases, whereas here the chain itself
is the explicit recursion (6)-(8) and no tape spans two phases. For the bilevel step the difference
matters: a tape over recomputed phases still records every replay for the second differentiation
(memory growing with ``T``); the tangent recursion above does not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import tensorflow as tf

from lda_tf.loa.model import UnrolledLOA
from lda_tf.loa.phase import STATE_SIZE, after, initial_state, objective_inputs, phase_function
from lda_tf.training.bilevel import PenaltyEvaluation, dense, penalty_evaluation, replica_sum

GRADIENTS = ("tape", "adjoint")  # how LOATrainer computes its gradients

ZERO = tf.UnconnectedGradients.ZERO
# No tensor-dependent Python control flow here or in the phases' code: AutoGraph's conversion of
# every replayed stage's closure would only cost tracing time (most of it, measured).
_unconverted = tf.autograph.experimental.do_not_convert


# ----------------------------------------------------------------------------------- control systems
class Stage(NamedTuple):
    """One stage of a control system: ``s_t = run([*s_{t-1}, *(controls[i] for i in
    control_indices)])`` (the first outputs; further ones are ignored). ``state_size`` is the
    length of the previous state it reads (0 for ``psi``)."""

    control_indices: tuple[int, ...]
    run: Callable[[Sequence[tf.Tensor]], list]
    state_size: int


class ControlSystem(NamedTuple):
    """``s_0 = stages[0](controls)``, ``s_t = stages[t](s_{t-1}, controls)``; every state is a list
    of ``state_size`` tensors."""

    controls: list
    stages: list
    state_size: int


def _select(stage: Stage, values: Sequence) -> list:
    return [values[i] for i in stage.control_indices]


def _inputs(system: ControlSystem, states: Sequence, t: int, controls: Sequence | None = None) -> list:
    """Stage ``t``'s inputs: ``s_{t-1}`` (from ``states``) and its controls (from ``controls``,
    default the system's): the same for tangents."""
    stage = system.stages[t]
    previous = list(states[t - 1]) if stage.state_size else []
    return [*previous, *_select(stage, system.controls if controls is None else controls)]


def _token(dependencies: Sequence[tf.Tensor]) -> tf.Tensor:
    """A float32 scalar that exists only once every tensor of ``dependencies`` does (it reads one
    entry of each)."""
    entries = []
    for tensor in dependencies:
        entry = tf.reshape(tensor, [-1])[:1]
        entry = tf.math.real(entry) if entry.dtype.is_complex else entry
        entries.append(tf.reduce_sum(tf.cast(entry, tf.float32)))
    return tf.add_n(entries)[None]


def _replay(tensors: Sequence[tf.Tensor], dependencies: Sequence[tf.Tensor]) -> list:
    """Fresh copies of a stage's inputs for a replay; traced, made to depend on all of
    ``dependencies`` (what the previous stage of the sweep produced), so that graph optimisation
    neither merges the replay with the forward stage nor the executor runs it before the previous
    stage is complete (which would keep several stages' intermediates alive at once)."""
    replay = [tf.identity(tensor) for tensor in tensors]
    if not tf.executing_eagerly():
        replay = after(replay, [_token(dependencies)])
    return replay


def _sequenced(structure, dependencies: Sequence[tf.Tensor]):
    """``structure`` (a nest of tensors) whose floating tensors, traced, depend on
    ``dependencies``: a computation on it starts after them, not beside them."""
    if tf.executing_eagerly():
        return structure
    leaves = tf.nest.flatten(structure)
    slots = [
        i
        for i, leaf in enumerate(leaves)
        if tf.is_tensor(leaf) and (leaf.dtype.is_floating or leaf.dtype.is_complex)
    ]
    delayed = after([leaves[i] for i in slots], [_token(dependencies)])
    for slot, tensor in zip(slots, delayed):
        leaves[slot] = tensor
    return tf.nest.pack_sequence_as(structure, leaves)


def real_inner(left: Sequence[tf.Tensor], right: Sequence[tf.Tensor]) -> tf.Tensor:
    """``sum_k Re <left_k, right_k>`` (for complex tensors ``Re(conj(a) b)``): the inner product
    under which TensorFlow's gradients are gradients."""
    terms = [
        tf.reduce_sum(tf.math.real(tf.math.conj(a) * b) if a.dtype.is_complex else a * b)
        for a, b in zip(left, right)
    ]
    return tf.add_n(terms)


def _accumulate(totals: list, stage: Stage, gradients: Sequence[tf.Tensor]) -> None:
    for index, gradient in zip(stage.control_indices, gradients):
        totals[index] = gradient if totals[index] is None else totals[index] + gradient


def _dense(totals: list, like: Sequence[tf.Tensor]) -> list:
    return [tf.zeros_like(t) if total is None else total for total, t in zip(totals, like)]


# The per-stage computations of the sweeps.
def _transpose(run, inputs, multipliers):
    """``J^T lambda`` of one stage, replayed from its inputs (7a)-(8)."""
    replay = _replay(inputs, multipliers)
    with tf.GradientTape() as tape:
        tape.watch(replay)
        state = run(replay)[: len(multipliers)]
    return tape.gradient(state, replay, output_gradients=multipliers, unconnected_gradients=ZERO)


def _tangent(run, inputs, tangents, size):
    """``J w`` of one stage along the input tangents ``w``: the gradient in ``u`` of
    ``<J^T u, w>``, ``J^T u`` by a tape (the double vector-Jacobian product)."""
    replay = _replay(inputs, tangents)
    with tf.GradientTape() as inner:
        inner.watch(replay)
        outputs = run(replay)[:size]
    probes = [tf.zeros_like(output) for output in outputs]
    with tf.GradientTape() as outer:
        outer.watch(probes)
        transposed = inner.gradient(outputs, replay, output_gradients=probes, unconnected_gradients=ZERO)
        pairing = real_inner(transposed, tangents)
    return outer.gradient(pairing, probes, unconnected_gradients=ZERO)


def _second_order(run, inputs, tangents, multipliers, multiplier_tangents):
    """``J^T lambda`` of one stage and its derivative along the tangents:
    ``J^T lambdadot + grad <J^T lambda, w>`` (a tape over the replayed stage nested in a second)."""
    replay = _replay(inputs, [*multipliers, *multiplier_tangents])
    with tf.GradientTape() as outer:
        outer.watch(replay)
        with tf.GradientTape(persistent=True) as inner:
            inner.watch(replay)
            state = run(replay)[: len(multipliers)]
        transposed = inner.gradient(state, replay, output_gradients=multipliers, unconnected_gradients=ZERO)
        pairing = real_inner(transposed, tangents)
    curvature = outer.gradient(pairing, replay, unconnected_gradients=ZERO)
    transported = inner.gradient(
        state, replay, output_gradients=multiplier_tangents, unconnected_gradients=ZERO
    )
    return transposed, [a + b for a, b in zip(transported, curvature)]


@_unconverted
def forward(system: ControlSystem) -> list[list[tf.Tensor]]:
    """(7b): the states ``s_0 .. s_T``; nothing else is kept."""
    states = []
    for t, stage in enumerate(system.stages):
        states.append(list(stage.run(_inputs(system, states, t))[: system.state_size]))
    return states


@_unconverted
def multiplier_recursion(
    system: ControlSystem, states: Sequence[Sequence[tf.Tensor]], final: Sequence[tf.Tensor]
) -> list[tf.Tensor]:
    """(7a)-(8) from ``lambda_T`` = ``final``: for ``t = T..0`` stage ``t`` runs again from the
    stored ``s_{t-1}`` under a tape and one vector-Jacobian product gives ``lambda_{t-1}`` and
    ``J_c F_t^T lambda_t``. Returns ``grad_c`` (aligned with the controls, summed over the stages
    that read each; zeros for a control no stage reads)."""
    multipliers, totals = list(final), [None] * len(system.controls)
    for t in reversed(range(len(system.stages))):
        stage = system.stages[t]
        gradients = _transpose(stage.run, _inputs(system, states, t), multipliers)
        multipliers = gradients[: stage.state_size]
        _accumulate(totals, stage, gradients[stage.state_size :])
    return _dense(totals, system.controls)


@_unconverted
def tangent_recursion(
    system: ControlSystem, states: Sequence[Sequence[tf.Tensor]], control_tangents: Sequence[tf.Tensor]
) -> list[list[tf.Tensor]]:
    """The tangent states ``sdot_t = J_s F_t sdot_{t-1} + J_c F_t cdot`` (``sdot_0 = J_c psi
    cdot``), one stage at a time from the stored states (module docstring)."""
    tangents = []
    for t, stage in enumerate(system.stages):
        inputs = _inputs(system, states, t)
        tangent_in = _inputs(system, tangents, t, control_tangents)
        tangents.append(_tangent(stage.run, inputs, tangent_in, system.state_size))
    return tangents


@_unconverted
def second_order_recursion(
    system: ControlSystem,
    states: Sequence[Sequence[tf.Tensor]],
    tangents: Sequence[Sequence[tf.Tensor]],
    control_tangents: Sequence[tf.Tensor],
    final: Sequence[tf.Tensor],
    final_tangent: Sequence[tf.Tensor],
) -> tuple[list[tf.Tensor], list[tf.Tensor]]:
    """(7a)-(8) and their derivative along the tangents (module docstring): ``grad_c`` and its
    tangent ``(grad_c)dot``, one stage at a time (a tape over one replayed stage, nested in a
    second one for the curvature term ``grad^2 <lambda_t, F_t> (sdot_{t-1}, cdot)``)."""
    multipliers, multiplier_tangents = list(final), list(final_tangent)
    totals, tangent_totals = [None] * len(system.controls), [None] * len(system.controls)
    for t in reversed(range(len(system.stages))):
        stage, k = system.stages[t], system.stages[t].state_size
        inputs = _inputs(system, states, t)
        tangent_in = _inputs(system, tangents, t, control_tangents)
        transposed, derivative = _second_order(
            stage.run, inputs, tangent_in, multipliers, multiplier_tangents
        )
        multipliers, multiplier_tangents = transposed[:k], derivative[:k]
        _accumulate(totals, stage, transposed[k:])
        _accumulate(tangent_totals, stage, derivative[k:])
    return _dense(totals, system.controls), _dense(tangent_totals, system.controls)


# ----------------------------------------------------------------------------------- the network
def check_network(network) -> UnrolledLOA:
    """``network`` if the adjoint gradient applies to it (an :class:`UnrolledLOA`)."""
    if not isinstance(network, UnrolledLOA):
        raise ValueError(
            f"argument `gradient`: the adjoint gradient needs an UnrolledLOA (its phases as state "
            f"maps); got {type(network).__name__}; set `gradient` to tape"
        )
    return network


@_unconverted
def network_system(network: UnrolledLOA, inputs) -> tuple[ControlSystem, tf.Tensor]:
    """``network`` on ``inputs`` as a :class:`ControlSystem` (module docstring), and the summed
    auxiliary loss ``a`` (0 without one). Computes only the controls from the variables (record it
    under a tape); the controls come in the same order on every call."""
    network = check_network(network)
    objective, image, eps, domain = network.start(inputs)
    energy, rebuild = objective_inputs(objective)
    controls: list = [image, eps, *energy]
    index = {tensor.ref(): i for i, tensor in enumerate(controls)}

    def psi(tensors):
        start = initial_state(rebuild(tensors[2:]), tf.identity(tensors[0]), tf.identity(tensors[1]))
        return [start.point.image, start.eps, start.value, start.gradient, tf.identity(start.previous)]

    stages = [Stage(tuple(range(len(controls))), psi, 0)]
    for phase in network.phases[: network.active_phases]:
        alpha, tau, momentum = phase.controls(domain)
        phase_controls, run = phase_function(objective, alpha, tau, network.policy, momentum)
        for tensor in phase_controls:
            if tensor.ref() not in index:
                index[tensor.ref()] = len(controls)
                controls.append(tensor)
        stages.append(Stage(tuple(index[t.ref()] for t in phase_controls), run, STATE_SIZE))
    auxiliary = network.auxiliary_loss(inputs)
    auxiliary = tf.constant(0.0) if auxiliary is None else tf.reduce_sum(auxiliary)
    return ControlSystem(controls, stages, STATE_SIZE), auxiliary


def _variable_gradients(tape, targets: list, variables: list, output_gradients: list) -> list:
    """Dense gradients of ``targets`` (with ``output_gradients``) in Keras ``variables``."""
    return dense(tape.gradient(targets, variables, output_gradients=output_gradients), variables)


def _terminal(loss: Callable[[tf.Tensor], tf.Tensor], state: Sequence[tf.Tensor]):
    """``l(x_T)`` and (6) ``lambda_T = grad_{s_T} l`` (zero but for ``x_T``)."""
    reconstruction = state[0]
    with tf.GradientTape() as tape:
        tape.watch(reconstruction)
        value = loss(reconstruction)
    final = [tape.gradient(value, reconstruction)] + [tf.zeros_like(s) for s in state[1:]]
    return value, final


class AdjointGradient(NamedTuple):
    """The loss ``L = l(x_T) + a``, its gradients in the requested variables (dense) and the
    reconstruction ``x_T``."""

    loss: tf.Tensor
    gradients: list
    reconstruction: tf.Tensor


@_unconverted
def adjoint_gradient(
    network: UnrolledLOA,
    inputs,
    loss: Callable[[tf.Tensor], tf.Tensor],
    variables: Sequence,
) -> AdjointGradient:
    """``L = loss(x_T) + sum(a)`` (``a`` the measurement's per-sample auxiliary loss, as
    :meth:`lda_tf.training.LOATrainer.batch_loss` adds it) and its gradient in ``variables`` by
    the multiplier recursion (module docstring): equal to ``tf.GradientTape`` through the whole
    network (Theorem 1), with the memory of the states and one phase."""
    with tf.GradientTape() as controls_tape:  # variables -> controls (cheap; no phase runs here)
        system, auxiliary = network_system(network, inputs)
    states = forward(system)
    value, final = _terminal(loss, states[-1])
    control_gradients = multiplier_recursion(system, states, final)
    gradients = _variable_gradients(
        controls_tape,
        system.controls + [auxiliary],
        list(variables),
        control_gradients + [tf.ones_like(auxiliary)],
    )
    return AdjointGradient(value + auxiliary, gradients, states[-1][0])


@_unconverted
def hessian_vector_product(
    network: UnrolledLOA,
    inputs,
    loss: Callable[[tf.Tensor], tf.Tensor],
    variables: Sequence,
    direction: Sequence[tf.Tensor | None] | Callable[[list], Sequence[tf.Tensor | None]],
) -> tuple[AdjointGradient, list]:
    """The adjoint gradient of ``L`` in ``variables`` and ``H v``: its derivative when the
    variables move along the direction ``v`` (one tensor per variable, None for a fixed one), by
    the tangent and second-order recursions (module docstring), one phase at a time.

    ``direction`` may be a function of the gradient (then computed first, from the same stored
    states): the bilevel penalty's direction is the training gradient itself."""
    variables = list(variables)
    with tf.GradientTape(persistent=True) as controls_tape:
        system, auxiliary = network_system(network, inputs)
    states = forward(system)
    value, final = _terminal(loss, states[-1])
    gradients = None
    if callable(direction):
        gradients = _variable_gradients(
            controls_tape,
            system.controls + [auxiliary],
            variables,
            multiplier_recursion(system, states, final) + [tf.ones_like(auxiliary)],
        )
        direction = direction(gradients)
    moving = [v for v, d in zip(variables, direction) if d is not None]
    direction = [tf.convert_to_tensor(d) for d in direction if d is not None]

    # cdot = J_c v, the controls' tangents (double vector-Jacobian product on the controls map).
    probes = [tf.zeros_like(c) for c in system.controls]
    with tf.GradientTape() as probe_tape:
        probe_tape.watch(probes)
        transposed = _variable_gradients(controls_tape, system.controls, moving, probes)
        pairing = real_inner(transposed, direction)
    control_tangents = probe_tape.gradient(pairing, probes, unconnected_gradients=ZERO)

    tangents = tangent_recursion(system, states, control_tangents)
    reconstruction = states[-1][0]
    with tf.GradientTape() as outer:  # lambdadot_T = grad^2 l(x_T) xdot_T
        outer.watch(reconstruction)
        _, terminal = _terminal(loss, states[-1])
        pairing = real_inner(terminal[:1], tangents[-1][:1])
    final_tangent = [outer.gradient(pairing, reconstruction)] + [tf.zeros_like(s) for s in final[1:]]
    control_gradients, control_gradient_tangents = second_order_recursion(
        system, states, tangents, control_tangents, final, final_tangent
    )

    # To the variables: g = J_c^T grad_c + grad a, and H v = J_c^T (grad_c)dot + grad^2 <grad_c, c> v
    # (+ grad^2 a v), the last by a tape over the controls map (recomputed: it is cheap).
    if gradients is None:
        gradients = _variable_gradients(
            controls_tape,
            system.controls + [auxiliary],
            variables,
            control_gradients + [tf.ones_like(auxiliary)],
        )
    transported = _variable_gradients(controls_tape, system.controls, variables, control_gradient_tangents)
    del controls_tape
    fixed = [tf.stop_gradient(g) for g in control_gradients]
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            recomputed, recomputed_auxiliary = network_system(network, inputs)
        first = _variable_gradients(
            inner,
            recomputed.controls + [recomputed_auxiliary],
            moving,
            fixed + [tf.ones_like(recomputed_auxiliary)],
        )
        pairing = real_inner(first, direction)
    curvature = dense(outer.gradient(pairing, variables), variables)
    products = [a + b for a, b in zip(transported, curvature)]
    return AdjointGradient(value + auxiliary, gradients, reconstruction), products


@_unconverted
def penalty_objective(
    network: UnrolledLOA,
    sample_loss: Callable[[tf.Tensor, tf.Tensor], tf.Tensor],
    train_batch,
    val_batch,
    theta: Sequence,
    omega: Sequence,
    penalty_weight: tf.Tensor,
) -> PenaltyEvaluation:
    """``Ltilde`` (17) and its gradients as :func:`lda_tf.training.bilevel.penalty_objective`
    gives them, by adjoint gradients.

    ``grad Ltilde = grad L_val + lambda H G`` with ``G`` the all-replica ``grad_theta L_tr`` (held
    constant, as there) and ``H`` the Hessian of this replica's ``L_tr`` in ``(theta, omega)``
    times the direction ``(G, 0)`` (:func:`hessian_vector_product`). That is the gradient of
    ``<grad_theta L_tr, G>`` the tape path differentiates, by the symmetry of the Hessian.
    ``sample_loss(recon, target)`` is the per-sample loss ``[B]``."""
    theta, omega = list(theta), list(omega)

    def loss_of(target):
        return lambda recon: tf.reduce_sum(sample_loss(recon, target))

    (train_inputs, train_target), (val_inputs, val_target) = train_batch, val_batch
    held = {}

    def direction(gradients):  # (G, 0): G summed over replicas and held constant
        held["G"] = [tf.stop_gradient(g) for g in replica_sum(gradients[: len(theta)])]
        return held["G"] + [None] * len(omega)

    train, curvature = hessian_vector_product(
        network, train_inputs, loss_of(train_target), theta + omega, direction
    )
    global_train_gradients = held["G"]
    # The validation pass after the training one (traced, they would run side by side).
    val_inputs = _sequenced(val_inputs, curvature)
    val = adjoint_gradient(network, val_inputs, loss_of(val_target), theta + omega)
    gradients = [g + penalty_weight * h for g, h in zip(val.gradients, curvature)]
    return penalty_evaluation(
        val.loss, train.loss, global_train_gradients, penalty_weight, gradients, len(theta)
    )
