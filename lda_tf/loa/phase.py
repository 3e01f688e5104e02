r"""One phase of the unrolled network = one iteration of a learnable descent algorithm (SPEC 3).

Every policy starts with ``z = x - alpha_t grad f(x)`` (eq. (6a)) and the residual candidate
``u = z - tau_t kappa grad r_eps(z)`` (eq. (8)), and differs in how ``x_{t+1}`` is chosen, per
sample (never on a batch mean):

- ``meta`` (Algorithm 1 of the meta paper 001): ``x+ = u`` if ``||grad phi(x)|| <= a ||u - x||``
  and ``phi(u) - phi(x) <= -(1/a) ||u - x||^2`` (line 5); otherwise the safeguard
  ``v = x - abar grad phi(x)`` (eq. (10)) with ``abar`` starting at ``alpha_t`` and backtracked
  ``abar <- rho abar`` until ``phi(v) - phi(x) <= -(1/a) ||v - x||^2`` (lines 8-12).
- ``elda`` (Algorithm 1 of U-LDA 002): ``u`` with step ``beta_t`` (stored as ``tau_t``) accepted
  under (4.9a) ``||grad phi(x)|| <= ||u - x|| / eta1`` and (4.9b)
  ``phi(u) - phi(x) <= -(eta2/2) ||u - x||^2``; otherwise ``v`` from ``abar = alpha_bar``,
  backtracked until (4.11) ``phi(v) - phi(x) <= -(eta3/eps) ||v - x||^2``.
- ``lda`` (Algorithm 1 of LDA 003): both ``u`` and ``v = z - alpha_t grad r_eps(x)``
  (= ``x - alpha_t grad phi(x)``, eq. (14b)); keep the one with the smaller ``phi`` (eq. (15)).
  Decision: ``v``'s step is backtracked like ``meta``'s (coefficient ``1/a``); LDA's Theorem 3.5
  needs ``alpha_t`` in a range a learned step need not respect, and the paper itself uses
  backtracking past the trained phases. With the first trial accepted, this is exactly (14b).
- ``residual``: always ``u``; no descent guarantee, kept for ablation. Of the authors' TF1
  release, only the test script computes ``u`` in every phase (its safeguard's ``else`` branch
  ends in ``x1 = u1``), as the training script did when first uploaded (safeguard commented out);
  the training script at HEAD computes neither ``u`` nor the safeguard but
  ``x - alpha sigma(w) grad_R(x)`` in every phase (its ``if tensor == True`` tests are never true
  in graph mode). Neither has this policy's conventions (SPEC's per-phase steps, ``kappa`` in
  ``u``, per-pixel normalisation): :class:`lda_tf.loa.release.ReleaseUnrolled` computes what the
  scripts compute (docs/decisions.md, "The authors' TF1 release as it runs").
- ``gd`` (GD-Net, LDA paper 4.3.1): the u step turned off, ``x+ = v = x - alpha_t grad phi(x)``
  with the learned step and no line search: unrolled gradient descent on ``phi_eps``.
- ``agd`` (AGD-Net, 4.3.1): ``x+ = x - alpha_t grad phi(x) + theta_t (x - x_{t-1})`` with a learned
  momentum ``theta_t`` per phase. Decision: the paper prints ``grad f``; with ``f`` alone the
  network would not use the learned regulariser at all, so ``grad phi_eps`` (as in GD-Net) is read.

Line search: at most ``max_backtracks`` reductions by ``rho`` (10 for ``meta`` and ``lda``, whose
first trial is the learned ``alpha_t``; 30 for ``elda``, whose first trial is the constant
``alpha_bar``: see :class:`PhasePolicy`); a sample whose condition still fails keeps ``x``
(step 0), so ``phi_eps(x_{t+1}) <= phi_eps(x_t)`` holds per sample for ``meta``, ``elda`` and
``lda`` with any parameters. In training, the number of reductions ``k`` is piecewise
constant in the parameters and held fixed: the accepted step ``alpha_t rho^k`` (``meta``, ``lda``)
stays differentiable in the learned ``alpha_t``, as (14b) ``v = z - alpha_t grad r_eps(x)`` is, so
``alpha_t`` learns also where ``v`` is taken (``elda``'s ``alpha_bar rho^k`` is a constant);
gradients flow through the branch taken.

Smoothing update (line 15): ``eps_{t+1} = gamma eps_t`` where
``||grad phi_{eps_t}(x_{t+1})|| < sigma gamma eps_t``, per sample, for every policy.

Inference (``differentiable=False``; ``UnrolledLOA`` with ``training`` false or None): a phase
evaluates ``g`` and ``J_g^H`` only as often as Algorithm 1 needs, and chooses between ``u`` and
``v`` per sample (a ``tf.where`` over the image and every feature map) only when some sample of
the batch takes ``v``. ``g(x_{t+1})`` and ``grad phi(x_{t+1})`` are the accepted candidate's own
(the next phase starts from them); the line search's first trial is ``v`` itself wherever it is
accepted, and ``g`` is evaluated at the searched step only when some sample of the batch needed a
reduction; the eps rule's gradient at the reduced eps (the same pre-activations, one more
``J_g^H``) only when some sample's eps was reduced. The skips are ``tf.cond`` calls on batch-wide
flags; the values are the same as in training. Per phase where every sample takes ``u``:
``residual``, ``meta`` and ``elda`` 2 feature passes and 2 ``J_g^H``, ``lda`` 3 and 2 (it always
compares with ``v``), ``gd`` and ``agd`` 1 and 1; where ``v``'s first trial is accepted, ``meta``
and ``elda`` 3 and 2 (``tests/loa/test_phase_cost.py`` counts them).

Training (``differentiable=True``, the default) computes both candidates and both eps-rule
gradients for the whole batch and chooses per sample with ``tf.where``: no ``tf.cond``. With the
two ``tf.cond`` calls in the bilevel (second-order) step, tracing the meta paper's step at 3 phases,
80x90, took 110 s instead of 48, its peak memory rose from 2.0 to 3.2 GiB, and one run failed
inside TensorFlow (``AlreadyExistsError`` on a temporary variable of the ``cond`` gradient's
``AddN``); the steady step was 10 % faster. So the line search evaluates its first trial without
gradients and ``v`` again with them, and the eps rule's second ``J_g^H`` always runs.

Per-phase recomputation (:func:`checkpointed_phase_iteration`, gradient checkpointing): the
forward pass keeps only each phase's inputs (``x_t``, ``eps_t``, ``phi(x_t)``, ``grad phi(x_t)``,
``x_{t-1}``, the step sizes, ``kappa``, the kernels and the data term); the backward pass runs the
phase again under a tape and back-propagates through that. Memory then holds one phase's
intermediates instead of all ``T``, at the price of a second forward pass per phase. The backward
pass of a phase is recomputed the same way (:func:`recomputed`): a second differentiation (the meta
paper's bilevel step) keeps each phase's inputs and cotangents and replays the phase and its
backward pass when it reaches them, so the second-order step too holds one phase's intermediates at
a time, at the price of replaying each phase twice more (benchmarks/README.md, issue 19 goal 2).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import NamedTuple

import keras
import tensorflow as tf

from lda_tf.checks import check_choice
from lda_tf.loa.objective import Point, VariationalObjective, as_dtype_of, per_sample
from lda_tf.math import broadcastable_per_sample, squared_norm

POLICIES = ("meta", "lda", "elda", "residual", "gd", "agd")
SAFEGUARDED_POLICIES = ("meta", "lda", "elda")
# Line-search reductions allowed per phase (PhasePolicy): elda's first trial is a constant.
DEFAULT_MAX_BACKTRACKS = {name: 30 if name == "elda" else 10 for name in POLICIES}


@dataclasses.dataclass(frozen=True)
class PhasePolicy:
    """How a phase picks ``x_{t+1}``, with the algorithm constants (not learned).

    Defaults: ``a = 1e3`` (the authors' release), ``rho = 0.5``, ``gamma = 0.9`` and ``sigma = 1``
    (SPEC 3). For ``elda``: ``eta1 = 1/a`` and ``eta2 = 2/a`` make (4.9) the same test as
    ``meta``'s line 5; ``eta3 = 1e-6`` gives ``eta3 / eps = 1e-3 = 1/a`` at ``eps = 1e-3``;
    ``alpha_bar = 1`` is ``1/L_f`` for the orthonormal ``A``.

    ``max_backtracks`` (None: the policy's default, :data:`DEFAULT_MAX_BACKTRACKS`): 10 (down to
    ~1e-3 of the first trial) where the first trial is the learned ``alpha_t``, which training
    scales with ``g``. ``elda``'s first trial is the constant ``alpha_bar``, so its count is set by
    the Lipschitz constant of the learned ``grad phi_eps``: Lemma 4.5 of U-LDA (4.13) bounds it by
    ``ceil(log2(alpha_bar (L_eps / 2 + eta3 / eps))) + 1`` at ``rho = 1/2``, with
    ``L_eps = L_f + sqrt(d1) L_q + M^2 / eps`` (Lemma 4.4) growing with ``g``'s gain. The paper puts
    no cap on the search; 30 covers ``L_eps`` up to ~1e9 (``M^2`` up to 1e6 at ``eps = 1e-3``). 10
    did not: after 120 steps of the quick cross-sampling profile the pooled LDA needed 11-12
    reductions in every phase, every search failed, ``x_T = x_0``, and the gradient of every weight
    was zero, a state training cannot leave (docs/ulda.md, "The backtracking cap"). A reduction
    costs one evaluation of ``phi``, and only while some sample of the batch still needs one.
    """

    name: str = "meta"
    a: float = 1e3
    rho: float = 0.5
    max_backtracks: int | None = None
    gamma: float = 0.9
    sigma: float = 1.0
    eta1: float = 1e-3
    eta2: float = 2e-3
    eta3: float = 1e-6
    alpha_bar: float = 1.0

    def __post_init__(self):
        check_choice(self.name, POLICIES, "policy")
        for field in ("a", "gamma", "sigma", "eta1", "eta2", "eta3", "alpha_bar"):
            if not getattr(self, field) > 0:
                raise ValueError(f"policy parameter {field} must be positive; got {getattr(self, field)}")
        if not 0 < self.rho < 1 or not self.gamma < 1:
            raise ValueError(
                f"policy needs 0 < rho < 1 and gamma < 1; got rho={self.rho}, gamma={self.gamma}"
            )
        if self.max_backtracks is None:  # frozen: set the policy's default once, here
            object.__setattr__(self, "max_backtracks", DEFAULT_MAX_BACKTRACKS[self.name])
        if self.max_backtracks < 0:
            raise ValueError(f"max_backtracks must be >= 0; got {self.max_backtracks}")

    def replace(self, **changes) -> PhasePolicy:
        return dataclasses.replace(self, **changes)


class IterateState(NamedTuple):
    """``x_t`` with ``eps_t`` ``[B]``, ``phi_{eps_t}(x_t)`` ``[B]``, ``grad phi_{eps_t}(x_t)`` and
    the previous iterate ``x_{t-1}`` (``x_0`` at the start; the inertial step of ``agd``)."""

    point: Point
    eps: tf.Tensor
    value: tf.Tensor
    gradient: tf.Tensor
    previous: tf.Tensor


class PhaseDiagnostics(NamedTuple):
    """Per-sample ``[B]`` monitoring values of one phase."""

    eps: tf.Tensor  # eps_t used in the phase
    took_u: tf.Tensor  # 1.0 where x_{t+1} = u_{t+1}
    phi_before: tf.Tensor  # phi_{eps_t}(x_t)
    phi_after: tf.Tensor  # phi_{eps_t}(x_{t+1})
    backtracks: tf.Tensor  # step reductions of the line search (0 where u was taken)
    # 1.0 where x_{t+1} = v and no step up to max_backtracks reductions was sufficient, so x was kept
    # (backtracks == max_backtracks alone cannot tell this from a step accepted after the last one)
    line_search_failed: tf.Tensor


def initial_state(objective: VariationalObjective, image: tf.Tensor, eps: tf.Tensor) -> IterateState:
    point = objective.point(image)
    return IterateState(point, eps, objective.value(point, eps), objective.gradient(point, eps), image)


def select(condition: tf.Tensor, if_true, if_false):
    """Per-sample choice between two structures of ``[B, ...]`` tensors."""

    def choose(a, b):
        return tf.where(broadcastable_per_sample(condition, a), a, b)

    return tf.nest.map_structure(choose, if_true, if_false)


def line_search(
    objective: VariationalObjective,
    state: IterateState,
    initial_step: tf.Tensor,
    decrease: tf.Tensor,
    policy: PhasePolicy,
    initial_value: tf.Tensor | None = None,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Backtracking on ``v = x - s grad phi(x)``: the largest ``s = initial_step rho^k``,
    ``k <= max_backtracks``, with ``phi(v) - phi(x) <= -decrease ||v - x||^2``, or ``s = 0``.

    ``initial_value``: ``phi`` at the first trial ``x - initial_step grad phi(x)`` where the caller
    has evaluated it already (at inference it is ``v`` itself wherever the first trial is
    accepted); the search then evaluates ``phi`` only at the reduced trials.

    Returns the step ``[B]``, the number of reductions ``k`` ``[B]`` and ``failed`` ``[B]`` (1.0
    where no step was sufficient and ``s = 0``). The search itself sees no
    gradient; the returned ``s = initial_step rho^k`` holds ``k`` fixed, so it is differentiable in
    a learned ``initial_step`` (``alpha_t`` of ``meta`` and ``lda``).
    """
    objective = objective.without_gradients()
    image, eps = tf.stop_gradient(state.point.image), tf.stop_gradient(state.eps)
    direction, value = tf.stop_gradient(state.gradient), tf.stop_gradient(state.value)
    direction_norm2 = squared_norm(direction)
    decrease = tf.stop_gradient(decrease)

    def sufficient(step, trial_value):
        return trial_value - value <= -decrease * step * step * direction_norm2

    def sufficient_decrease(step):
        trial = image - per_sample(step, direction) * direction
        return sufficient(step, objective.value(objective.point(trial), eps))

    def body(count, step, accepted, reductions):
        reduce = tf.logical_not(accepted)
        step = tf.where(reduce, policy.rho * step, step)
        reductions = reductions + tf.cast(reduce, tf.float32)
        return count + 1, step, tf.logical_or(accepted, sufficient_decrease(step)), reductions

    searched = tf.stop_gradient(initial_step)
    if initial_value is None:
        first_accepted = sufficient_decrease(searched)
    else:
        first_accepted = sufficient(searched, tf.stop_gradient(initial_value))
    _, _, accepted, reductions = tf.while_loop(
        lambda count, step, accepted, reductions: tf.logical_and(
            count < policy.max_backtracks, tf.logical_not(tf.reduce_all(accepted))
        ),
        body,
        (tf.constant(0), searched, first_accepted, tf.zeros_like(searched)),
        maximum_iterations=policy.max_backtracks,
    )
    step = initial_step * tf.stop_gradient(tf.pow(policy.rho, reductions))  # = the searched step
    failed = tf.cast(tf.logical_not(accepted), tf.float32)
    return tf.where(accepted, step, tf.zeros_like(step)), reductions, failed


def _safeguard_candidate(
    objective: VariationalObjective,
    state: IterateState,
    policy: PhasePolicy,
    alpha: tf.Tensor,
    differentiable: bool,
) -> tuple[Point, tf.Tensor, tf.Tensor, tf.Tensor]:
    """The line-searched gradient step ``v`` (eq. (10) / (4.10) / (14b)): point, value, reductions,
    whether the search failed.

    Differentiated (training): the search evaluates its first trial without gradients and ``v``
    is evaluated again, with them, at the searched step. At inference the first trial is
    evaluated once and is ``v`` wherever it is accepted; ``g`` is evaluated again at the searched
    step only when some sample of the batch needed a reduction (module docstring, "Inference")."""
    if policy.name == "elda":
        initial_step = tf.fill(tf.shape(state.eps), policy.alpha_bar)
        decrease = policy.eta3 / state.eps
    else:
        initial_step = alpha
        decrease = tf.fill(tf.shape(state.eps), 1.0 / policy.a)
    image, gradient = state.point.image, state.gradient

    def candidate(step):
        point = objective.point(image - per_sample(step, gradient) * gradient)
        return point, objective.value(point, state.eps)

    if differentiable:
        step, reductions, failed = line_search(objective, state, initial_step, decrease, policy)
        return (*candidate(step), reductions, failed)
    first = candidate(initial_step)
    step, reductions, failed = line_search(objective, state, initial_step, decrease, policy, first[1])
    all_first = tf.reduce_all(tf.logical_and(tf.equal(reductions, 0.0), tf.equal(failed, 0.0)))
    return (*tf.cond(all_first, lambda: first, lambda: candidate(step)), reductions, failed)


def _gradient_step(
    objective: VariationalObjective, state: IterateState, alpha: tf.Tensor, momentum: tf.Tensor | None
) -> tuple[Point, tf.Tensor]:
    """GD-Net's ``x - alpha grad phi(x)``, with AGD-Net's ``+ theta (x - x_{t-1})`` when
    ``momentum`` is given: point and value."""
    image = state.point.image
    step = image - per_sample(alpha, image) * state.gradient
    if momentum is not None:
        step = step + as_dtype_of(momentum, image) * (image - state.previous)
    point = objective.point(step)
    return point, objective.value(point, state.eps)


def phase_iteration(
    objective: VariationalObjective,
    state: IterateState,
    alpha: tf.Tensor,
    tau: tf.Tensor,
    policy: PhasePolicy,
    momentum: tf.Tensor | None = None,
    differentiable: bool = True,
) -> tuple[IterateState, PhaseDiagnostics]:
    """``x_t -> x_{t+1}`` (and ``eps_t -> eps_{t+1}``) under ``policy``; see the module docstring.
    ``momentum`` is ``theta_t`` of ``agd`` (required there, ignored otherwise). With
    ``differentiable=False`` (inference) the phase skips the evaluations no sample of the batch
    needs (module docstring, "Inference"); the values are the same."""
    image, eps, kappa = state.point.image, state.eps, objective.kappa
    # One step size for the batch, or one per sample (U-LDA's per-domain steps): [B] either way.
    alpha, tau = (tf.broadcast_to(step, tf.shape(eps)) for step in (alpha, tau))
    if policy.name in ("gd", "agd"):
        if policy.name == "agd" and momentum is None:
            raise ValueError("the agd policy needs the phase's momentum theta_t")
        next_point, next_value = _gradient_step(
            objective, state, alpha, momentum if policy.name == "agd" else None
        )
        no = tf.zeros_like(eps)
        diagnostics = PhaseDiagnostics(eps, no, state.value, next_value, no, no)
        return _finish(objective, state, next_point, diagnostics, policy, differentiable)
    z = image - per_sample(alpha, image) * objective.data.data_fidelity_gradient(image)  # (6a)
    z_point = objective.point(z)
    grad_r_z = objective.regularizer_gradient(z_point, eps)
    u = z - per_sample(tau * kappa, grad_r_z) * grad_r_z  # (8)
    u_point = objective.point(u)
    u_value = objective.value(u_point, eps)
    u_step2 = squared_norm(u - image)
    gradient_norm = tf.sqrt(squared_norm(state.gradient))

    def choose(v_point, v_value, reductions, failed):
        """Per sample ``x_{t+1}``: ``u`` where ``take_u``, else ``v``; ``v``'s line-search counts."""
        next_point, next_value = select(take_u, (u_point, u_value), (v_point, v_value))
        return next_point, next_value, *(tf.where(take_u, tf.zeros_like(t), t) for t in (reductions, failed))

    if policy.name == "residual":
        take_u = tf.ones_like(eps, dtype=tf.bool)
        next_point, next_value, reductions, failed = choose(
            u_point, u_value, tf.zeros_like(eps), tf.zeros_like(eps)
        )
    elif policy.name == "lda":  # eq. (15): the candidate with the smaller energy
        v_point, v_value, reductions, failed = _safeguard_candidate(
            objective, state, policy, alpha, differentiable
        )
        take_u = u_value <= v_value
        next_point, next_value, reductions, failed = choose(v_point, v_value, reductions, failed)
    else:
        if policy.name == "meta":  # line 5 of Algorithm 1 (001)
            gradient_coef, decrease_coef = policy.a, 1.0 / policy.a
        else:  # (4.9a), (4.9b) of 002
            gradient_coef, decrease_coef = 1.0 / policy.eta1, 0.5 * policy.eta2
        take_u = tf.logical_and(
            gradient_norm <= gradient_coef * tf.sqrt(u_step2),
            u_value - state.value <= -decrease_coef * u_step2,
        )

        def safeguard():
            return _safeguard_candidate(objective, state, policy, alpha, differentiable)

        if differentiable:
            next_point, next_value, reductions, failed = choose(*safeguard())
        else:  # v, and the per-sample choice over the feature maps, only where some sample needs v
            no = tf.zeros_like(eps)
            next_point, next_value, reductions, failed = tf.cond(
                tf.reduce_all(take_u), lambda: (u_point, u_value, no, no), lambda: choose(*safeguard())
            )

    diagnostics = PhaseDiagnostics(
        eps, tf.cast(take_u, tf.float32), state.value, next_value, reductions, failed
    )
    return _finish(objective, state, next_point, diagnostics, policy, differentiable)


def _differentiable(value) -> bool:
    return tf.is_tensor(value) and (value.dtype.is_floating or value.dtype.is_complex)


def after(tensors: list, cotangents: list) -> list:
    """``tensors`` plus a zero computed from a real cotangent, so that graph optimisation can
    neither merge the replayed phase with the forward one nor run it before the backward pass
    reaches the phase (XLA ignores control dependencies; ``tf.recompute_grad`` does the same).
    Per-phase recomputation and the adjoint gradient (:mod:`lda_tf.training.adjoint`) use it."""
    real = next(c for c in cotangents if c.dtype.is_floating)
    flag = tf.cast(tf.reduce_max(tf.reshape(real, [-1])[:1]), tf.bool)
    zero = tf.where(tf.equal(flag, flag), 0.0, float("nan"))
    return [tensor + tf.cast(zero, tensor.dtype) for tensor in tensors]


def objective_inputs(
    objective: VariationalObjective,
) -> tuple[list[tf.Tensor], Callable[[Sequence[tf.Tensor]], VariationalObjective]]:
    """The tensors ``objective`` depends on and how to rebuild it from replacements: ``(tensors,
    rebuild)`` with ``tensors = [kappa, *kernels, *floating leaves of the data term]`` and
    ``rebuild(replacements)`` the same energy on ``replacements`` (same order). The data term must
    be a nest structure (e.g. a NamedTuple) so that a learned sampling matrix is one of them."""
    data_leaves = tf.nest.flatten(objective.data)
    if len(data_leaves) == 1 and data_leaves[0] is objective.data and not tf.is_tensor(objective.data):
        raise TypeError(
            f"per-phase recomputation needs the data term as a NamedTuple of tensors; got "
            f"{type(objective.data).__name__}"
        )
    data_slots = [index for index, leaf in enumerate(data_leaves) if _differentiable(leaf)]
    kernels = list(objective.kernels)
    tensors = [objective.kappa, *kernels, *(data_leaves[i] for i in data_slots)]

    def rebuild(replacements: Sequence[tf.Tensor]) -> VariationalObjective:
        kappa, rest = replacements[0], list(replacements[1:])
        kernel_values, data_values = rest[: len(kernels)], rest[len(kernels) :]
        leaves = list(data_leaves)
        for slot, tensor in zip(data_slots, data_values):
            leaves[slot] = tensor
        return VariationalObjective(
            tf.nest.pack_sequence_as(objective.data, leaves),
            objective.extractor,
            objective.smoothing,
            kappa,
            kernel_values,
            objective.regularizer_gradient_mode,
        )

    return tensors, rebuild


# The carried state of a phase as flat tensors (IterateState without the feature maps).
STATE_SIZE = 5


def phase_function(
    objective: VariationalObjective,
    alpha: tf.Tensor,
    tau: tf.Tensor,
    policy: PhasePolicy,
    momentum: tf.Tensor | None = None,
) -> tuple[list[tf.Tensor], Callable[[Sequence[tf.Tensor]], list[tf.Tensor]]]:
    """:func:`phase_iteration` as a function of flat tensors: ``(controls, run)``.

    ``controls`` is every tensor the phase reads besides its state: ``alpha_t``, ``tau_t`` (and
    ``theta_t``), then :func:`objective_inputs`. ``run([*state, *controls])`` runs the phase from
    the carried state ``x_t, eps_t, phi(x_t), grad phi(x_t), x_{t-1}`` (:data:`STATE_SIZE`
    tensors) with the given tensors in the controls' place and returns ``[x_{t+1}, eps_{t+1},
    phi(x_{t+1}), grad phi(x_{t+1}), x_t, *diagnostics]``; the phase never reads its input's
    feature maps. Per-phase recomputation (:func:`checkpointed_phase_iteration`) and the adjoint
    gradient (:mod:`lda_tf.training.adjoint`) replay phases through it.
    """
    steps = [tf.convert_to_tensor(alpha, tf.float32), tf.convert_to_tensor(tau, tf.float32)]
    if momentum is not None:
        steps.append(tf.convert_to_tensor(momentum, tf.float32))
    energy, rebuild = objective_inputs(objective)

    def run(tensors: Sequence[tf.Tensor]) -> list[tf.Tensor]:
        start = state_from_tensors(tensors[:STATE_SIZE])
        step_values = tensors[STATE_SIZE : STATE_SIZE + len(steps)]
        replayed = rebuild(tensors[STATE_SIZE + len(steps) :])
        momentum_value = step_values[2] if momentum is not None else None
        next_state, diagnostics = phase_iteration(
            replayed, start, step_values[0], step_values[1], policy, momentum_value
        )
        return [next_state.point.image, *next_state[1:], *diagnostics]

    return steps + energy, run


def state_tensors(state: IterateState) -> list[tf.Tensor]:
    """The carried state as the :data:`STATE_SIZE` tensors :func:`phase_function` takes."""
    return [state.point.image, state.eps, state.value, state.gradient, state.previous]


def state_from_tensors(tensors: Sequence[tf.Tensor]) -> IterateState:
    """The inverse of :func:`state_tensors`; the point carries no feature maps (no phase reads
    ``g(x_t)``: a phase starts from ``x_t``, ``phi(x_t)`` and ``grad phi(x_t)``)."""
    image, eps, value, gradient, previous = tensors
    return IterateState(Point(image, None), eps, value, gradient, previous)


def recomputed(run: Callable[[Sequence[tf.Tensor]], list[tf.Tensor]]) -> Callable[..., list[tf.Tensor]]:
    """``run`` (flat tensors -> flat tensors) as one ``tf.custom_gradient`` that keeps only its
    inputs: reverse mode replays ``run`` under a tape when the backward pass reaches it.

    The gradient is itself ``recomputed`` (of the vector-Jacobian product), so a tape that
    differentiates the backward pass (the bilevel step's second order) keeps the replay's inputs
    and cotangents too, not its intermediates, and replays it once more when its own backward pass
    reaches it: each order of differentiation holds one phase's intermediates at a time.
    """

    @tf.custom_gradient
    def checkpointed(*tensors):
        # stop_gradient: no tape records run's intermediates (they are freed after use).
        outputs = run([tf.stop_gradient(tensor) for tensor in tensors])

        def gradient(*cotangents):
            cotangents = [tf.zeros_like(o) if c is None else c for o, c in zip(outputs, cotangents)]
            return recomputed(vector_jacobian_product(run, len(tensors)))(*tensors, *cotangents)

        return outputs, gradient

    return checkpointed


def vector_jacobian_product(
    run: Callable[[Sequence[tf.Tensor]], list[tf.Tensor]], count: int
) -> Callable[[Sequence[tf.Tensor]], list[tf.Tensor]]:
    """``[*inputs, *cotangents] -> J_run(inputs)^H cotangents`` (``count`` inputs), by replaying
    ``run`` under a tape; the replay waits for the cotangents (:func:`after`)."""

    def product(tensors: Sequence[tf.Tensor]) -> list[tf.Tensor]:
        inputs, cotangents = list(tensors[:count]), list(tensors[count:])
        replay = [tf.identity(tensor) for tensor in inputs]
        if not tf.executing_eagerly():
            replay = after(replay, cotangents)
        with tf.GradientTape() as tape:
            tape.watch(replay)
            outputs = run(replay)
        return tape.gradient(
            outputs, replay, output_gradients=cotangents, unconnected_gradients=tf.UnconnectedGradients.ZERO
        )

    return product


def checkpointed_phase_iteration(
    objective: VariationalObjective,
    state: IterateState,
    alpha: tf.Tensor,
    tau: tf.Tensor,
    policy: PhasePolicy,
    momentum: tf.Tensor | None = None,
) -> tuple[IterateState, PhaseDiagnostics]:
    """:func:`phase_iteration` with per-phase recomputation (module docstring): the same values
    and gradients, one phase's intermediates in memory per order of differentiation.

    Every tensor the phase depends on (:func:`phase_function`) is an explicit input of one
    :func:`recomputed` call: the state, ``alpha_t``, ``tau_t`` (and ``theta_t``), ``kappa``, the
    objective's kernels and the floating tensors of its data term (which must be a nest structure,
    e.g. a NamedTuple, so a learned sampling matrix gets its gradient too). The returned state's
    point carries no feature maps (``features=None``; a phase never reads its input's).
    """
    controls, run = phase_function(objective, alpha, tau, policy, momentum)
    flat = recomputed(run)(*state_tensors(state), *controls)
    next_state = state_from_tensors(flat[:STATE_SIZE])
    return next_state, PhaseDiagnostics(*flat[STATE_SIZE:])


def _finish(
    objective: VariationalObjective,
    state: IterateState,
    next_point: Point,
    diagnostics: PhaseDiagnostics,
    policy: PhasePolicy,
    differentiable: bool,
) -> tuple[IterateState, PhaseDiagnostics]:
    """Line 15: reduce eps where ``||grad phi_{eps_t}(x_{t+1})|| < sigma gamma eps_t``; the new
    state. ``grad phi`` at the reduced eps reuses ``g(x_{t+1})`` (one more ``J_g^H``); at
    inference only when some sample's eps was reduced."""
    eps = state.eps
    next_gradient = objective.gradient(next_point, eps)
    reduce_eps = tf.sqrt(squared_norm(next_gradient)) < policy.sigma * policy.gamma * eps
    next_eps = tf.where(reduce_eps, policy.gamma * eps, eps)

    def reduced_gradient():
        return select(reduce_eps, objective.gradient(next_point, next_eps), next_gradient)

    if differentiable:
        next_gradient = reduced_gradient()
    else:
        next_gradient = tf.cond(tf.reduce_any(reduce_eps), reduced_gradient, lambda: next_gradient)
    next_state = IterateState(
        next_point, next_eps, objective.value(next_point, next_eps), next_gradient, state.point.image
    )
    return next_state, diagnostics


@keras.saving.register_keras_serializable(package="lda_tf")
class LOAPhase(keras.layers.Layer):
    """Phase ``t``: holds the learned positive step sizes ``alpha_t`` and ``tau_t`` (and, for the
    ``agd`` policy only, the momentum ``theta_t``, unconstrained, starting at ``momentum_init``).

    Positivity by a log parametrisation (``alpha_t = exp(log_alpha_t)``), so no optimizer step can
    make a step size zero or negative. Defaults ``alpha = 0.5`` (half of ``1/L_f = 1`` for the
    orthonormal ``A``) and ``tau = 0.05``: a small first regulariser step on images in [0, 1];
    the authors' release started both at 0.01 as unconstrained variables.

    With ``num_groups > 0`` (U-LDA's domain groups, 002 section 4.3) the phase holds one
    ``alpha_t`` and one ``tau_t`` (``beta_t``) per group, shape ``[num_groups]``, and each sample
    steps with its group's (``group_index`` ``[B]``).
    """

    def __init__(
        self,
        alpha_init: float = 0.5,
        tau_init: float = 0.05,
        momentum_init: float | None = None,
        num_groups: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if alpha_init <= 0 or tau_init <= 0:
            raise ValueError(f"initial step sizes must be positive; got alpha={alpha_init}, tau={tau_init}")
        if num_groups < 0 or (num_groups and momentum_init is not None):
            raise ValueError(f"num_groups must be >= 0 and excludes a momentum; got {num_groups}")
        self.alpha_init = float(alpha_init)
        self.tau_init = float(tau_init)
        self.momentum_init = None if momentum_init is None else float(momentum_init)
        self.num_groups = int(num_groups)

    def build(self, input_shape=None):
        shape = (self.num_groups,) if self.num_groups else ()
        self.log_alpha = self.add_weight(
            shape=shape,
            initializer=keras.initializers.Constant(float(tf.math.log(self.alpha_init))),
            name="log_alpha",
        )
        self.log_tau = self.add_weight(
            shape=shape,
            initializer=keras.initializers.Constant(float(tf.math.log(self.tau_init))),
            name="log_tau",
        )
        self.momentum = None
        if self.momentum_init is not None:
            self.momentum = self.add_weight(
                shape=(), initializer=keras.initializers.Constant(self.momentum_init), name="momentum"
            )
        self.built = True

    @property
    def alpha(self) -> tf.Tensor:
        return tf.exp(tf.convert_to_tensor(self.log_alpha))

    @property
    def tau(self) -> tf.Tensor:
        return tf.exp(tf.convert_to_tensor(self.log_tau))

    def steps(self, group_index: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor]:
        """``(alpha_t, tau_t)``: scalars, or per sample ``[B]`` for the groups of ``group_index``."""
        if not self.num_groups:
            return self.alpha, self.tau
        if group_index is None:
            raise ValueError(f"phase {self.name} has {self.num_groups} step-size groups; give group_index")
        return tf.gather(self.alpha, group_index), tf.gather(self.tau, group_index)

    def iterate(
        self,
        objective: VariationalObjective,
        state: IterateState,
        policy: PhasePolicy,
        group_index: tf.Tensor | None = None,
        recompute: bool = False,
        differentiable: bool = True,
    ) -> tuple[IterateState, PhaseDiagnostics]:
        """One iteration; with ``recompute`` (and ``differentiable``: there is nothing to recompute
        at inference) by :func:`checkpointed_phase_iteration`."""
        alpha, tau, momentum = self.controls(group_index)
        if recompute and differentiable:
            return checkpointed_phase_iteration(objective, state, alpha, tau, policy, momentum)
        return phase_iteration(objective, state, alpha, tau, policy, momentum, differentiable)

    def controls(self, group_index: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor | None]:
        """``(alpha_t, tau_t, theta_t)`` as this phase's iteration reads them (see :meth:`steps`;
        ``theta_t`` is None without a momentum)."""
        momentum = None if self.momentum is None else tf.convert_to_tensor(self.momentum)
        return (*self.steps(group_index), momentum)

    def get_config(self):
        config = super().get_config()
        config.update(
            alpha_init=self.alpha_init,
            tau_init=self.tau_init,
            momentum_init=self.momentum_init,
            num_groups=self.num_groups,
        )
        return config
