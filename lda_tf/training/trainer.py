"""``LOATrainer``: Keras ``fit`` for the meta (bilevel), conventional and adaptation modes (SPEC 4).

- ``meta``: Algorithm 2 of the meta paper on cross-task batches ``{"train": ..., "val": ...}``
  (``lda_tf.data.cross_task_batches``). Per batch, up to ``max_rounds`` rounds while
  ``||grad_theta Ltilde||^2 + ||grad_omega Ltilde||^2 > delta``: K Adam steps on theta (each on
  ``grad_theta Ltilde`` at the current parameters), then one step on omega (and on theta with
  ``omega_step_updates_theta``, as the authors' TF1 release trains). delta and lambda are
  updated per epoch by :class:`lda_tf.training.callbacks.BilevelSchedule`.
- ``conventional``: plain supervised training of theta on ``(inputs, target)`` batches (section
  5.2: kappa = 1 when the network has no tasks).
- ``adaptation``: plain supervised training of omega only, theta frozen (section 5.4).

The loss per sample is eq. (13) (``loss="half_squared"``) or U-LDA's (3.2a) (``"mse_ssim"``,
:func:`lda_tf.training.losses.mse_ssim_loss`). U-LDA's Steps 1 and 2 are ``conventional`` training
of a network with domains; in Step 2 the network's frozen domains and ``g`` are not trainable and
:meth:`UnrolledLOA.restrict_gradients` keeps the frozen domains' step sizes and ``eps0``.

``gradient="adjoint"`` computes every gradient by the multiplier recursion of
:mod:`lda_tf.training.adjoint` (paper 004, Theorem 1) instead of a tape through the whole network:
the same gradients, with the memory of the phase states and one phase (the bilevel step's
second-order term by forward-over-adjoint).

Algorithm 2 evaluates the penalty objective (17) ``max_rounds * (K + 1)`` times per batch, each time
with the same graph; without a distribution strategy the evaluation is one nested ``tf.function``,
traced once and called each time (issue 19: Python tracing of the first bilevel step 1.9x shorter at
K = 1, 3.8x at K = 5, the steady step about 9 % faster; ``benchmarks/README.md``). It is traced
without AutoGraph, as Keras traces the step around it: no code of the package needs AutoGraph's
conversion (no tensor-dependent Python control flow), which took 3-20 % of the step's Python tracing
(issue 19 goal 3, "Fifth look"). Under a strategy it is traced inline every time, as before: the
evaluation's all-reduce of the training gradient is a ``merge_call``, which a nested ``tf.function``
refuses.

Every optimizer step is gated (:func:`lda_tf.training.gated_update.apply_if`): a step whose loss
or gradients are not finite is skipped, weights and optimizer state untouched, and counted;
:class:`lda_tf.training.callbacks.NonFiniteGuard` stops training after too many in a row.
lambda, delta and the counters are non-trainable variables, saved with checkpoints.

Under ``tf.distribute.MultiWorkerMirroredStrategy`` (several hosts) two things of Keras 3.15's
``fit`` are bypassed (tensorflow/tensorflow#72388): its symbolic build of the first batch (one
``strategy.reduce`` of the whole nested batch, which that strategy cannot do; the trainer is built
at construction and its optimizers at ``compile``, so there is nothing to build), and its reduction
of each step's logs along axis 0, which fails for a scalar: there the steps return each log as a
``[1]`` tensor, which Keras reduces to the mean over the replicas, as under ``MirroredStrategy``.
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from lda_tf.checks import check_choice
from lda_tf.loa.model import UnrolledNetwork
from lda_tf.math import global_squared_norm
from lda_tf.metrics import psnr_tf, ssim_tf
from lda_tf.training import adjoint
from lda_tf.training.bilevel import BilevelConfig, dense, penalty_objective, replica_sum
from lda_tf.training.gated_update import apply_if
from lda_tf.training.losses import LOSSES, REDUCTIONS, mse_ssim_loss, reconstruction_loss

MODES = ("meta", "conventional", "adaptation")


def _multi_worker(strategy) -> bool:
    """Keras's test for the multi-worker path of its log reduction (module docstring)."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and bool(
        strategy.extended._in_multi_worker_mode()
    )


def _reducible(logs: dict) -> dict:
    """Each log as a ``[1]`` tensor under several workers (module docstring), else as it is."""
    if not _multi_worker(tf.distribute.get_strategy()):
        return logs
    return {name: tf.reshape(value, [1]) for name, value in logs.items()}


def _all_finite(tensors) -> tf.Tensor:
    flags = [tf.reduce_all(tf.math.is_finite(tensor)) for tensor in tensors]
    local = tf.cast(tf.reduce_all(tf.stack(flags)), tf.float32)
    return replica_sum(1.0 - local) == 0.0  # finite on every replica


class LOATrainer(keras.Model):
    """Trains an :class:`~lda_tf.loa.model.UnrolledNetwork` ``network`` in one of :data:`MODES`
    (module docstring). ``loss``, ``magnitude_loss``, ``ssim_weight`` and ``loss_reduction``
    choose the per-sample loss (:mod:`lda_tf.training.losses`); ``gradient`` how gradients are
    computed: ``"tape"`` (autodiff through the network) or ``"adjoint"`` (module docstring).

    Compile with ``theta_optimizer`` and/or ``omega_optimizer`` (Adam(1e-3) each by default).
    """

    def __init__(
        self,
        network: UnrolledNetwork,
        mode: str = "meta",
        bilevel: BilevelConfig | None = None,
        magnitude_loss: bool = True,
        loss: str = "half_squared",
        ssim_weight: float = 0.01,
        loss_reduction: str | None = None,
        gradient: str = "tape",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_choice(mode, MODES, "mode")
        self.gradient = check_choice(gradient, adjoint.GRADIENTS, "gradient")
        if gradient == "adjoint":
            adjoint.check_network(network)
        self.loss_name = check_choice(loss, LOSSES, "loss")
        # None: each loss's own default, the sum of (13) and the pixel mean of (3.2a).
        loss_reduction = loss_reduction or ("mean" if loss == "mse_ssim" else "sum")
        self.ssim_weight = float(ssim_weight)
        self.loss_reduction = check_choice(loss_reduction, REDUCTIONS, "loss_reduction")
        if mode in ("meta", "adaptation") and network.num_tasks == 0:
            raise ValueError(f"mode {mode!r} learns task weights omega; build the network with num_tasks > 0")
        self.network = network
        self.mode = mode
        self.bilevel = bilevel or BilevelConfig()
        self.magnitude_loss = magnitude_loss
        state = dict(shape=(), trainable=False, aggregation="only_first_replica")
        self.penalty_weight = self.add_weight(
            initializer=keras.initializers.Constant(self.bilevel.lambda0), name="lambda", **state
        )
        self.delta = self.add_weight(
            initializer=keras.initializers.Constant(self.bilevel.delta0), name="delta", **state
        )
        self.skipped_steps = self.add_weight(
            initializer="zeros", dtype="int64", name="skipped_steps", **state
        )
        self.consecutive_skips = self.add_weight(
            initializer="zeros", dtype="int64", name="consecutive_skips", **state
        )
        self.rounds = self.add_weight(initializer="zeros", dtype="int64", name="rounds", **state)
        self.trackers = {
            name: keras.metrics.Mean(name=name) for name in ("loss", "train_loss", "penalty", "criterion")
        }
        # Metrics per task (task weights) or per domain (U-LDA), by the inputs' task_index.
        self.group_name, self.num_groups = (
            ("domain", network.num_domains)
            if network.num_domains
            else (
                "task",
                network.num_tasks,
            )
        )
        for name in ("psnr", "ssim"):
            self.trackers[name] = keras.metrics.Mean(name=name)
            for group in range(self.num_groups):
                label = f"{name}_{self.group_name}{group}"
                self.trackers[label] = keras.metrics.Mean(name=label)
        for phase in range(network.num_phases):
            for name in ("eps", "took_u", "line_search_failed"):
                self.trackers[f"{name}_phase{phase + 1}"] = keras.metrics.Mean(
                    name=f"{name}_phase{phase + 1}"
                )
        # The network is built at construction and the trainer adds no input-dependent weights; left
        # unbuilt, Keras would try a symbolic build by calling it on a whole (dict) batch.
        self.built = True

    @property
    def metrics(self):
        return list(self.trackers.values())

    def compile(self, theta_optimizer=None, omega_optimizer=None, **kwargs):
        """Separate optimizers for theta and omega, built now (a skipped step must not build them).

        Keras's own ``optimizer`` is the one this mode trains with (omega's in adaptation, else
        theta's), so what Keras reads from it is true: the TensorBoard callback logs
        ``evaluation_*_vs_iterations`` at its step count, and the learning rate it logs is the
        one in use (with Keras's default ``rmsprop``, never stepped, both were constants)."""
        self.theta_optimizer = theta_optimizer or keras.optimizers.Adam(1e-3)
        self.omega_optimizer = omega_optimizer or keras.optimizers.Adam(1e-3)
        stepping = self.omega_optimizer if self.mode == "adaptation" else self.theta_optimizer
        super().compile(optimizer=stepping, **kwargs)
        self.theta_optimizer.build(self.network.theta_variables)
        self.omega_optimizer.build(self.network.omega_variables)

    def call(self, inputs, training=None):
        return self.network(inputs, training=training)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Nothing to build (the trainer is built at construction, its optimizers at ``compile``);
        under several workers Keras's version fails on a nested batch (module docstring)."""
        if not _multi_worker(self.distribute_strategy):
            super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    # ------------------------------------------------------------------ losses
    def sample_loss(self, recon: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
        """The loss of each sample ``[B]``: (13) (or the release's pixel mean), or U-LDA's (3.2a)
        (module docstring)."""
        if self.loss_name == "mse_ssim":
            return mse_ssim_loss(recon, target, self.ssim_weight, self.loss_reduction)
        return reconstruction_loss(recon, target, self.magnitude_loss, self.loss_reduction)

    def batch_loss(self, batch) -> tf.Tensor:
        """``L`` of eq. (12): the sum of the per-sample losses over this replica's batch, plus
        the measurement's extra term where it has one (learned sampling, LDA paper 4.2.2)."""
        inputs, target = batch
        per_sample = self.sample_loss(self.network(inputs, training=True), target)
        auxiliary = self.network.auxiliary_loss(inputs)
        if auxiliary is not None:
            per_sample = per_sample + auxiliary
        return tf.reduce_sum(per_sample)

    def _count(self, finite: tf.Tensor) -> None:
        skipped = tf.cast(tf.logical_not(finite), tf.int64)
        self.skipped_steps.assign_add(skipped)
        self.consecutive_skips.assign(
            tf.where(finite, tf.zeros_like(self.consecutive_skips), self.consecutive_skips + 1)
        )

    # ------------------------------------------------------------------ steps
    def train_step(self, data):
        if self.mode == "meta":
            return self._meta_step(data["train"], data["val"])
        return self._supervised_step(data)

    def loss_and_gradients(self, batch, variables) -> tuple[tf.Tensor, list]:
        """:meth:`batch_loss` and its (dense) gradients in ``variables``, by ``self.gradient``."""
        if self.gradient == "adjoint":
            inputs, target = batch
            result = adjoint.adjoint_gradient(
                self.network, inputs, lambda recon: tf.reduce_sum(self.sample_loss(recon, target)), variables
            )
            return result.loss, result.gradients
        with tf.GradientTape() as tape:
            loss = self.batch_loss(batch)
        return loss, dense(tape.gradient(loss, variables), variables)

    def _supervised_step(self, batch):
        variables = (
            self.network.theta_variables if self.mode == "conventional" else self.network.omega_variables
        )
        optimizer = self.theta_optimizer if self.mode == "conventional" else self.omega_optimizer
        loss, gradients = self.loss_and_gradients(batch, variables)
        gradients = self.network.restrict_gradients(gradients, variables)
        total_loss = replica_sum(loss)
        finite = _all_finite([total_loss] + gradients)
        apply_if(optimizer, gradients, variables, finite)
        self._count(finite)
        self.trackers["loss"].update_state(total_loss)
        return self._logs(("loss",))

    def _meta_step(self, train_batch, val_batch):
        theta, omega = self.network.theta_variables, self.network.omega_variables

        def evaluate():
            if self.gradient == "adjoint":
                evaluation = adjoint.penalty_objective(
                    self.network, self.sample_loss, train_batch, val_batch, theta, omega, self.penalty_weight
                )
            else:
                evaluation = penalty_objective(
                    self.batch_loss, train_batch, val_batch, theta, omega, self.penalty_weight
                )
            gradients = evaluation.theta_gradients + evaluation.omega_gradients
            finite = _all_finite([evaluation.objective] + gradients)
            global_gradients = replica_sum(gradients)
            criterion = global_squared_norm(global_gradients)
            return evaluation, finite, criterion

        if not tf.executing_eagerly() and not tf.distribute.has_strategy():
            # traced once, called max_rounds * (K + 1) times, without AutoGraph (module docstring)
            evaluate = tf.function(evaluate, autograph=False)
        proceed, all_finite, first = tf.constant(True), tf.constant(True), None
        for _ in range(self.bilevel.max_rounds):  # line 5: while criterion > delta, capped
            current, finite, criterion = evaluate()
            first = current if first is None else first
            all_finite, proceed = all_finite & finite, proceed & finite & (criterion > self.delta)
            for step in range(self.bilevel.theta_steps):  # lines 6-8: K steps on theta
                if step > 0:
                    current, finite, _ = evaluate()
                    all_finite, proceed = all_finite & finite, proceed & finite
                apply_if(self.theta_optimizer, current.theta_gradients, theta, proceed)
            current, finite, _ = evaluate()  # line 9: omega at the updated theta
            all_finite, proceed = all_finite & finite, proceed & finite
            apply_if(self.omega_optimizer, current.omega_gradients, omega, proceed)
            if self.bilevel.omega_step_updates_theta:  # theta too, from the same evaluation
                apply_if(self.theta_optimizer, current.theta_gradients, theta, proceed)
            self.rounds.assign_add(tf.cast(proceed, tf.int64))
        self._count(all_finite)
        for name, value in (
            ("loss", first.val_loss),
            ("train_loss", first.train_loss),
            ("penalty", first.penalty),
            ("criterion", criterion),
        ):
            self.trackers[name].update_state(value)
        return self._logs(("loss", "train_loss", "penalty", "criterion"))

    def test_step(self, data):
        """Validation: loss, PSNR and SSIM (overall and per task), eps_t and the u-branch fraction
        per phase. Takes ``(inputs, target)`` or a cross-task element (its ``"val"`` half)."""
        inputs, target = data["val"] if isinstance(data, dict) else data
        recon, diagnostics = self.network(inputs, return_diagnostics=True)
        self.trackers["loss"].update_state(replica_sum(tf.reduce_sum(self.sample_loss(recon, target))))
        quality = {"psnr": psnr_tf(target, recon), "ssim": ssim_tf(target, recon)}
        task_index = self.network.measurement.measure(inputs).task_index if self.num_groups else None
        for name, values in quality.items():
            self.trackers[name].update_state(values)
            for group in range(self.num_groups):
                self.trackers[f"{name}_{self.group_name}{group}"].update_state(
                    values, sample_weight=tf.cast(tf.equal(task_index, group), tf.float32)
                )
        for phase in range(self.network.active_phases):
            self.trackers[f"eps_phase{phase + 1}"].update_state(diagnostics["eps"][phase])
            for name in ("took_u", "line_search_failed"):
                self.trackers[f"{name}_phase{phase + 1}"].update_state(diagnostics[name][phase])
        names = ["loss", "psnr", "ssim"] + [
            n for n in self.trackers if f"_{self.group_name}" in n or "_phase" in n
        ]
        return _reducible({name: self.trackers[name].result() for name in names})

    def _logs(self, tracked) -> dict:
        """Tracked means plus the training state: lambda, delta, counters, kappa per task."""
        logs = {name: self.trackers[name].result() for name in tracked}
        logs.update(
            {
                "lambda": tf.convert_to_tensor(self.penalty_weight),
                "delta": tf.convert_to_tensor(self.delta),
                "skipped_steps": tf.convert_to_tensor(self.skipped_steps),
                "rounds": tf.convert_to_tensor(self.rounds),
            }
        )
        kappa = self.network.task_weight_values()
        for task in range(self.network.num_tasks):
            logs[f"kappa_task{task}"] = kappa[task]
        return _reducible(logs)

    def get_config(self):
        return {
            "network": keras.saving.serialize_keras_object(self.network),
            "mode": self.mode,
            "bilevel": dataclasses.asdict(self.bilevel),
            "magnitude_loss": self.magnitude_loss,
            "loss": self.loss_name,
            "ssim_weight": self.ssim_weight,
            "loss_reduction": self.loss_reduction,
            "gradient": self.gradient,
        }
