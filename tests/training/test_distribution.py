import json
import subprocess
import sys

import pytest


def _run(mode: str, loop_phases: bool) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tests.training.mirrored_check", mode, *(["loop"] if loop_phases else [])],
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.parametrize(
    "mode, loop_phases",
    [("meta", False), ("conventional", False), ("adaptation", False), ("meta", True)],
    ids=["meta", "conventional", "adaptation", "meta-loop_phases"],
)
def test_mirrored_strategy_on_two_cpus_matches_one_device(mode, loop_phases):
    done = _run(mode, loop_phases)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    difference = json.loads(line[len("RESULT ") :])[mode]
    assert difference < 1e-3, difference  # float32 sums in another order, through one Adam step
