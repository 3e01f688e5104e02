"""lda_tf.runtime in a process whose TensorFlow runtime is already running (the test process):
the setting it has is kept, and asking for the other one says so instead of pretending. The
setting's effect on values is tested across two fresh processes in test_determinism.py."""

import tensorflow as tf
from absl import logging

from lda_tf import runtime


def test_a_running_runtime_keeps_its_setting_and_says_so(monkeypatch):
    tf.constant(1.0) + 1.0  # the runtime is initialised by its first operation
    current = runtime.function_constant_folding()
    warnings = []
    monkeypatch.setattr(logging, "warning", lambda message, *args: warnings.append(message % args))
    assert runtime.set_function_constant_folding(current)
    assert warnings == []
    assert not runtime.set_function_constant_folding(not current)
    assert runtime.function_constant_folding() == current
    (warning,) = warnings
    assert "not applied" in warning and "before the first TensorFlow operation" in warning
