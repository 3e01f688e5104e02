"""Reproductions of the papers: one framework (common.py), one module per paper, one report, one figures."""
