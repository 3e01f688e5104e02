"""``UnrolledLOA``: the LOA-induced unrolled network of the meta paper (Algorithm 1, eq. (11)).

What the inputs are is the business of the model's :class:`~lda_tf.measurement.Measurement`
layer, which every model is given explicitly (``loa/`` knows no imaging problem):
:class:`~lda_tf.mri.MRISampling` takes :class:`~lda_tf.mri.MRIInputs`
``(kspace [B, H, W] complex64, mask [H, W] or [B, H, W] float32, task_index [B] int32)`` and the
model outputs the reconstruction ``x_T`` ``[B, H, W] complex64`` from the zero-filled
``x0 = A^H y``; with :class:`~lda_tf.cs.BlockSampling` real images ``[B, H, W] float32`` (block
compressed sensing, LDA paper 4.2.1-4.2.2). Variables:

- theta (task-invariant): ``g``'s kernels, the shared smoothing ``eps0`` (learned, kept positive
  through ``eps0 = exp(log_eps0)``), the per-phase step sizes ``alpha_t, tau_t``;
- the measurement's own weights (a jointly learned sampling matrix is part of theta);
- omega (task-specific): ``omega_i``, one per task, ``kappa = sigmoid(omega_i)`` gathered per
  sample (eq. (11)); a model built with ``num_tasks=0`` uses ``kappa = 1`` (conventional baseline).

U-LDA (002): a model with ``num_domains = D > 0`` has ``kappa = 1`` and, per domain ``i``, a
*domain group*: an adapter ``h_i`` (:class:`lda_tf.nn.AdapterBank`) inside the regulariser,
``r(x) = ||h_i(g(x))||_{2,1}`` (4.2), its own step sizes ``alpha_t, beta_t`` in every phase and its
own ``eps0``. ``g`` is shared by all domains. The inputs' ``task_index`` is the domain index, and
each sample uses its domain's group. :meth:`freeze_domains` fixes ``g`` and the groups of the
given domains (Step 2, transfer); :meth:`for_new_domains` adds fresh groups for target domains.

All ``num_phases`` phases are built; ``active_phases`` (a non-trainable variable, saved with the
weights) says how many run. Changing it needs no rebuild and loses no weight. The count is read
when a graph is traced, so there is one trace per phase count: :meth:`set_active_phases` drops
Keras's compiled train/test/predict functions, and a ``tf.function`` of your own that calls the
model must be retraced after a change. (A ``tf.cond`` per phase would avoid that, but
differentiating through it twice, as bilevel training does, made tracing about ten times slower.)

``recompute_phases`` (per-phase recomputation, :func:`lda_tf.loa.phase.checkpointed_phase_iteration`)
keeps only each phase's inputs for the backward pass and runs the phase again there: the same
values and gradients (first and second order), memory of one phase instead of ``T``, one more
forward pass of compute. The bilevel step's second differentiation replays each phase's backward
pass the same way: at 160x180 its tensors take 1.2 GiB at 11 and 15 phases instead of the tape's
4.6-6.1 GiB, at 1.8-2.0x the time and 2.9x the tracing. Off by default; on in U-LDA's preset,
whose paper size (batch 2, 256x256, 15 phases) needs it to train in 16 GiB (benchmarks/README.md).

``loop_phases`` runs the active phases as one ``tf.while_loop`` (:mod:`lda_tf.loa.phase_loop`):
the same iteration and values, but one phase in the graph whatever ``T``, so at many phases a
traced step, above all the bilevel (second-order) one, traces, optimises and first runs in less
time and memory (11 phases: first bilevel step 138 -> 78 s); each steady step is 15-31 % slower
(the runtime simplifies less inside a loop), and at 3 phases nothing is gained. Off by default
(training runs many steps: benchmarks/README.md, issue 19 goal 3); a runtime setting like
``recompute_phases``, and not combined with it.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import NamedTuple

import keras
import tensorflow as tf

from lda_tf.loa.objective import VariationalObjective, check_regularizer_gradient
from lda_tf.loa.phase import (
    IterateState,
    LOAPhase,
    PhaseDiagnostics,
    PhasePolicy,
    initial_state,
)
from lda_tf.loa.phase_loop import looped_phase_iterations
from lda_tf.measurement import Measured, Measurement
from lda_tf.nn.adapter import AdaptedFeatures, AdapterBank
from lda_tf.nn.features import FeatureExtractor, with_relu_delta
from lda_tf.nn.regularizers import check_smoothing

# AGD-Net's momentum theta_t starts at 0.5 in every phase (the LDA paper does not give its start).
AGD_MOMENTUM_INIT = 0.5


class Unrolled(NamedTuple):
    """What a forward pass leaves: the energy it descended, the last state, per-phase diagnostics
    stacked to ``[T, B]`` for the ``T`` active phases, and the iterates ``x_0 .. x_T``."""

    objective: VariationalObjective
    state: IterateState
    diagnostics: dict[str, tf.Tensor]
    iterates: tuple[tf.Tensor, ...]  # x_0 .. x_T


class Start(NamedTuple):
    """What the phases of one batch start from: the energy ``phi_eps``, ``x_0`` ``[B, H, W]``,
    ``eps_0`` ``[B]`` and each sample's domain ``[B]`` (None without domains)."""

    objective: VariationalObjective
    image: tf.Tensor
    eps: tf.Tensor
    domain: tf.Tensor | None


# The two papers' networks (section 4 of each), one source for the presets below and for the run
# settings' presets (lda_tf.training.config).
META_PAPER_NETWORK = MappingProxyType(
    dict(num_phases=11, num_layers=3, num_filters=4, relu_delta=1e-3, smoothing="sqrt", policy="meta")
)
LDA_PAPER_NETWORK = MappingProxyType(
    dict(num_phases=15, num_layers=4, num_filters=32, relu_delta=0.01, smoothing="huber", policy="lda")
)
# U-LDA (002, sections 4.3 and 5.1): 15 phases, g of 4 complex 3x3 layers with 16 channels,
# delta 1e-3, Huber smoothing (4.3), modified ELDA (Algorithm 1); eps0 starts at the release's 2e-3.
# Per-phase recomputation on: a Step-1 step at the paper's size needs it to fit in 16 GiB.
ULDA_PAPER_NETWORK = MappingProxyType(
    dict(
        num_phases=15,
        num_layers=4,
        num_filters=16,
        relu_delta=1e-3,
        smoothing="huber",
        policy="elda",
        eps0=2e-3,
        recompute_phases=True,
    )
)


def _checked_index(index: tf.Tensor | None, count: int, name: str, count_name: str) -> tf.Tensor:
    """``index`` ``[B]`` as int32, asserted in ``[0, count)`` (a task's or a domain's)."""
    if index is None:
        raise ValueError(f"this model has {count_name}={count}; inputs need a task_index [B]")
    index = tf.cast(tf.convert_to_tensor(index), tf.int32)
    tf.debugging.assert_less(index, count, message=f"{name} must be < {count_name}={count}")
    tf.debugging.assert_non_negative(index, message=f"{name} must be >= 0")
    return index


class UnrolledNetwork(keras.Model):
    """What training (:class:`lda_tf.training.LOATrainer` and its callbacks), evaluation and model
    files need of an unrolled network: :class:`UnrolledLOA`, and the authors' TF1 release as it
    runs (:class:`lda_tf.loa.release.ReleaseUnrolled`).

    A subclass calls :meth:`_set_up` in ``__init__`` (``measurement``, ``num_phases``,
    ``num_tasks``) and :meth:`_add_active_phases` in ``build``, and implements :attr:`omega_variables`,
    :meth:`task_weight_values`, :meth:`learned_scalars` and
    ``call(inputs, training=None, return_diagnostics=False)`` (diagnostics: ``[T, B]`` tensors,
    at least ``eps``, ``took_u`` and ``line_search_failed``, see :class:`PhaseDiagnostics`).
    """

    measurement: Measurement
    num_phases: int
    num_tasks: int
    num_domains: int = 0  # U-LDA's domain groups (UnrolledLOA)

    # ----------------------------------------------------------------- to implement
    @property
    def omega_variables(self) -> list:
        """Task-specific variables ``omega`` (the upper level of eq. (14))."""
        raise NotImplementedError

    def task_weight_values(self) -> tf.Tensor:
        """The reported task weight of every task, ``[num_tasks]`` float32 (``sigma(omega_i)``)."""
        raise NotImplementedError

    def learned_scalars(self) -> dict[str, tf.Tensor]:
        """Learned scalars to log (TensorBoard name -> value): step sizes, smoothing."""
        raise NotImplementedError

    def restrict_gradients(self, gradients: list, variables: list) -> list:
        """``gradients`` of ``variables`` as the optimizer should apply them (unchanged here; a
        network with frozen parts zeroes theirs: :meth:`UnrolledLOA.restrict_gradients`)."""
        return gradients

    # ----------------------------------------------------------------- shared
    def _set_up(self, measurement, num_phases: int, num_tasks: int, active_phases: int | None) -> None:
        """Check and keep what every network has (``__init__``): the measurement (a layer or its
        serialized config), ``T`` phases, the task count, the phases run initially (default all)."""
        if num_phases < 1:
            raise ValueError(f"num_phases must be >= 1; got {num_phases}")
        if num_tasks < 0:
            raise ValueError(f"num_tasks must be >= 0; got {num_tasks}")
        self.num_phases, self.num_tasks = int(num_phases), int(num_tasks)
        self.initial_active_phases = self.num_phases if active_phases is None else int(active_phases)
        self._check_phase_count(self.initial_active_phases)
        if isinstance(measurement, dict):
            measurement = keras.saving.deserialize_keras_object(measurement)
        if not isinstance(measurement, Measurement):
            raise TypeError(
                f"measurement must be a lda_tf.measurement.Measurement layer (e.g. "
                f"lda_tf.mri.MRISampling()); got {type(measurement).__name__}"
            )
        self.measurement = measurement

    def _add_active_phases(self) -> None:
        """The phase count, a non-trainable int32 weight saved with the others (``build``)."""
        self._active_phases = self.add_weight(
            shape=(),
            dtype="int32",
            initializer=keras.initializers.Constant(self.initial_active_phases),
            trainable=False,
            name="active_phases",
        )

    @property
    def theta_variables(self) -> list:
        """Task-invariant trainable variables ``theta`` (the lower level of eq. (14))."""
        omega_ids = {id(variable) for variable in self.omega_variables}
        return [variable for variable in self.trainable_variables if id(variable) not in omega_ids]

    def _check_phase_count(self, count: int) -> None:
        if not 1 <= count <= self.num_phases:
            raise ValueError(f"active phases must be in [1, {self.num_phases}]; got {count}")

    @property
    def active_phases(self) -> int:
        """Phases a forward pass runs; read eagerly, also while a ``tf.function`` is traced."""
        with tf.init_scope():
            return int(self._active_phases.numpy())

    def forget_compiled_functions(self) -> None:
        """Keras's cached train/test/predict functions were traced for the old phase count."""
        for name in ("train_function", "test_function", "predict_function"):
            setattr(self, name, None)

    def set_active_phases(self, count: int, copy_steps_from_last: bool = False) -> None:
        """Run ``count`` phases from now on, keeping all weights (``copy_steps_from_last``: see
        :meth:`UnrolledLOA.set_active_phases`; a network without per-phase steps ignores it)."""
        self._check_phase_count(count)
        self._active_phases.assign(count)
        self.forget_compiled_functions()

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self.forget_compiled_functions()

    def initial_image(self, inputs) -> tf.Tensor:
        """The start ``x0`` of the unrolled iteration ``[B, H, W]`` (zero filling for MRI,
        ``Q b`` for block compressed sensing)."""
        return self.measurement.measure(inputs).initial

    def auxiliary_loss(self, inputs) -> tf.Tensor | None:
        """The measurement's per-sample extra training loss ``[B]`` (learned sampling), or None."""
        return self.measurement.auxiliary_loss(inputs)


@keras.saving.register_keras_serializable(package="lda_tf")
class UnrolledLOA(UnrolledNetwork):
    """Unrolled learnable optimization algorithm; one phase is one iteration (SPEC 3).

    Args:
        measurement: the :class:`~lda_tf.measurement.Measurement` layer (or its serialized config),
            e.g. ``lda_tf.mri.MRISampling(name="measurement")``.
        num_phases: ``T``, the number of phases built (meta paper 11, LDA paper 15).
        num_tasks: number of task weights ``omega_i``; 0 for ``kappa = 1``.
        num_layers, num_filters, kernel_size, relu_delta: ``g`` (see FeatureExtractor).
        complex_valued: complex (MRI) or real (natural images) convolutions in ``g``; None takes
            the measurement's kind, a value that contradicts it is an error.
        smoothing: ``"sqrt"`` (meta paper eq. (5)) or ``"huber"`` (LDA paper eq. (9)).
        policy: a policy name or a dict of :class:`PhasePolicy` fields.
        eps0: initial shared smoothing ``eps0`` (1e-3 in the meta paper).
        alpha_init, tau_init: initial step sizes of every phase.
        omega_init: initial ``omega_i`` (0 gives ``kappa = 0.5``).
        active_phases: phases run initially (default all).
        regularizer_gradient: ``"explicit"`` ``J_g^H`` (default) or ``"autodiff"`` (the naive
            reference; see :class:`VariationalObjective`).
        kernel_scale: g's kernels start at Xavier times this (see FeatureExtractor).
        num_domains: U-LDA's domain groups (module docstring); 0 (default) for none. Excludes
            ``num_tasks``.
        adapter_init: how the adapters start: ``"identity"`` (default), ``"random"`` (Glorot) or
            ``"copy"`` (g's second convolution, as the authors' release).
        activate_last: a smoothed ReLU after g's last layer (see FeatureExtractor).
        recompute_phases: per-phase recomputation in the backward pass (module docstring); a
            runtime setting (the attribute may be changed; traced functions must be retraced).
        loop_phases: the phases as one ``tf.while_loop`` (module docstring); a runtime setting
            like ``recompute_phases``, and not combined with it.
    """

    def __init__(
        self,
        measurement: Measurement | dict,
        num_phases: int = 11,
        num_tasks: int = 0,
        num_layers: int = 3,
        num_filters: int = 4,
        kernel_size: int = 3,
        relu_delta: float = 1e-3,
        smoothing: str = "sqrt",
        policy: str | dict = "meta",
        eps0: float = 1e-3,
        alpha_init: float = 0.5,
        tau_init: float = 0.05,
        omega_init: float = 0.0,
        complex_valued: bool | None = None,
        active_phases: int | None = None,
        regularizer_gradient: str = "explicit",
        kernel_scale: float = 1.0,
        num_domains: int = 0,
        adapter_init: str = "identity",
        activate_last: bool = False,
        recompute_phases: bool = False,
        loop_phases: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._set_up(measurement, num_phases, num_tasks, active_phases)
        if num_domains < 0 or (num_domains and num_tasks):
            raise ValueError(
                f"num_domains must be >= 0 and excludes task weights; got num_domains={num_domains}, "
                f"num_tasks={num_tasks}"
            )
        if eps0 <= 0:
            raise ValueError(f"eps0 must be positive; got {eps0}")
        self.num_domains = int(num_domains)
        self.frozen_domains: tuple[int, ...] = ()
        self.recompute_phases = bool(recompute_phases)
        self.loop_phases = bool(loop_phases)
        self._check_phase_execution()
        self.smoothing = check_smoothing(smoothing)
        self.policy = PhasePolicy(**policy) if isinstance(policy, dict) else PhasePolicy(name=policy)
        self.eps0_init = float(eps0)
        self.omega_init = float(omega_init)
        self.regularizer_gradient = check_regularizer_gradient(regularizer_gradient)  # fail at construction
        if complex_valued is None:
            complex_valued = self.measurement.complex_valued
        if bool(complex_valued) != self.measurement.complex_valued:
            kind = "complex" if self.measurement.complex_valued else "real"
            raise ValueError(
                f"complex_valued={complex_valued} contradicts the {kind} images of "
                f"{type(self.measurement).__name__}"
            )
        self.features = FeatureExtractor(
            num_layers,
            num_filters,
            kernel_size,
            relu_delta,
            complex_valued,
            kernel_scale,
            activate_last,
            name="features",
        )
        if adapter_init == "copy" and num_layers < 2:
            raise ValueError("adapter_init='copy' copies g's second layer; g needs num_layers >= 2")
        self.adapters = (
            AdapterBank(
                self.num_domains, num_filters, kernel_size, complex_valued, adapter_init, name="adapters"
            )
            if self.num_domains
            else None
        )
        self.phases = [
            LOAPhase(
                alpha_init,
                tau_init,
                AGD_MOMENTUM_INIT if self.policy.name == "agd" else None,
                num_groups=self.num_domains,
                name=f"phase_{t + 1}",
            )
            for t in range(self.num_phases)
        ]
        self.build(None)

    def build(self, input_shape=None):
        if self.built:
            return
        self.features.build()
        self.measurement.build()
        for phase in self.phases:
            phase.build()
        if self.adapters is not None:
            self.adapters.build()
            self._copy_g_into_adapters(range(self.num_domains))
        self.log_eps0 = self.add_weight(
            shape=(self.num_domains,) if self.num_domains else (),
            initializer=keras.initializers.Constant(float(tf.math.log(self.eps0_init))),
            name="log_eps0",
        )
        self.omega = self.add_weight(
            shape=(self.num_tasks,), initializer=keras.initializers.Constant(self.omega_init), name="omega"
        )
        self._add_active_phases()
        self.built = True

    # ----------------------------------------------------------------- variables and state
    @property
    def omega_variables(self) -> list:
        """Task-specific variables ``omega`` (the upper level of eq. (14))."""
        return [self.omega]

    def task_weight_values(self) -> tf.Tensor:
        """``sigma(omega_i)`` of every task (eq. (11))."""
        return tf.sigmoid(tf.convert_to_tensor(self.omega))

    def _copy_g_into_adapters(self, domains) -> None:
        """``adapter_init="copy"``: ``h_i`` <- g's second layer, as the release does."""
        if self.adapters.initializer != "copy":
            return
        for d in domains:
            adapter = self.adapters.adapters[d]
            for source, target in zip(self.features.convolutions[1].weights, adapter.weights):
                target.assign(source)

    @property
    def group_variables(self) -> list:
        """The variables with one entry per domain: every phase's ``log_alpha``, ``log_tau`` and
        ``log_eps0`` (empty without domains)."""
        if not self.num_domains:
            return []
        return [v for phase in self.phases for v in (phase.log_alpha, phase.log_tau)] + [self.log_eps0]

    def freeze_domains(self, domains) -> None:
        """Step 2 of U-LDA (3.3): ``g`` and the groups of ``domains`` stay as they are. ``g`` and
        their adapters become non-trainable; their entries of :attr:`group_variables` get no
        gradient (:meth:`restrict_gradients`) and are not copied by stair growth."""
        domains = tuple(sorted({int(d) for d in domains}))
        if any(not 0 <= d < self.num_domains for d in domains):
            raise ValueError(f"domains to freeze must be in [0, {self.num_domains}); got {domains}")
        self.features.trainable = False
        for d in domains:
            self.adapters.adapters[d].trainable = False
        self.frozen_domains = domains

    def _trained_groups(self) -> tf.Tensor:
        """``[D]`` booleans: True for the domains not frozen."""
        return tf.constant([d not in self.frozen_domains for d in range(self.num_domains)])

    def restrict_gradients(self, gradients: list, variables: list) -> list:
        """``gradients`` of ``variables`` with the frozen domains' entries of the group variables
        set to zero (with Adam, a zero gradient from the start moves nothing)."""
        if not self.frozen_domains:
            return gradients
        grouped = {id(v) for v in self.group_variables}
        keep = tf.cast(self._trained_groups(), tf.float32)
        return [g * keep if id(v) in grouped else g for g, v in zip(gradients, variables)]

    def learned_scalars(self) -> dict[str, tf.Tensor]:
        """``alpha_t``, ``tau_t`` of every phase and ``eps0``."""
        scalars = {}
        for index, phase in enumerate(self.phases):
            scalars[f"step_sizes/alpha_phase{index + 1}"] = phase.alpha
            scalars[f"step_sizes/tau_phase{index + 1}"] = phase.tau
        return {**scalars, "smoothing/eps0": self.eps0}

    def set_active_phases(self, count: int, copy_steps_from_last: bool = False) -> None:
        """Run ``count`` phases from now on, keeping all weights. With ``copy_steps_from_last``,
        newly activated phases start from the step sizes of the last active phase (stair training,
        section 4.2 of the meta paper)."""
        self._check_phase_count(count)
        previous = self.active_phases
        if copy_steps_from_last:
            source = self.phases[previous - 1]
            trained = self._trained_groups() if self.num_domains else True
            for phase in self.phases[previous:count]:
                phase.log_alpha.assign(tf.where(trained, source.log_alpha, phase.log_alpha))
                phase.log_tau.assign(tf.where(trained, source.log_tau, phase.log_tau))
                if source.momentum is not None:
                    phase.momentum.assign(source.momentum)
        super().set_active_phases(count)

    @property
    def eps0(self) -> tf.Tensor:
        return tf.exp(tf.convert_to_tensor(self.log_eps0))

    def domain_index(self, task_index: tf.Tensor | None) -> tf.Tensor | None:
        """The domain of each sample ``[B]`` (the inputs' ``task_index``), None without domains."""
        if not self.num_domains:
            return None
        return _checked_index(task_index, self.num_domains, "domain index", "num_domains")

    def feature_map(self, domain: tf.Tensor | None):
        """``g``, or U-LDA's ``q = h_i o g`` with each sample's adapter (4.2)."""
        if domain is None:
            return self.features
        return AdaptedFeatures(self.features, self.adapters, tf.one_hot(domain, self.num_domains))

    def task_weights(self, task_index: tf.Tensor | None, batch_size: tf.Tensor) -> tf.Tensor:
        """``kappa`` per sample: ``sigmoid(omega_i)`` (eq. (11)), or ones without tasks."""
        if self.num_tasks == 0:
            return tf.ones([batch_size], tf.float32)
        task_index = _checked_index(task_index, self.num_tasks, "task_index", "num_tasks")
        return tf.sigmoid(tf.gather(tf.convert_to_tensor(self.omega), task_index))

    # ----------------------------------------------------------------- forward
    def start(self, inputs) -> Start:
        """The batch's energy, ``x_0``, ``eps_0`` and domains: what the phases start from."""
        measured: Measured = self.measurement.measure(inputs)
        kappa = self.task_weights(measured.task_index, tf.shape(measured.initial)[0])
        domain = self.domain_index(measured.task_index)
        objective = VariationalObjective(
            measured.data,
            self.feature_map(domain),
            self.smoothing,
            kappa,
            regularizer_gradient=self.regularizer_gradient,
        )
        eps0 = self.eps0 if domain is None else tf.gather(self.eps0, domain)
        return Start(objective, measured.initial, tf.fill(tf.shape(kappa), 1.0) * eps0, domain)

    def _check_phase_execution(self) -> None:
        """Per-phase recomputation wraps each unrolled phase, so the phase loop excludes it."""
        if self.recompute_phases and self.loop_phases:
            raise ValueError("loop_phases and recompute_phases cannot be combined; set one of them")

    def unroll(self, inputs, policy: PhasePolicy | None = None, differentiable: bool = True) -> Unrolled:
        """Run the active phases from the measurement's start ``x0``; see :class:`Unrolled`.
        ``differentiable=False``: inference, each phase skips what no sample needs
        (:mod:`lda_tf.loa.phase`, "Inference"), and nothing is recomputed."""
        objective, image, eps, domain = self.start(inputs)
        policy = self.policy if policy is None else policy
        state = initial_state(objective, image, eps)
        if differentiable:  # both are runtime settings; at inference nothing is recomputed
            self._check_phase_execution()
        if self.loop_phases:
            controls = [phase.controls(domain) for phase in self.phases[: self.active_phases]]
            state, stacked, iterates = looped_phase_iterations(
                objective, state, controls, policy, differentiable
            )
            return Unrolled(objective, state, stacked, tuple(tf.unstack(iterates, self.active_phases + 1)))
        per_phase, iterates = [], [state.point.image]
        recompute = self.recompute_phases and differentiable
        for phase in self.phases[: self.active_phases]:
            state, diagnostics = phase.iterate(objective, state, policy, domain, recompute, differentiable)
            per_phase.append(diagnostics)
            iterates.append(state.point.image)
        if recompute:  # checkpointed phases return no feature maps
            state = state._replace(point=objective.point(state.point.image))
        stacked = {name: tf.stack([getattr(d, name) for d in per_phase]) for name in PhaseDiagnostics._fields}
        return Unrolled(objective, state, stacked, tuple(iterates))

    def call(self, inputs, training=None, return_diagnostics: bool = False):
        """Reconstruction ``[B, H, W]``; with ``return_diagnostics`` also a dict of ``[T, B]``
        tensors (``T`` active phases) ``eps``, ``took_u``, ``phi_before``, ``phi_after``,
        ``backtracks`` and ``line_search_failed`` (:class:`PhaseDiagnostics`). ``training`` true:
        the phases are built to be differentiated (training and bilevel steps); false or None:
        inference, the same values with fewer evaluations (:mod:`lda_tf.loa.phase`)."""
        unrolled = self.unroll(inputs, differentiable=bool(training))
        if return_diagnostics:
            return unrolled.state.point.image, unrolled.diagnostics
        return unrolled.state.point.image

    def for_new_tasks(self, num_tasks: int, omega_init: float = 0.0) -> UnrolledLOA:
        """A copy with the same theta (all weights but omega, and the active phase count) and
        ``num_tasks`` fresh task weights: the start of adaptation to unseen tasks (section 5.4)."""
        config = {**self.get_config(), "num_tasks": num_tasks, "omega_init": omega_init}
        config.pop("name", None)
        clone = UnrolledLOA.from_config(config)
        for source, target in zip(self.theta_variables, clone.theta_variables):
            target.assign(source)
        clone.set_active_phases(self.active_phases)
        return clone

    def for_new_domains(self, num_new: int) -> UnrolledLOA:
        """A copy with every weight of this model (``g``, the active phase count and the groups of
        its ``D`` domains) and ``num_new`` fresh domain groups ``D .. D+num_new-1``, the old ones and
        ``g`` frozen: the start of U-LDA's Step 2 (3.3). New adapters start as ``adapter_init``
        says, new step sizes and ``eps0`` at their initial values."""
        if not self.num_domains or num_new < 1:
            raise ValueError(f"for_new_domains needs a model with domains and num_new >= 1; got {num_new}")
        config = {**self.get_config(), "num_domains": self.num_domains + num_new}
        config.pop("name", None)
        clone = UnrolledLOA.from_config(config)
        old = self.num_domains
        for source, target in zip(self.features.weights, clone.features.weights):
            target.assign(source)
        for source, target in zip(self.measurement.weights, clone.measurement.weights):
            target.assign(source)
        for source, target in zip(self.adapters.adapters, clone.adapters.adapters[:old]):
            for source_weight, target_weight in zip(source.weights, target.weights):
                target_weight.assign(source_weight)
        clone._copy_g_into_adapters(range(old, old + num_new))
        for source, target in zip(self.group_variables, clone.group_variables):
            target.assign(tf.concat([source, target[old:]], axis=0))
        clone.set_active_phases(self.active_phases)
        clone.freeze_domains(range(old))
        return clone

    # ----------------------------------------------------------------- configurations
    @classmethod
    def meta_paper(cls, measurement: Measurement, num_tasks: int = 4, **overrides) -> UnrolledLOA:
        """The meta paper's network (section 4): l=3, d=4, relu_delta=1e-3, 11 phases, sqrt, meta;
        ``measurement`` is ``MRISampling`` there."""
        return cls(measurement, **{"num_tasks": num_tasks, **META_PAPER_NETWORK, **overrides})

    @classmethod
    def lda_paper(cls, measurement: Measurement, **overrides) -> UnrolledLOA:
        """The LDA paper's network (section 4): l=4, d=32, relu_delta=0.01, 15 phases, huber, lda;
        ``measurement`` is ``BlockSampling`` (4.2.1-4.2.2) or ``MRISampling`` (4.2.3)."""
        return cls(measurement, **{"num_tasks": 0, **LDA_PAPER_NETWORK, **overrides})

    @classmethod
    def ulda_paper(cls, measurement: Measurement, num_domains: int = 0, **overrides) -> UnrolledLOA:
        """U-LDA's network (002, 4.3 and 5.1): g of 4 complex 3x3 layers with 16 channels, delta
        1e-3, 15 phases, Huber, modified ELDA, one domain group per domain (``num_domains = 0``:
        the same network without adapters, LDA's, as the per-domain ``g_i`` of "Init" train it), with
        per-phase recomputation."""
        settings = {"num_tasks": 0, "num_domains": num_domains, **ULDA_PAPER_NETWORK, **overrides}
        return cls(measurement, **settings)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_phases=self.num_phases,
            num_tasks=self.num_tasks,
            num_layers=self.features.num_layers,
            num_filters=self.features.num_filters,
            kernel_size=self.features.kernel_size,
            relu_delta=self.features.relu_delta,
            smoothing=self.smoothing,
            policy=dataclasses.asdict(self.policy),
            eps0=self.eps0_init,
            alpha_init=self.phases[0].alpha_init,
            tau_init=self.phases[0].tau_init,
            omega_init=self.omega_init,
            complex_valued=self.features.complex_valued,
            active_phases=self.initial_active_phases,
            regularizer_gradient=self.regularizer_gradient,
            measurement=keras.saving.serialize_keras_object(self.measurement),
            kernel_scale=self.features.kernel_scale,
            num_domains=self.num_domains,
            adapter_init=self.adapters.initializer if self.adapters is not None else "identity",
            activate_last=self.features.activate_last,
            recompute_phases=self.recompute_phases,
            loop_phases=self.loop_phases,
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**with_relu_delta(config))
