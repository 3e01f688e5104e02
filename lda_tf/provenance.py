"""What every run records next to its outputs: its flags, the package version and the git commit."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

import lda_tf

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
# Environment variables TensorFlow reads when it starts that change results' round-off
# (docs/reproducibility.md): recorded with every run.
NUMERICS_ENVIRONMENT = (
    "TF_NUM_INTEROP_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_ENABLE_ONEDNN_OPTS",
    "OMP_NUM_THREADS",
)


def git_commit() -> str:
    """The checkout's commit (with ``-dirty`` if it has uncommitted changes), or ``"unknown"``."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPOSITORY_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(REPOSITORY_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if status else "")


def run_record(tool: str, settings: dict) -> dict:
    """A JSON-ready record of a run: tool, settings (e.g. flag values), version, commit, time."""
    return {
        "tool": tool,
        "settings": settings,
        "lda_tf_version": lda_tf.__version__,
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "environment": {name: os.environ[name] for name in NUMERICS_ENVIRONMENT if name in os.environ},
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
