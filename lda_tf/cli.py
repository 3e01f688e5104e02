"""Shared plumbing of the absl binaries: clean errors for bad input, flag records."""

from __future__ import annotations

import functools
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from absl import flags

# Errors that mean "the input or the flags are wrong": raised by this project's own checks, whose
# message names the file or flag; binaries print it without a traceback and exit with status 2.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
OWN_CODE = tuple(
    str(PROJECT_ROOT / folder) for folder in ("lda_tf", "data_prep", "experiments", "benchmarks")
)


def _raised_by_own_check(error: BaseException) -> bool:
    """True when the innermost frame is this project's code (a deliberate check), not a library
    (a ValueError from deep inside TensorFlow is a bug to show in full)."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and str(Path(frames[-1].filename).resolve()).startswith(OWN_CODE)


def as_flags(message: str) -> str:
    """A library message with each argument it names (``argument `epochs```, ```epochs```) that is
    a flag of the running binary written as the flag (``--epochs``)."""

    def flag(match: re.Match) -> str:
        name = match.group(1)
        return f"--{name}" if name in flags.FLAGS else match.group(0)

    return re.sub(r"(?:argument )?`(\w+)`", flag, message)


def user_errors_exit(main: Callable[[list[str]], None]) -> Callable[[list[str]], None]:
    """``main`` with this project's own errors about inputs (:data:`USER_ERRORS`) printed as
    ``error: ...`` (arguments named as the binary's flags) and exit status 2, no traceback."""

    @functools.wraps(main)
    def wrapped(argv):
        try:
            return main(argv)
        except USER_ERRORS as error:
            if not _raised_by_own_check(error):
                raise
            print(f"error: {as_flags(str(error))}", file=sys.stderr)
            sys.exit(2)

    return wrapped


def is_size_pair(value) -> bool:
    """Validator of a ``HEIGHT,WIDTH`` list flag: unset, or two positive integers."""
    return value is None or (len(value) == 2 and all(item.isdigit() and int(item) > 0 for item in value))


def flag_values() -> dict:
    """The values of the flags the running binary defines (absl keys a script's flags by its path)."""
    return {flag.name: flag.value for flag in flags.FLAGS.get_flags_for_module(sys.argv[0])}
