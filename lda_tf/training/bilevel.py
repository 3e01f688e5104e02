"""The penalty objective of bilevel training, eqs. (14)-(17) of the meta paper, and Algorithm 2's
schedule constants.

``Ltilde(theta, omega) = L(theta, omega; B_val) + lambda/2 ||grad_theta L(theta, omega; B_tr)||^2``
(17), with ``L`` the sum of the per-sample losses (13) over the batch (eq. (12) sums, and the
penalty's scale depends on it).

Its gradient needs a second differentiation through the unrolled network. Written as
``L_val + lambda <g, stop_gradient(G)>`` with ``g`` this replica's ``grad_theta L_tr`` and ``G``
the all-replica sum (= ``g`` on one device), the gradient is ``grad L_val + lambda H G``, which
summed over replicas is exactly ``grad Ltilde`` (``H`` the Hessian of ``L_tr``): the penalty is
reduced correctly under ``tf.distribute`` although it is quadratic in a global gradient.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import NamedTuple

import tensorflow as tf

from lda_tf.math import global_squared_norm


@dataclasses.dataclass(frozen=True)
class BilevelConfig:
    """Algorithm 2's constants; defaults are the paper's (section 5.2; SPEC 4).

    ``theta_steps`` is K (not given in the paper; 1 here) and ``max_rounds`` caps the inner
    ``while criterion > delta`` loop per batch. ``omega_step_updates_theta``: the omega step of a
    round (line 9) steps theta too, with the gradient of the same evaluation; the authors' TF1
    release does so (its ``trainer_vl`` minimises over all variables, line 359 of
    ``recon_meta_Journal_of_Imaging.py``, its ``var_list=omega`` commented out). delta and lambda
    are updated once per epoch (a callback): with the paper's 0.95 per update, delta reaches
    delta_tol = 4.35e-6 from 1e-3 after 106 updates, which matches its 100 epochs; once per batch
    it would end training after 106 batches.
    """

    lambda0: float = 1e-5
    nu_lambda: float = 1.001
    delta0: float = 1e-3
    nu_delta: float = 0.95
    delta_tol: float = 4.35e-6
    theta_steps: int = 1
    max_rounds: int = 1
    omega_step_updates_theta: bool = False

    def __post_init__(self):
        if not (0 < self.nu_delta < 1 and self.nu_lambda >= 1):
            raise ValueError(
                f"need 0 < nu_delta < 1 and nu_lambda >= 1; got {self.nu_delta}, {self.nu_lambda}"
            )
        if min(self.lambda0, self.delta0, self.delta_tol) < 0 or self.theta_steps < 1 or self.max_rounds < 1:
            raise ValueError("lambda0, delta0, delta_tol must be >= 0 and theta_steps, max_rounds >= 1")


class PenaltyEvaluation(NamedTuple):
    """Global values (summed over replicas) and this replica's gradients."""

    objective: tf.Tensor  # Ltilde
    val_loss: tf.Tensor  # L(B_val)
    train_loss: tf.Tensor  # L(B_tr)
    penalty: tf.Tensor  # lambda/2 ||grad_theta L(B_tr)||^2
    theta_gradients: list
    omega_gradients: list


def penalty_evaluation(
    val_loss: tf.Tensor,
    train_loss: tf.Tensor,
    global_train_gradients: Sequence[tf.Tensor],
    penalty_weight: tf.Tensor,
    gradients: Sequence[tf.Tensor],
    num_theta: int,
) -> PenaltyEvaluation:
    """The :class:`PenaltyEvaluation` of (17) from this replica's losses, the training gradient
    ``G`` summed over replicas and this replica's gradients in ``theta + omega`` (the first
    ``num_theta`` are theta's); the losses are summed over replicas here."""
    penalty = 0.5 * penalty_weight * global_squared_norm(global_train_gradients)
    val_loss, train_loss = replica_sum([val_loss, train_loss])
    return PenaltyEvaluation(
        objective=val_loss + penalty,
        val_loss=val_loss,
        train_loss=train_loss,
        penalty=penalty,
        theta_gradients=list(gradients[:num_theta]),
        omega_gradients=list(gradients[num_theta:]),
    )


def replica_sum(values):
    """Sum over replicas (identity without a distribution strategy)."""
    return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, values)


def dense(gradients: Sequence, variables: Sequence) -> list:
    """Gradients as dense tensors (``tf.gather`` gives IndexedSlices for omega); zeros for
    variables the loss does not reach (step sizes of inactive phases), which Adam then leaves
    where they are."""
    return [
        tf.zeros_like(variable) if gradient is None else tf.convert_to_tensor(gradient)
        for gradient, variable in zip(gradients, variables)
    ]


def penalty_objective(
    batch_loss: Callable[[object], tf.Tensor],
    train_batch,
    val_batch,
    theta: Sequence[tf.Variable],
    omega: Sequence[tf.Variable],
    penalty_weight: tf.Tensor,
) -> PenaltyEvaluation:
    """``Ltilde`` (17) and its gradients in theta and omega (module docstring)."""
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            train_loss = batch_loss(train_batch)
        train_gradients = dense(inner.gradient(train_loss, theta), theta)
        global_train_gradients = [tf.stop_gradient(g) for g in replica_sum(train_gradients)]
        val_loss = batch_loss(val_batch)
        pairing = tf.add_n([tf.reduce_sum(g * G) for g, G in zip(train_gradients, global_train_gradients)])
        surrogate = val_loss + penalty_weight * pairing
    variables = list(theta) + list(omega)
    gradients = dense(outer.gradient(surrogate, variables), variables)
    return penalty_evaluation(
        val_loss, train_loss, global_train_gradients, penalty_weight, gradients, len(theta)
    )
