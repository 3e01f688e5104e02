"""Every reproducible paper by its ``--paper`` name: ``experiments/reproduce.py`` dispatches here.

A new paper (U-LDA transfer, task correlation) is a :class:`lda_tf.papers.common.Reproduction`
subclass in ``papers/<name>.py`` (or ``papers/<name>/``) and one entry below.
"""

from __future__ import annotations

from lda_tf.papers.common import Registry, Reproduction
from lda_tf.papers.lda.reproduce import LDAReproduction
from lda_tf.papers.meta import MetaReproduction
from lda_tf.papers.task_correlation import TaskCorrelationReproduction
from lda_tf.papers.ulda.reproduce import ULDAReproduction

PAPERS: Registry[type[Reproduction]] = Registry(
    "paper",
    {
        paper.paper: paper
        for paper in (MetaReproduction, LDAReproduction, ULDAReproduction, TaskCorrelationReproduction)
    },
)
