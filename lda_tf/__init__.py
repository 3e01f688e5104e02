"""lda_tf: learnable optimization algorithms for MRI reconstruction in TensorFlow 2 / Keras 3.

Implements the LOA-induced unrolled network and its training from the papers in ``shared/papers``
(see ``docs/``); equation numbers in docstrings refer to the meta paper (Bian et al. 2021) unless
another paper is named.
"""

__version__ = "0.1.0"

from lda_tf import metrics
from lda_tf.loa import PhasePolicy, UnrolledLOA, solve
from lda_tf.mri import MRIOperator, fft2c, ifft2c, make_mask

__all__ = [
    "MRIOperator",
    "PhasePolicy",
    "UnrolledLOA",
    "fft2c",
    "ifft2c",
    "make_mask",
    "metrics",
    "solve",
    "__version__",
]
