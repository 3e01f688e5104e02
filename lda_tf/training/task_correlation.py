"""Task-correlation bilevel meta-learning, Algorithm 1 of paper 004 (docs/task_correlation.md).

The paper's text lost its formulas; the model and the hypergradient are the reconstruction of
``../shared/papers/DIGEST-002-004.md`` (Section B), marked [R] there. Its variables ``omega`` are
*loss weights* (softmax over the training tasks), not the meta paper's regulariser weights
``omega_i``; here they are the ``task_correlation_logits`` ``C``.

Model (eq. (3) [R]). ``M`` training tasks with batches ``B_i^tr``, ``N`` validation tasks with
batches ``B_j^val``, per-task losses ``L_i(theta) = sum_{n in B_i} l(x_T^n(theta), xhat^n)`` (13):

- vector: ``w = softmax(c)``, ``c in R^M``, one network ``theta``; lower level
  ``min_theta sum_i w_i L_i^tr(theta)`` (3b), upper level ``min_c sum_j L_j^val(theta*(c))`` (3a);
- matrix: ``W = softmax`` over the training-task axis of ``C in R^{M x N}`` (3c), one network
  ``theta_j`` per validation task (:class:`~lda_tf.loa.task_specific.TaskSpecificUnrolled`);
  lower level ``min_{theta_j} sum_i W_ij L_i^tr(theta_j)`` (3b'), upper level
  ``min_C sum_j L_j^val(theta_j*(C))`` (3a').

The vector model is the matrix model with one column whose network answers every validation task;
the code treats both as ``K`` columns (``K = 1`` or ``N``), column ``k`` with network ``k``.

Algorithm 1 [R], per cross-task batch: ``theta_steps`` (``k``) optimiser steps on theta with the
gradient of the weighted lower loss, then one step on ``C`` with a hypergradient (``hypergradient``):

- ``lookahead`` (default; digest B2.4): the one-step look-ahead. With ``G_i`` the training gradient
  of task ``i`` at ``theta`` and a virtual step ``theta+ = theta - eta sum_i w_i G_i``
  (``eta = virtual_learning_rate``), ``F(c) = sum_j L_j^val(theta+(c))`` and
  ``V = grad F(theta+)``, ``dF/dc_m = -eta w_m (<V, G_m> - sum_i w_i <V, G_i>)`` (the softmax
  Jacobian ``w_i (delta_im - w_m)``); per column of the matrix model with its own ``theta_j``. This
  is the exact gradient of ``F`` (the ``G_i`` are taken at ``theta`` and do not depend on ``c``):
  ``M`` first-order training gradients and one validation gradient, no Hessian-vector product.
- ``first_order``: the same formula with ``V`` taken at ``theta`` instead of ``theta+``.
- ``unrolled``: reverse-mode through ``k`` virtual SGD steps ``theta_{s+1} = theta_s - eta
  grad_theta sum_i w_i L_i(theta_s)`` from the current ``theta``: the exact gradient of the
  ``k``-step look-ahead (second order; for ``k = 1`` equal to ``lookahead``).
- ``penalty``: the meta paper's penalty objective (17) with the softmax-weighted lower loss,
  ``Ltilde = sum_j L_j^val(theta) + lambda/2 ||grad_theta sum_i w_i L_i^tr(theta)||^2``
  (:func:`lda_tf.training.bilevel.penalty_objective`; ``lambda = penalty_weight``).
- ``none``: no step on ``C``: uniform weights ``1/M`` (multi-task training), the baseline.

Decision: the ``lookahead`` / ``first_order`` training gradients ``G_i`` are sums of per-sample
gradients (one ``tf.map_fn`` over the batch, one sample at a time), so a batch may hold the tasks in
any order and any split over replicas; their cost is one forward and backward pass of the batch.
Under ``tf.distribute`` the virtual step and ``V`` use the all-replica sums, and each replica's
hypergradient is its samples' share, which the optimiser sums (the hypergradient is linear in the
``G_i``); ``unrolled`` runs on one replica.

The trainer is :class:`TaskCorrelationTrainer` (an :class:`LOATrainer`: its losses, validation
``test_step``, gated steps and counters); :class:`TaskCorrelationLog` writes ``W`` to TensorBoard.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Sequence

import keras
import tensorflow as tf

from lda_tf.loa.model import UnrolledNetwork
from lda_tf.loa.task_specific import TaskSpecificUnrolled
from lda_tf.training.bilevel import BilevelConfig, dense, penalty_objective, replica_sum
from lda_tf.training.config import leaves, setting
from lda_tf.training.gated_update import apply_if
from lda_tf.training.trainer import LOATrainer, _all_finite

MODELS = ("vector", "matrix")
HYPERGRADIENTS = ("lookahead", "first_order", "unrolled", "penalty", "none")
# The flat names of the settings (``correlation_model``, ...: lda_tf.training.config) and flags.
SETTINGS_PREFIX = "correlation_"


@dataclasses.dataclass(frozen=True, kw_only=True)
class TaskCorrelationConfig:
    """Algorithm 1's settings (module docstring); defaults: digest B2.5. Their flat names (errors,
    flags, ``RunConfig.replace``) carry :data:`SETTINGS_PREFIX`: ``correlation_model``, ..."""

    model: str = setting(
        "vector",
        help="vector: one network, w = softmax(c) over the training tasks; matrix: one network per "
        "validation task j, W = softmax over the training-task axis of C.",
        choices=MODELS,
    )
    hypergradient: str = setting(
        "lookahead",
        help="lookahead: one-step look-ahead closed form; first_order: V at theta; unrolled: reverse "
        "mode through k virtual steps; penalty: the meta paper's (17); none: uniform weights.",
        choices=HYPERGRADIENTS,
    )
    theta_steps: int = setting(1, help="k: theta steps per step on the task-correlation logits.", min=1)
    virtual_learning_rate: float = setting(
        1e-3, help="eta of the virtual step theta+ = theta - eta sum_i w_i G_i.", min_exclusive=0
    )
    learning_rate: float = setting(1e-3, help="Adam learning rate of the task-correlation logits.", min=0)
    penalty_weight: float = setting(1e-5, help="lambda of (17) (hypergradient=penalty).", min=0)

    def __post_init__(self):
        for leaf in leaves(self, SETTINGS_PREFIX):
            leaf.check()


# ---------------------------------------------------------------------------------- the closed form
def correlation_weights(logits: tf.Tensor) -> tf.Tensor:
    """``W = softmax`` over the training-task axis (axis 0) of ``[M]`` or ``[M, K]`` logits (3c)."""
    return tf.nn.softmax(tf.convert_to_tensor(logits), axis=0)


def task_inner_products(task_gradients: Sequence[tf.Tensor], direction: Sequence[tf.Tensor]) -> tf.Tensor:
    """``a_i = <V, G_i>`` ``[M]``: ``task_gradients`` per variable ``[M, *shape]`` (``G_i`` stacked),
    ``direction`` per variable ``[*shape]`` (``V``)."""
    return tf.add_n(
        [
            tf.reduce_sum(tf.reshape(g * v[None], [tf.shape(g)[0], -1]), axis=1)
            for g, v in zip(task_gradients, direction)
        ]
    )


def virtual_step(
    values: Sequence[tf.Tensor], weights: tf.Tensor, task_gradients: Sequence[tf.Tensor], learning_rate: float
) -> list[tf.Tensor]:
    """``theta+ = theta - eta sum_i w_i G_i`` (B2.4) for one column's ``weights`` ``[M]``."""
    return [
        value - learning_rate * tf.tensordot(tf.cast(weights, g.dtype), g, axes=1)
        for value, g in zip(values, task_gradients)
    ]


def lookahead_hypergradient(
    weights: tf.Tensor,
    task_gradients: Sequence[tf.Tensor],
    validation_gradient: Sequence[tf.Tensor],
    learning_rate: float,
) -> tf.Tensor:
    """``dF/dc_m = -eta w_m (<V, G_m> - sum_i w_i <V, G_i>)`` ``[M]`` (B2.4): the gradient in the
    logits ``c`` of ``F(c) = L_val(theta - eta sum_i softmax(c)_i G_i)``, given ``w = softmax(c)``,
    the ``G_i`` and ``V = grad L_val`` at ``theta+`` (at ``theta``: the first-order variant)."""
    products = task_inner_products(task_gradients, validation_gradient)
    weights = tf.cast(weights, products.dtype)
    return -learning_rate * weights * (products - tf.reduce_sum(weights * products))


def unrolled_hypergradient(
    lower_loss: Callable[[list[tf.Tensor], tf.Tensor], tf.Tensor],
    upper_loss: Callable[[list[tf.Tensor]], tf.Tensor],
    values: Sequence[tf.Tensor],
    logits: tf.Variable | tf.Tensor,
    steps: int,
    learning_rate: float,
) -> tuple[tf.Tensor, tf.Tensor]:
    """``(F, dF/dC)`` of ``F(C) = upper_loss(theta_k(C))`` after ``steps`` virtual SGD steps
    ``theta_{s+1} = theta_s - eta grad lower_loss(theta_s, softmax(C))`` from ``values``, by
    reverse mode through the steps (second order). ``lower_loss(values, weights)``,
    ``upper_loss(values)``: losses at the parameter values given."""
    logits = tf.convert_to_tensor(logits)
    with tf.GradientTape() as outer:
        outer.watch(logits)
        weights = correlation_weights(logits)
        current = [tf.convert_to_tensor(value) for value in values]
        for _ in range(steps):
            with tf.GradientTape() as inner:
                inner.watch(current)
                loss = lower_loss(current, weights)
            gradients = inner.gradient(loss, current)
            gradients = [tf.zeros_like(v) if g is None else g for g, v in zip(gradients, current)]
            current = [value - learning_rate * g for value, g in zip(current, gradients)]
        objective = upper_loss(current)
    return objective, outer.gradient(objective, logits)


# ---------------------------------------------------------------------------------- the trainer
class TaskCorrelationTrainer(LOATrainer):
    """Algorithm 1 on cross-task batches ``{"train": ..., "val": ...}`` (module docstring):
    ``"train"`` holds the ``M`` training tasks (``task_index`` = training task ``i``, the row of
    ``W``), ``"val"`` the ``N`` validation tasks (``task_index`` = validation task ``j``).

    ``network``: an :class:`UnrolledNetwork` without task weights (vector model) or a
    :class:`TaskSpecificUnrolled` with ``N`` members (matrix model). ``mode`` and ``bilevel`` are
    the arguments :func:`lda_tf.training.fit.fit` passes every trainer (``mode`` must be
    ``"task_correlation"``; ``bilevel`` is not used). Loss options as :class:`LOATrainer`'s.

    Compile with ``theta_optimizer`` and ``omega_optimizer``, the latter stepping the logits ``C``
    (the upper level's optimiser; the attribute keeps the checkpoints' name, and
    :attr:`correlation_optimizer` is the same object).
    """

    def __init__(
        self,
        network: UnrolledNetwork,
        mode: str = "task_correlation",
        bilevel: BilevelConfig | None = None,
        *,
        correlation: TaskCorrelationConfig | None = None,
        num_train_tasks: int,
        num_validation_tasks: int,
        **loss_options,
    ):
        del bilevel
        if loss_options.get("gradient", "tape") != "tape":
            # Its per-task gradients and hypergradients are tapes over the whole network (one
            # sample at a time); the adjoint path (lda_tf.training.adjoint) is not wired into them.
            raise ValueError(
                "TaskCorrelationTrainer computes its gradients by tape; got "
                f"gradient={loss_options['gradient']!r}"
            )
        if mode != "task_correlation":
            raise ValueError(f"TaskCorrelationTrainer trains mode 'task_correlation'; got {mode!r}")
        correlation = correlation or TaskCorrelationConfig()
        if num_train_tasks < 1 or num_validation_tasks < 1:
            raise ValueError(
                f"need >= 1 training and validation tasks; got {num_train_tasks}, {num_validation_tasks}"
            )
        matrix = correlation.model == "matrix"
        if matrix and not (
            isinstance(network, TaskSpecificUnrolled) and network.num_tasks == num_validation_tasks
        ):
            raise ValueError(
                f"the matrix model needs one network per validation task: a TaskSpecificUnrolled with "
                f"{num_validation_tasks} members; got {type(network).__name__}"
            )
        if not matrix and (isinstance(network, TaskSpecificUnrolled) or network.num_tasks):
            raise ValueError(
                "the vector model trains one network without task weights (num_tasks = 0); got "
                f"{type(network).__name__} with num_tasks={network.num_tasks}"
            )
        # The parent's "conventional" mode: kappa = 1 and no omega; its penalty weight is lambda.
        super().__init__(
            network, "conventional", BilevelConfig(lambda0=correlation.penalty_weight), **loss_options
        )
        self.mode = mode
        self.correlation = correlation
        self.num_train_tasks, self.num_validation_tasks = int(num_train_tasks), int(num_validation_tasks)
        self.members: list[UnrolledNetwork] = list(network.members) if matrix else [network]
        self.member_variables = [member.theta_variables for member in self.members]
        self.theta = [variable for variables in self.member_variables for variable in variables]
        self.task_correlation_logits = self.add_weight(
            shape=(self.num_train_tasks, len(self.members)),
            initializer="zeros",
            name="task_correlation_logits",
        )
        self.trackers["upper_loss"] = keras.metrics.Mean(name="upper_loss")
        # Validation metrics per validation task (the parent makes them only for networks with tasks).
        if not self.num_groups:
            self.group_name, self.num_groups = "task", self.num_validation_tasks
            for name in ("psnr", "ssim"):
                for group in range(self.num_groups):
                    label = f"{name}_task{group}"
                    self.trackers[label] = keras.metrics.Mean(name=label)

    def compile(self, theta_optimizer=None, omega_optimizer=None, **kwargs):
        """theta's optimizer and the logits' (Adam at ``learning_rate`` by default), built now."""
        self.theta_optimizer = theta_optimizer or keras.optimizers.Adam(1e-3)
        self.omega_optimizer = omega_optimizer or keras.optimizers.Adam(self.correlation.learning_rate)
        keras.Model.compile(self, optimizer=self.theta_optimizer, **kwargs)
        self.theta_optimizer.build(self.theta)
        self.omega_optimizer.build([self.task_correlation_logits])

    @property
    def correlation_optimizer(self):
        return self.omega_optimizer

    # ------------------------------------------------------------------ losses
    def correlation_weights(self) -> tf.Tensor:
        """``W = softmax(C)`` over the training tasks, ``[M, K]`` (``K = 1``: the vector model)."""
        return correlation_weights(self.task_correlation_logits)

    @contextlib.contextmanager
    def _at(self, values: Sequence[tf.Tensor] | None):
        """Evaluate the networks with theta replaced by ``values`` (None: the variables)."""
        if values is None:
            yield
            return
        with keras.StatelessScope(state_mapping=list(zip(self.theta, values))):
            yield

    def _task_index(self, inputs) -> tf.Tensor:
        return tf.cast(self.network.measurement.measure(inputs).task_index, tf.int32)

    def _sample_losses(self, member: UnrolledNetwork, batch) -> tf.Tensor:
        """Per-sample loss ``[B]`` of ``member`` (as :meth:`LOATrainer.batch_loss` sums it)."""
        inputs, target = batch
        per_sample = self.sample_loss(member(inputs, training=True), target)
        auxiliary = member.auxiliary_loss(inputs)
        return per_sample if auxiliary is None else per_sample + auxiliary

    def lower_loss(self, batch, weights: tf.Tensor, values=None) -> tf.Tensor:
        """``sum_k sum_i W_ik L_i^tr(theta_k)`` (3b)/(3b') on this replica's training batch."""
        task_index = self._task_index(batch[0])
        with self._at(values):
            return tf.add_n(
                [
                    tf.reduce_sum(
                        tf.gather(weights[:, column], task_index) * self._sample_losses(member, batch)
                    )
                    for column, member in enumerate(self.members)
                ]
            )

    def upper_loss(self, batch, values=None) -> tf.Tensor:
        """``sum_j L_j^val`` (3a): of the one network (vector model), or of each validation task's
        own network ``theta_j`` (3a'), on this replica's validation batch."""
        if len(self.members) == 1:
            with self._at(values):
                return tf.reduce_sum(self._sample_losses(self.members[0], batch))
        task_index = self._task_index(batch[0])
        with self._at(values):
            return tf.add_n(
                [
                    tf.reduce_sum(
                        tf.cast(tf.equal(task_index, j), tf.float32) * self._sample_losses(member, batch)
                    )
                    for j, member in enumerate(self.members)
                ]
            )

    def task_gradients(self, batch) -> list[list[tf.Tensor]]:
        """``G_i^(k)``: per column ``k``, per variable of its network, ``[M, *shape]``, this
        replica's samples' share (module docstring: sums of per-sample gradients)."""
        inputs, target = batch
        one_hot = tf.one_hot(self._task_index(inputs), self.num_train_tasks, dtype=tf.float32)
        result = []
        for member, variables in zip(self.members, self.member_variables):

            def sample_gradient(sample, member=member, variables=variables):
                sample = tf.nest.map_structure(lambda tensor: tensor[None], sample)
                with tf.GradientTape() as tape:
                    loss = tf.reduce_sum(self._sample_losses(member, sample))
                return dense(tape.gradient(loss, variables), variables)

            per_sample = tf.map_fn(
                sample_gradient,
                (inputs, target),
                fn_output_signature=[tf.TensorSpec(v.shape, v.dtype) for v in variables],
            )
            result.append([tf.tensordot(one_hot, g, axes=[[0], [0]]) for g in per_sample])
        return result

    # ------------------------------------------------------------------ hypergradients
    def _blocks(self, flat: Sequence) -> list[list]:
        """A list over all theta variables split into the columns' networks."""
        blocks, start = [], 0
        for variables in self.member_variables:
            blocks.append(list(flat[start : start + len(variables)]))
            start += len(variables)
        return blocks

    def hypergradient(self, train_batch, val_batch) -> tuple[tf.Tensor, tf.Tensor]:
        """``(F, dF/dC)``: the upper-level objective the estimator evaluates (all replicas) and
        this replica's share of its gradient in ``C`` ``[M, K]`` (module docstring)."""
        estimator = self.correlation.hypergradient
        weights = tf.stop_gradient(self.correlation_weights())
        eta = self.correlation.virtual_learning_rate
        if estimator in ("lookahead", "first_order"):
            local = self.task_gradients(train_batch)
            values = None
            if estimator == "lookahead":
                steps = replica_sum(
                    [
                        tf.tensordot(weights[:, column], g, axes=1)
                        for column, gradients in enumerate(local)
                        for g in gradients
                    ]
                )
                values = [tf.convert_to_tensor(v) - eta * step for v, step in zip(self.theta, steps)]
            evaluated = values if values is not None else [tf.convert_to_tensor(v) for v in self.theta]
            with tf.GradientTape() as tape:
                tape.watch(evaluated)
                objective = self.upper_loss(val_batch, evaluated)
            direction = self._blocks(replica_sum(dense(tape.gradient(objective, evaluated), evaluated)))
            columns = [
                lookahead_hypergradient(weights[:, column], local[column], direction[column], eta)
                for column in range(len(self.members))
            ]
            return replica_sum(objective), tf.stack(columns, axis=1)
        if estimator == "unrolled":
            if tf.distribute.get_replica_context().num_replicas_in_sync > 1:
                raise ValueError(
                    "hypergradient 'unrolled' runs on one device; use lookahead under tf.distribute"
                )
            return unrolled_hypergradient(
                lambda values, w: self.lower_loss(train_batch, w, values),
                lambda values: self.upper_loss(val_batch, values),
                [tf.convert_to_tensor(v) for v in self.theta],
                self.task_correlation_logits,
                self.correlation.theta_steps,
                eta,
            )
        if estimator == "penalty":

            def loss(part):
                name, batch = part
                if name == "train":
                    return self.lower_loss(batch, self.correlation_weights())
                return self.upper_loss(batch)

            evaluation = penalty_objective(
                loss,
                ("train", train_batch),
                ("val", val_batch),
                self.theta,
                [self.task_correlation_logits],
                self.penalty_weight,
            )
            return evaluation.objective, evaluation.omega_gradients[0]
        raise ValueError(f"hypergradient {estimator!r} has no gradient")

    # ------------------------------------------------------------------ Algorithm 1
    def train_step(self, data):
        train_batch, val_batch = data["train"], data["val"]
        all_finite, first_loss = tf.constant(True), None
        for _ in range(self.correlation.theta_steps):  # k steps on theta
            weights = tf.stop_gradient(self.correlation_weights())
            with tf.GradientTape() as tape:
                loss = self.lower_loss(train_batch, weights)
            gradients = dense(tape.gradient(loss, self.theta), self.theta)
            gradients = self.network.restrict_gradients(gradients, self.theta)
            total = replica_sum(loss)
            finite = _all_finite([total] + gradients)
            apply_if(self.theta_optimizer, gradients, self.theta, finite)
            all_finite = all_finite & finite
            first_loss = total if first_loss is None else first_loss
        tracked = ["loss"]
        self.trackers["loss"].update_state(first_loss)
        if self.correlation.hypergradient != "none":  # then one step on C
            objective, hypergradient = self.hypergradient(train_batch, val_batch)
            finite = _all_finite([objective, hypergradient])
            apply_if(self.omega_optimizer, [hypergradient], [self.task_correlation_logits], finite)
            all_finite = all_finite & finite
            self.trackers["upper_loss"].update_state(objective)
            tracked.append("upper_loss")
        self._count(all_finite)
        return self._logs(tracked)

    def weight_names(self) -> list[tuple[int, int, str]]:
        """``(i, k, name)`` of every entry of ``W``: ``weight_task<i>`` (vector model) or
        ``weight_task<i>_val<j>`` (matrix model), the names in the logs and ``history.csv``."""
        matrix = len(self.members) > 1 or self.correlation.model == "matrix"
        return [
            (i, k, f"weight_task{i}" + (f"_val{k}" if matrix else ""))
            for i in range(self.num_train_tasks)
            for k in range(len(self.members))
        ]

    def _logs(self, tracked) -> dict:
        """Tracked means, the skipped-step count and every entry of ``W``."""
        logs = {name: self.trackers[name].result() for name in tracked}
        logs["skipped_steps"] = tf.convert_to_tensor(self.skipped_steps)
        weights = self.correlation_weights()
        for i, k, name in self.weight_names():
            logs[name] = weights[i, k]
        return logs

    def get_config(self):
        return {
            **super().get_config(),
            "correlation": dataclasses.asdict(self.correlation),
            "num_train_tasks": self.num_train_tasks,
            "num_validation_tasks": self.num_validation_tasks,
        }


class TaskCorrelationLog(keras.callbacks.Callback):
    """Each epoch, to TensorBoard (``log_dir/task_correlation``): ``W`` as an image (rows: training
    tasks, columns: validation tasks or the one column of the vector model; black 0, white 1,
    each entry a ``scale`` x ``scale`` block) and every ``W_ik`` as a scalar (named as in
    :meth:`TaskCorrelationTrainer.weight_names`)."""

    def __init__(self, log_dir: str | os.PathLike, scale: int = 16):
        super().__init__()
        self.writer = tf.summary.create_file_writer(os.path.join(os.fspath(log_dir), "task_correlation"))
        self.scale = scale

    def on_epoch_end(self, epoch, logs=None):
        trainer: TaskCorrelationTrainer = self.model
        weights = trainer.correlation_weights()
        image = tf.repeat(tf.repeat(weights, self.scale, axis=0), self.scale, axis=1)
        with self.writer.as_default(step=epoch):
            tf.summary.image("task_correlation/W", image[None, :, :, None], max_outputs=1)
            for i, k, name in trainer.weight_names():
                tf.summary.scalar(f"task_correlation/{name}", weights[i, k])
        self.writer.flush()
