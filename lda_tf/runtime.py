"""TensorFlow runtime settings of a run that change its cost, not its results.

**Constant folding of function graphs.** When a ``tf.function`` is first called, TensorFlow
optimises its graph with Grappler and then, for each function and partition it instantiates, with
its older ``GraphOptimizer`` (common subexpression elimination and ``ConstantFold``, optimizer
level L1 by default). ``ConstantFold`` evaluates every constant-foldable subgraph and deep-copies
each result before it decides whether to keep it. Profiled with ``perf`` on the bilevel step's
first call at the paper's size (batch 8, 160x180, 11 phases, ``meta`` policy): about 33 s of CPU
time in that pass (20 % of the samples of the whole run: tracing, first call, two steps), most of
it the kernel zeroing fresh pages while the pass materialised zero-filled constants and copied its
results; what it kept (logged at 3 phases, 80x90) was 6 tensors, the loss's seed gradients tiled
(benchmarks/README.md, issue 19 goal 3, "Fourth look").

Decision: training runs turn it off (level L0 with common subexpression elimination kept;
Grappler, including its own constant folding, is unchanged). Measured there, in four pairs of
runs: the first bilevel step 15-22 % shorter (112.5-121.6 -> 95.0-97.8 s), the process's peak
4.3-4.4 GiB lower (14.4 -> 10.0-10.2 GiB), steady steps the same within the run-to-run spread,
and training bit-identical (``tests/test_determinism.py``).
``--function_constant_folding`` turns it back on. TensorFlow has no public switch for it: the
setting goes into the eager context's base ``ConfigProto``, which TensorFlow reads once, when its
runtime is initialised (its first operation, device listing or distribution strategy). A process
whose runtime is already running keeps what it has, and :func:`set_function_constant_folding`
says so in the log.
"""

from __future__ import annotations

from absl import logging
from tensorflow.core.protobuf import config_pb2
from tensorflow.python.eager import context


def function_constant_folding() -> bool:
    """Whether this process's runtime folds constants in function graphs (module docstring)."""
    options = context.context().config.graph_options.optimizer_options
    return options.opt_level != config_pb2.OptimizerOptions.L0


def set_function_constant_folding(enabled: bool) -> bool:
    """Turn the constant folding of function graphs on or off for this process (module
    docstring); call before TensorFlow's runtime is initialised. Returns whether the runtime will
    have ``enabled``: False (and a warning) when it is already running with the other value."""
    runtime = context.context()
    if runtime._initialized:  # read once, at initialisation: too late to change
        if function_constant_folding() != enabled:
            logging.warning(
                "function_constant_folding=%s not applied: TensorFlow's runtime is already initialised "
                "(it keeps %s); set it before the first TensorFlow operation",
                enabled,
                not enabled,
            )
            return False
        return True
    base = config_pb2.ConfigProto()
    if runtime._config is not None:
        base.CopyFrom(runtime._config)
    options = base.graph_options.optimizer_options
    if enabled:
        options.ClearField("opt_level")
        options.ClearField("do_common_subexpression_elimination")
    else:
        options.opt_level = config_pb2.OptimizerOptions.L0
        options.do_common_subexpression_elimination = True
    runtime._config = base
    return True
