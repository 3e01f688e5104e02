"""Shared plumbing of the absl binaries: clean errors for bad input, flag records."""

from __future__ import annotations

import functools
import sys
from typing import Callable

from absl import flags

# Errors that mean "the input or the flags are wrong": the message names the file or flag and is
# what the user needs, so binaries print it without a traceback and exit with status 2.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError)


def user_errors_exit(main: Callable[[list[str]], None]) -> Callable[[list[str]], None]:
    @functools.wraps(main)
    def wrapped(argv):
        try:
            return main(argv)
        except USER_ERRORS as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)

    return wrapped


def flag_values() -> dict:
    """The values of the flags the running binary defines (absl keys a script's flags by its path)."""
    return {flag.name: flag.value for flag in flags.FLAGS.get_flags_for_module(sys.argv[0])}
