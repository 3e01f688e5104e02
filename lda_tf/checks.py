"""Argument checks with one message shape, for library code.

A library error names the argument (``policy``), never a command-line flag; a binary whose flag
carries the same name (the generated flags of :mod:`lda_tf.training.config` do) reports it as the
flag. Modelled on tensorflow-mri's ``validate_enum``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def check_choice(value: T, choices: Iterable[T], name: str) -> T:
    """``value`` if it is one of ``choices``; else ``ValueError`` naming ``name`` and the choices."""
    options = list(choices)
    if value not in options:
        listed = ", ".join(repr(option) for option in options)
        raise ValueError(f"argument `{name}` must be one of {listed}; got {value!r}")
    return value
