"""``ReleaseUnrolled``: what the authors' TF1 release computes when it runs (docs/decisions.md, "The
authors' TF1 release as it runs").

Line numbers refer to ``recon_meta_Journal_of_Imaging.py`` of
``Wanyu624/meta-learning_MRI_Reconstruction`` (HEAD; the file last changed in a90687b). The script
builds a TF1 graph, and its safeguards are Python tests on graph tensors: ``if if_choose_u1==True:``
(line 252) and ``if if_alpha1_decrease==False:`` (line 266). A TF1 graph tensor compares by
identity, so both tests are False whatever the data, and every phase builds the ``else`` branch
with its first trial ``v1`` (lines 255-269): no ``u``, no backtracking, no data-fidelity step.
What remains, per phase (``step="v"``, the default):

    x_{t+1} = x_t - alpha sigmoid(w_i) grad_R(x_t; eps_t)                            (line 256)
    grad_R(x; eps) = J_g(x)^T g(x) / sum_j sqrt(||g_j(x)||^2 + eps^2)          (lines 200-210)
    eps_{t+1} = gamma eps_t  if  mean_b ||d_b||  <= sigma gamma eps_t,  else eps_t   (272-274)
    d = ifft2d(P fft2d(x_t)) - ifft2d(P y) + sigmoid(w_i) grad_R(x_{t+1}; eps_t)

from ``x_0 = ifft2d(P y)`` (line 280), with

- ``g`` (lines 141-159): three 3x3 convolutions of 4 kernels combining the real and imaginary
  kernels as ``w * conj(x)`` (not SPEC's complex convolution), the smoothed ReLU (19) on real and
  imaginary parts between layers; ``J_g^T`` written out (``grad_g1``, lines 161-190) is the real
  transpose of that map (:class:`~lda_tf.nn.FeatureExtractor` with ``conjugate_input=True``);
- ``grad_R``'s normalisation is ONE sum over the whole image per sample (line 207), not SPEC's
  per-pixel ``g_j / sqrt(||g_j||^2 + eps^2)``;
- ``alpha = alpha_r + i alpha_i``: one complex step shared by all phases (the ``alpha1`` a phase
  returns is the one it was given, lines 291-294), starting at ``0.01 + 0.01i`` (lines 94-96);
- complex task weights ``w_i = w_ir + i w_ii`` starting at ``1 + 1i`` (lines 114-127), entering the
  step as the complex ``sigmoid(w_i)`` (``grad_sigma_w``, lines 221-225) and ``phi`` as
  ``sigmoid(|w_i|)`` (``sigma_w``, lines 217-219); ``phi`` feeds only the dead safeguard tests,
  so ``sigmoid(|w_i|)`` never reaches the output (it is what :meth:`task_weight_values` reports);
- ``eps_0`` a raw trainable variable starting at ``1e-8`` (line 102), ``gamma = 0.9``,
  ``sigma = 1`` (lines 87-88); the eps rule is one ``tf.cond`` for the whole batch, on the batch
  mean of the per-sample norms, and ``d`` mixes the data gradient at ``x_t`` (``ATAx1 - ATf1``)
  with the regulariser gradient at ``x_{t+1}``;
- the data term is the release's (:class:`lda_tf.mri.ReleaseOperator`: unnormalised, uncentred
  ``fft2d``); this module uses only the :class:`~lda_tf.measurement.Measurement` contract, so the
  FFT convention is the measurement's (``lda_tf.mri.ReleaseSampling``) and ``loa/`` stays free of
  MRI, as for :class:`~lda_tf.loa.UnrolledLOA`.

``step="u"`` is the other computation the release holds: ``x_{t+1} = u = z - tau grad_R(z; eps_t)``,
``z = x_t - alpha (ifft2d(P fft2d(x_t)) - ifft2d(P y))`` (lines 240-242), with the complex
``tau = tau_r + i tau_i`` (start ``0.01 + 0.01i``, lines 98-100) and no task weight. The test script
``recon_meta_test_Journal_of_Imaging.py``, which printed the reported metrics, computes this in
every phase (its ``else`` branch ends in ``x1 = u1``, line 270) with ``eps`` fixed at ``eps_0``
(no eps rule: ``eps_rule=False``); the training script did too as first uploaded (a8a2eeb, whose
safeguard was commented out), with the eps rule. With ``step="v"`` the ``tau`` variables, and with
``step="u"`` the task weights, get no gradient, as in the script.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import tensorflow as tf

from lda_tf.checks import check_choice
from lda_tf.loa.model import UnrolledNetwork
from lda_tf.math import PairwiseFanOut, broadcastable_per_sample, squared_norm
from lda_tf.measurement import Measured, Measurement
from lda_tf.nn.features import FeatureExtractor

STEPS = ("v", "u")
# The script's constants (lines 83-102, 114-127).
ALPHA_INIT = 0.01 + 0.01j
TAU_INIT = 0.01 + 0.01j
EPS_INIT = 1e-8
OMEGA_INIT = 1.0 + 1.0j
GAMMA, SIGMA = 0.9, 1.0


class _Regularizer(NamedTuple):
    """``J_g(x)^T g(x)`` ``[B, H, W]`` and ``||g_j(x)||^2`` per pixel ``[B, H, W]`` at one point."""

    jacobian_transpose: tf.Tensor
    pixel_norms2: tf.Tensor


def _as_complex(values: tf.Tensor) -> tf.Tensor:
    return tf.complex(values, tf.zeros_like(values))


@keras.saving.register_keras_serializable(package="lda_tf")
class ReleaseUnrolled(UnrolledNetwork):
    """The TF1 release's network as its script runs (module docstring).

    Args:
        measurement: a :class:`~lda_tf.measurement.Measurement`; ``lda_tf.mri.ReleaseSampling``
            gives the release's FFT convention on our inputs.
        num_phases: phases built (the script: ``PhaseNumber = 11``).
        num_tasks: complex task weights ``w_i`` (the script: 4).
        num_layers, num_filters, kernel_size, relu_delta: ``g`` (the script: 3, 4, 3, 1e-3).
        step: ``"v"`` (the training script at HEAD) or ``"u"`` (the test script).
        eps_rule: apply the batch-level eps rule (lines 272-274; the test script has none).
        active_phases: phases run initially (default all).

    Variables: theta = ``g``'s kernels, ``alpha_real``, ``alpha_imag``, ``tau_real``, ``tau_imag``,
    ``eps0`` (the script's ``train`` scope); omega = ``omega_real``, ``omega_imag`` (``validation``).
    """

    def __init__(
        self,
        measurement: Measurement | dict,
        num_phases: int = 11,
        num_tasks: int = 4,
        num_layers: int = 3,
        num_filters: int = 4,
        kernel_size: int = 3,
        relu_delta: float = 1e-3,
        step: str = "v",
        eps_rule: bool = True,
        active_phases: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._set_up(measurement, num_phases, num_tasks, active_phases)
        if self.num_tasks < 1:
            raise ValueError(f"num_tasks must be >= 1 (the release always has task weights); got {num_tasks}")
        if not self.measurement.complex_valued:
            raise TypeError(
                f"the release reconstructs complex images; {type(self.measurement).__name__} is real"
            )
        self.step = check_choice(step, STEPS, "step")
        self.eps_rule = bool(eps_rule)
        self.features = FeatureExtractor(
            num_layers, num_filters, kernel_size, relu_delta, True, conjugate_input=True, name="features"
        )
        self.build(None)

    def build(self, input_shape=None):
        if self.built:
            return
        self.features.build()
        self.measurement.build()

        def scalar(name, value):
            return self.add_weight(shape=(), initializer=keras.initializers.Constant(value), name=name)

        self.alpha_real, self.alpha_imag = (
            scalar("alpha_real", ALPHA_INIT.real),
            scalar("alpha_imag", ALPHA_INIT.imag),
        )
        self.tau_real, self.tau_imag = scalar("tau_real", TAU_INIT.real), scalar("tau_imag", TAU_INIT.imag)
        self.eps0 = scalar("eps0", EPS_INIT)
        self.omega_real, self.omega_imag = (
            self.add_weight(
                shape=(self.num_tasks,), initializer=keras.initializers.Constant(value), name=name
            )
            for name, value in (("omega_real", OMEGA_INIT.real), ("omega_imag", OMEGA_INIT.imag))
        )
        self._add_active_phases()
        self.built = True

    # ----------------------------------------------------------------- variables
    @property
    def omega_variables(self) -> list:
        return [self.omega_real, self.omega_imag]

    def _omega(self) -> tf.Tensor:
        return tf.complex(tf.convert_to_tensor(self.omega_real), tf.convert_to_tensor(self.omega_imag))

    def task_weight_values(self) -> tf.Tensor:
        """``sigmoid(|w_i|)``, the weight of ``phi`` (``sigma_w``, line 218); the step uses the
        complex ``sigmoid(w_i)`` (line 222)."""
        return tf.sigmoid(tf.abs(self._omega()))

    def learned_scalars(self) -> dict[str, tf.Tensor]:
        return {
            "step_sizes/alpha_real": tf.convert_to_tensor(self.alpha_real),
            "step_sizes/alpha_imag": tf.convert_to_tensor(self.alpha_imag),
            "step_sizes/tau_real": tf.convert_to_tensor(self.tau_real),
            "step_sizes/tau_imag": tf.convert_to_tensor(self.tau_imag),
            "smoothing/eps0": tf.convert_to_tensor(self.eps0),
        }

    # ----------------------------------------------------------------- the script's functions
    def _regularizer(self, image: tf.Tensor, kernels: PairwiseFanOut) -> _Regularizer:
        maps = self.features.forward(image, kernels.take())  # g1_forward
        jacobian_transpose = self.features.jacobian_transpose(
            maps.preactivations, maps.output, kernels.take()
        )  # grad_g1
        return _Regularizer(jacobian_transpose, tf.reduce_sum(tf.square(maps.output), axis=-1))

    @staticmethod
    def _normaliser(pixel_norms2: tf.Tensor, eps: tf.Tensor) -> tf.Tensor:
        """``sum_j sqrt(||g_j||^2 + eps^2)`` per sample ``[B]`` (lines 204-207 and 193-196)."""
        return tf.reduce_sum(tf.sqrt(pixel_norms2 + tf.square(eps)), axis=(-2, -1))

    def _grad_r(self, parts: _Regularizer, eps: tf.Tensor) -> tf.Tensor:
        """``grad_R1`` (lines 200-210): ``J_g^T g / sum_j sqrt(||g_j||^2 + eps^2)``."""
        scale = _as_complex(1.0 / self._normaliser(parts.pixel_norms2, eps))
        return broadcastable_per_sample(scale, parts.jacobian_transpose) * parts.jacobian_transpose

    def _phi(
        self, data, image: tf.Tensor, eps: tf.Tensor, kernels: PairwiseFanOut, weight: tf.Tensor
    ) -> tf.Tensor:
        """``phi`` (line 243): ``1/2 ||P fft2d(x) - y||^2 + sigmoid(|w_i|) (R_eps(x))``, with
        ``R_eps = sum_j sqrt(||g_j||^2 + eps^2) - eps`` (``R_epsilon1``, lines 192-198)."""
        pixel_norms2 = tf.reduce_sum(tf.square(self.features.forward(image, kernels.take()).output), axis=-1)
        return data.data_fidelity(image) + weight * (self._normaliser(pixel_norms2, eps) - eps)

    # ----------------------------------------------------------------- forward
    def call(self, inputs, training=None, return_diagnostics: bool = False):
        """``x_T`` ``[B, H, W]`` (module docstring); with ``return_diagnostics`` also ``[T, B]``
        tensors ``eps``, ``took_u`` (1 for ``step="u"``), ``phi_before``, ``phi_after`` (the
        script's ``phi``, with ``sigmoid(|w_i|)``), ``backtracks`` and ``line_search_failed`` (0)."""
        measured: Measured = self.measurement.measure(inputs)
        data, image = measured.data, measured.initial
        if measured.task_index is None:
            raise ValueError(f"this model has {self.num_tasks} tasks; inputs need a task_index [B]")
        task_index = tf.cast(tf.convert_to_tensor(measured.task_index), tf.int32)
        omega = tf.gather(self._omega(), task_index)
        step_weight = broadcastable_per_sample(tf.sigmoid(omega), image)  # grad_sigma_w, line 222
        phi_weight = tf.sigmoid(tf.abs(omega))  # sigma_w, line 218
        alpha = tf.complex(tf.convert_to_tensor(self.alpha_real), tf.convert_to_tensor(self.alpha_imag))
        tau = tf.complex(tf.convert_to_tensor(self.tau_real), tf.convert_to_tensor(self.tau_imag))
        eps = tf.convert_to_tensor(self.eps0)
        kernels = PairwiseFanOut(self.features.kernels())  # one copy per use: reproducible gradients
        parts = self._regularizer(image, kernels) if self.step == "v" else None
        per_phase = []
        for _ in range(self.active_phases):
            if self.step == "v":  # lines 255-256, 262, 269
                next_image = image - alpha * (step_weight * self._grad_r(parts, eps))
            else:  # lines 240-242
                z = image - alpha * data.data_fidelity_gradient(image)
                next_image = z - tau * self._grad_r(self._regularizer(z, kernels), eps)
            next_eps, next_parts = eps, None
            if self.eps_rule or self.step == "v":  # g at x_{t+1}: the eps rule's, the next v step's
                next_parts = self._regularizer(next_image, kernels)
            if self.eps_rule:  # lines 272-274
                gradient = data.data_fidelity_gradient(image) + step_weight * self._grad_r(next_parts, eps)
                norm = tf.reduce_mean(tf.sqrt(squared_norm(gradient)))
                next_eps = tf.where(norm <= SIGMA * GAMMA * eps, GAMMA * eps, eps)
            if return_diagnostics:
                per_phase.append(
                    (
                        eps,
                        self._phi(data, image, eps, kernels, phi_weight),
                        self._phi(data, next_image, eps, kernels, phi_weight),
                    )
                )
            image, eps, parts = next_image, next_eps, next_parts
        if not return_diagnostics:
            return image
        return image, self._diagnostics(per_phase, tf.shape(image)[0])

    def _diagnostics(self, per_phase, batch_size) -> dict[str, tf.Tensor]:
        zeros = tf.zeros([len(per_phase), batch_size])
        return dict(
            eps=tf.stack([tf.fill([batch_size], eps) for eps, _, _ in per_phase]),
            took_u=zeros + (1.0 if self.step == "u" else 0.0),
            phi_before=tf.stack([before for _, before, _ in per_phase]),
            phi_after=tf.stack([after for _, _, after in per_phase]),
            backtracks=zeros,
            line_search_failed=zeros,
        )

    # ----------------------------------------------------------------- configuration
    def get_config(self):
        config = super().get_config()
        config.update(
            num_phases=self.num_phases,
            num_tasks=self.num_tasks,
            num_layers=self.features.num_layers,
            num_filters=self.features.num_filters,
            kernel_size=self.features.kernel_size,
            relu_delta=self.features.relu_delta,
            step=self.step,
            eps_rule=self.eps_rule,
            active_phases=self.initial_active_phases,
            measurement=keras.saving.serialize_keras_object(self.measurement),
        )
        return config
