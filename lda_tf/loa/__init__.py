"""Learnable optimization algorithms: objective, phase policies, unrolled model, solver; and the
authors' TF1 release as it runs (``release``)."""

from lda_tf.loa.model import UnrolledLOA, UnrolledNetwork
from lda_tf.loa.objective import VariationalObjective
from lda_tf.loa.phase import POLICIES, LOAPhase, PhasePolicy, phase_iteration
from lda_tf.loa.release import ReleaseUnrolled
from lda_tf.loa.solve import SolveResult, solve

__all__ = [
    "LOAPhase",
    "POLICIES",
    "PhasePolicy",
    "ReleaseUnrolled",
    "SolveResult",
    "UnrolledLOA",
    "UnrolledNetwork",
    "VariationalObjective",
    "phase_iteration",
    "solve",
]
