"""MRI measurement model (SPEC section 1): centred orthonormal DFT, A = P F, masks, the
measurement layer and its named inputs; the authors' TF1 release's operators (``release``)."""

from lda_tf.mri.fft import fft2c, ifft2c
from lda_tf.mri.masks import (
    CartesianMask,
    RadialMask,
    VariableDensityMask,
    load_mask,
    make_mask,
    sampling_ratio,
    save_mask,
    save_mask_png,
)
from lda_tf.mri.measurement import MRIInputs, MRISampling, as_mri_inputs
from lda_tf.mri.operators import MRIOperator, add_complex_noise, simulate_kspace
from lda_tf.mri.release import ReleaseOperator, ReleaseSampling

__all__ = [
    "CartesianMask",
    "MRIInputs",
    "MRIOperator",
    "MRISampling",
    "RadialMask",
    "ReleaseOperator",
    "ReleaseSampling",
    "VariableDensityMask",
    "add_complex_noise",
    "as_mri_inputs",
    "fft2c",
    "ifft2c",
    "load_mask",
    "make_mask",
    "sampling_ratio",
    "save_mask",
    "save_mask_png",
    "simulate_kspace",
]
