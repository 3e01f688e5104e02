"""What the CNN baselines share: :class:`CNNReconstruction`, an
:class:`~lda_tf.loa.model.UnrolledNetwork` without an energy, and hard data consistency.

Decision: the baselines subclass ``UnrolledNetwork`` (not a bare ``keras.Model``), so that every
piece that trains, checkpoints, evaluates or loads an unrolled network takes them unchanged:
:class:`~lda_tf.training.LOATrainer` and :func:`~lda_tf.training.fit.fit` (``conventional``
mode, the recipe ``cnn``), :meth:`lda_tf.comparison.Method.of_network`,
:func:`lda_tf.evaluation.network_reconstructor` and :func:`lda_tf.outputs.load_model`. Like
``UnrolledLOA`` they take the measurement layer's inputs (``MRIInputs(kspace, mask,
task_index)``; ``task_index`` is ignored) and return ``x`` ``[B, H, W]`` complex64. A DnCn cascade
plays the role of a phase (``active_phases`` cascades run); the U-Net is one phase. They have no
task weights (``num_tasks = 0``, no omega), no learned scalars, and the per-phase diagnostics of
the LOA (``eps``, ``took_u``, ``phi_*``, ``backtracks``, ``line_search_failed``) are zeros: those
concepts do not exist here.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from lda_tf.loa.model import UnrolledNetwork
from lda_tf.loa.phase import PhaseDiagnostics
from lda_tf.measurement import Measured


def hard_data_consistency(data, image: tf.Tensor) -> tf.Tensor:
    """Noise-free data consistency of DnCn (Schlemper et al. 2018, eq. (7) with ``lambda -> inf``):
    ``x <- F^H [(1 - M) F x + M y]``, the sampled k-space replaced by the measured one.

    With ``f(x) = 1/2 ||M F x - y||^2`` (``y`` zero off the mask) and ``F`` unitary this is one unit
    gradient step ``x - grad f(x) = x - F^H M (M F x - y)``, which is how it is computed: through the
    data term's ``data_fidelity_gradient`` (:class:`lda_tf.loa.objective.DataFidelity`), so this
    package needs no MRI module. Decision: exact for :class:`lda_tf.mri.MRISampling` (orthonormal
    centred FFT, binary mask), not for a measurement whose ``A A^H`` is not a projection (the
    release's unnormalised FFT)."""
    return image - data.data_fidelity_gradient(image)


class CNNReconstruction(UnrolledNetwork):
    """Base of the CNN baselines (module docstring). A subclass calls :meth:`_set_up_cnn` in
    ``__init__`` (and ``self.build()`` at its end), and implements :meth:`build_layers` and
    :meth:`reconstruct`."""

    def _set_up_cnn(self, measurement, num_phases: int, active_phases: int | None) -> None:
        self._set_up(measurement, num_phases, 0, active_phases)
        if not self.measurement.complex_valued:
            raise TypeError(
                f"{type(self).__name__} reconstructs complex MRI images; {type(self.measurement).__name__} "
                "is real"
            )

    def build(self, input_shape=None):
        """Every weight, at construction: the measurement's, the layers' (:meth:`build_layers`),
        the phase count."""
        if self.built:
            return
        self.measurement.build()
        self.build_layers()
        self._add_active_phases()
        self.built = True

    def build_layers(self) -> None:
        """Build the sublayers (their input channels are known; the image size does not matter)."""
        raise NotImplementedError

    @property
    def omega_variables(self) -> list:
        return []

    def task_weight_values(self) -> tf.Tensor:
        return tf.zeros([0])

    def learned_scalars(self) -> dict[str, tf.Tensor]:
        return {}

    def reconstruct(self, measured: Measured, training=None) -> tf.Tensor:
        """``x`` ``[B, H, W]`` complex64 from the measurement of a batch."""
        raise NotImplementedError

    def call(self, inputs, training=None, return_diagnostics: bool = False):
        """The reconstruction ``[B, H, W]``; with ``return_diagnostics`` also the LOA's per-phase
        diagnostics as zeros ``[T, B]`` (module docstring)."""
        recon = self.reconstruct(self.measurement.measure(inputs), training)
        if not return_diagnostics:
            return recon
        zeros = tf.zeros([self.active_phases, tf.shape(recon)[0]])
        return recon, {name: zeros for name in PhaseDiagnostics._fields}

    def get_config(self):
        """The measurement and the phases run initially; a subclass adds its sizes."""
        config = super().get_config()
        config.update(
            measurement=keras.saving.serialize_keras_object(self.measurement),
            active_phases=self.initial_active_phases,
        )
        return config
