"""Learnable optimization algorithms: objective, phase policies, unrolled model, solver."""

from lda_tf.loa.model import UnrolledLOA
from lda_tf.loa.objective import VariationalObjective
from lda_tf.loa.phase import POLICIES, LOAPhase, PhasePolicy, phase_iteration
from lda_tf.loa.solve import SolveResult, solve

__all__ = [
    "LOAPhase",
    "POLICIES",
    "PhasePolicy",
    "SolveResult",
    "UnrolledLOA",
    "VariationalObjective",
    "phase_iteration",
    "solve",
]
