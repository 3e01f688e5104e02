"""lda_tf.runtime in a process whose TensorFlow runtime is already running (the test process):
the setting it has is kept, and asking for another says so instead of pretending; in a fresh
process: which of Grappler's passes run. The settings' effect on values is tested across two fresh
processes in test_determinism.py."""

import os
import re
import subprocess
import sys

import tensorflow as tf
from absl import logging

from lda_tf import runtime


def test_a_running_runtime_keeps_its_setting_and_says_so(monkeypatch):
    tf.constant(1.0) + 1.0  # the runtime is initialised by its first operation
    current = runtime.graph_optimization()
    warnings = []
    monkeypatch.setattr(logging, "warning", lambda message, *args: warnings.append(message % args))
    assert runtime.set_graph_optimization(*current)
    assert warnings == []
    assert not runtime.set_graph_optimization(
        current.function_constant_folding, not current.all_grappler_passes
    )
    assert runtime.graph_optimization() == current
    (warning,) = warnings
    assert "not applied" in warning and "before the first TensorFlow operation" in warning


_GRAPPLER_LOG = """
import sys
import tensorflow as tf
from lda_tf import runtime

assert runtime.set_graph_optimization(False, sys.argv[1] == "all")

@tf.function
def step(x):
    for _ in range(4):
        x = tf.nn.relu(tf.nn.conv2d(x, tf.ones([3, 3, 2, 2]), 1, "SAME") + 1.0) * 0.5
    return tf.reduce_sum(x)

step(tf.ones([1, 8, 8, 2]))
"""


def _grappler_passes(passes: str) -> list[str]:
    """The passes Grappler logs running on a small function in a fresh process."""
    environment = {**os.environ, "TF_CPP_VMODULE": "meta_optimizer=1", "TF_CPP_MIN_LOG_LEVEL": "0"}
    result = subprocess.run(
        [sys.executable, "-c", _GRAPPLER_LOG, passes], capture_output=True, text=True, env=environment
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return re.findall(r"meta_optimizer\.cc:\d+\] (\w+)[:{]", result.stderr)


def test_the_training_runs_skip_grapplers_idle_passes_only():
    """In a fresh process, the training runs' setting runs Grappler's passes that change these
    graphs (pruning, constant folding, the dependency optimiser, the remapper) once each and skips
    the MLIR (TFG) pipelines, the layout and memory optimisers and the second round, which all
    passes has (lda_tf/runtime.py)."""
    lean, every = _grappler_passes("lean"), _grappler_passes("all")
    kept = {"model_pruner", "constant_folding", "remapper", "dependency_optimizer"}
    skipped = {"tfg_optimizer", "layout", "memory_optimizer"}
    assert kept <= set(lean) and not skipped & set(lean)
    assert all(lean.count(name) == 1 for name in kept)
    assert kept | skipped <= set(every) and every.count("model_pruner") == 2
