"""The MRI operators of the authors' TF1 release, as its script computes them, and the measurement
layer that feeds them our inputs (docs/decisions.md, "The authors' TF1 release as it runs").

Line numbers refer to ``recon_meta_Journal_of_Imaging.py`` of ``Wanyu624/meta-learning_MRI_Reconstruction``
(HEAD, a90687b). The release's conventions, where they differ from SPEC 1:

- ``mriForwardOp`` (lines 47-52) is ``P fft2d(x)``: TensorFlow's unnormalised, uncentred DFT (its
  comment says "centered"; no shift is applied), so the mask lives on the uncentred grid (DC at
  ``[0, 0]``).
- ``mriAdjointOp`` (lines 54-57) is ``ifft2d(P k)``, which divides by ``H W``: ``1/(H W)`` times
  the adjoint of ``mriForwardOp``. Its "gradient" of ``f(x) = 1/2 ||P fft2d(x) - y||^2`` is
  ``ifft2d(P fft2d(x)) - ifft2d(P y)`` (lines 236-237), ``1/(H W)`` times the true one.
- The start is ``x0 = ifft2d(P y)`` (line 280).

Decision: the release's k-space of an image ``xhat`` is ``y_u = P_u fft2d(xhat)`` (``P_u`` the
mask moved to the uncentred grid by ``ifftshift``), the one reading under which its operators model
its data (its ``K1_*.mat`` files are not public). Our inputs carry ``y = P F xhat`` (SPEC 1), so
:class:`ReleaseSampling` converts: ``y_u = P_u fft2d(F^H P y)``, exactly ``P_u fft2d(xhat)`` for
noiseless data. On these data the start and the data-term gradient equal ours (a masked
convolution ``ifft2d(M fft2d(.))`` commutes with circular shifts), and only ``f``'s value is ``H W``
times ours; the conversion is kept so that the release's equations read as in the script.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import tensorflow as tf

from lda_tf.math import squared_norm
from lda_tf.measurement import Measured
from lda_tf.mri.fft import ifft2c
from lda_tf.mri.measurement import MRISampling, as_mri_inputs
from lda_tf.mri.operators import check_kspace_and_mask

_AXES = (-2, -1)


class ReleaseOperator(NamedTuple):
    """The release's ``A = P fft2d`` with its data ``y``, both on the uncentred grid."""

    mask: tf.Tensor  # P_u: [H, W] or [B, H, W] float32, DC at [0, 0]
    kspace: tf.Tensor  # y_u: [B, H, W] complex64, zero off the mask

    def _apply_mask(self, kspace: tf.Tensor) -> tf.Tensor:
        return kspace * tf.cast(self.mask, tf.complex64)

    def forward(self, image: tf.Tensor) -> tf.Tensor:
        """``mriForwardOp`` (lines 47-52): ``P fft2d(x)``, unnormalised and uncentred."""
        return self._apply_mask(tf.signal.fft2d(image))

    def adjoint(self, kspace: tf.Tensor) -> tf.Tensor:
        """``mriAdjointOp`` (lines 54-57): ``ifft2d(P k)`` (``1/(H W)`` times the adjoint)."""
        return tf.signal.ifft2d(self._apply_mask(kspace))

    def zero_filled(self) -> tf.Tensor:
        """``x0 = ifft2d(P y)`` (line 280)."""
        return self.adjoint(self.kspace)

    def data_fidelity(self, image: tf.Tensor) -> tf.Tensor:
        """``1/2 ||P fft2d(x) - y||^2`` per sample (lines 243, 212-215) -> ``[B]``."""
        return 0.5 * squared_norm(self.forward(image) - self.kspace)

    def data_fidelity_gradient(self, image: tf.Tensor) -> tf.Tensor:
        """``ATAx1 - ATf1 = ifft2d(P fft2d(x)) - ifft2d(P y)`` (lines 236-237) -> ``[B, H, W]``."""
        return self.adjoint(self.forward(image)) - self.adjoint(self.kspace)


@keras.saving.register_keras_serializable(package="lda_tf")
class ReleaseSampling(MRISampling):
    """:class:`~lda_tf.mri.MRIInputs` (centred, orthonormal, SPEC 1) in, the release's operator
    out: ``P_u = ifftshift(P)``, ``y_u = P_u fft2d(F^H P y)`` (module docstring), the start
    ``x0 = ifft2d(P_u y_u)``. :meth:`display` shows the centred mask, as :class:`MRISampling`."""

    def measure(self, inputs) -> Measured:
        inputs = as_mri_inputs(inputs)
        kspace, mask = check_kspace_and_mask(inputs.kspace, inputs.mask)
        uncentred_mask = tf.signal.ifftshift(mask, axes=_AXES)
        zero_filled = ifft2c(kspace * tf.cast(mask, tf.complex64))  # F^H P y
        uncentred_kspace = tf.signal.fft2d(zero_filled) * tf.cast(uncentred_mask, tf.complex64)
        operator = ReleaseOperator(uncentred_mask, uncentred_kspace)
        return Measured(operator, operator.zero_filled(), inputs.task_index)
