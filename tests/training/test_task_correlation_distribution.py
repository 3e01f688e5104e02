import json
import subprocess
import sys

import pytest


@pytest.mark.slow
@pytest.mark.parametrize("model", ["vector", "matrix"])
def test_mirrored_strategy_on_two_cpus_matches_one_device(model):
    """Algorithm 1 under tf.distribute (tests/training/mirrored_task_correlation_check.py): the
    same theta and logits as on one device, each replica holding one task's pairs. Slow: two
    fresh processes of about a minute of CPU each."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.training.mirrored_task_correlation_check", model],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    assert result["logits_moved"] > 1e-3  # the logits moved
    assert result["theta"] < 1e-4 and result["logits"] < 1e-4, result  # measured: < 1e-6
