"""Reproductions of the papers' tables and figures, one framework for all of them.

``common.py`` (the :class:`~lda_tf.papers.common.Reproduction` base: output folder and
``config.json``, profiles, train-or-reuse, timings, ``Result``), one module per paper (``meta.py``,
``lda/``; ``ulda`` and ``task_correlation`` to come), one ``report.py`` (tables), one ``figures.py``,
one ``published.py`` (the papers' numbers in ``lda_tf/reference/``), and ``registry.py`` (the papers
by name, for ``experiments/reproduce.py``).
"""
