"""TensorFlow runtime settings of a run that change its cost, not its results: how the graphs of
its ``tf.function`` s are optimised before their first call.

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
``--function_constant_folding`` turns it back on.

**Grappler's idle passes.** Grappler's meta-optimiser runs its passes over the whole graph twice.
Logged per pass (``TF_CPP_VMODULE=meta_optimizer=1``) on the bilevel step at 3 phases, 80x90,
K = 5 (a 114k-node graph): of its 30 s, the two MLIR (TFG) pipelines (attribute consolidation,
topological sort, shape inference; control-flow sinking) took 7 s, the layout optimiser 2 s and
the memory optimiser 3 s, and none of them changed a node or an edge; the second round took 7 s
more and removed 1026 of 63k nodes (control dependencies and identities). The passes that do
change the graph (model pruning: -24k nodes, constant folding: -16k, the dependency optimiser:
-11k) run as before, and so does the remapper, which finds nothing in the LOA networks' bias-free
convolutions but fuses the DnCNN baseline's convolution, bias and ReLU.

Decision: training runs skip the idle passes (``disable_tfg_optimizer``, conditional code motion,
the layout and memory optimisers, one meta-optimiser round instead of two). Measured at the paper's
size (11 phases, 160x180, K = 1), in two pairs of runs: the first bilevel step 92.5-93.1 ->
67.9-68.1 s (26-27 % shorter; at 3 phases, K = 5: 49.8 -> 31.0 s), steady steps the same within the
spread, the peak 0.1-0.3 GiB lower; training bit-identical (``tests/test_determinism.py``). Where a
GPU is visible the layout optimiser (NHWC <-> NCHW for cuDNN) and the memory optimiser (swapping to
host memory) have GPU work to do, so they stay on there (not measured: no GPU was available).
``--all_grappler_passes`` runs them all.

TensorFlow reads these settings from the eager context's base ``ConfigProto`` (it has no public
switch for the first and its public ``tf.config.optimizer`` options do not name the others), and
reads the first once, when its runtime is initialised (its first operation or distribution
strategy). A process whose runtime is already running keeps what it has, and
:func:`set_graph_optimization` says so in the log.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf
from absl import logging
from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2
from tensorflow.python.eager import context

_REWRITER = rewriter_config_pb2.RewriterConfig
_IDLE_PASSES = (  # the fields _skip_idle_passes sets
    "disable_tfg_optimizer",
    "experimental_conditional_code_motion",
    "meta_optimizer_iterations",
    "layout_optimizer",
    "memory_optimization",
)


class GraphOptimization(NamedTuple):
    """How this process optimises function graphs (module docstring)."""

    function_constant_folding: bool
    all_grappler_passes: bool


def graph_optimization() -> GraphOptimization:
    """The settings this process's runtime has (or will have, before it starts)."""
    config = context.context().config.graph_options
    return GraphOptimization(
        function_constant_folding=config.optimizer_options.opt_level != config_pb2.OptimizerOptions.L0,
        all_grappler_passes=not config.rewrite_options.disable_tfg_optimizer,
    )


def _skip_idle_passes(rewrite: rewriter_config_pb2.RewriterConfig) -> None:
    rewrite.disable_tfg_optimizer = True
    rewrite.experimental_conditional_code_motion = _REWRITER.OFF
    rewrite.meta_optimizer_iterations = _REWRITER.ONE
    if not tf.config.list_physical_devices("GPU"):  # lists devices without starting the runtime; the
        # layout (NHWC <-> NCHW for cuDNN) and memory (swapping to host) optimisers stay on a GPU
        rewrite.layout_optimizer = _REWRITER.OFF
        rewrite.memory_optimization = _REWRITER.NO_MEM_OPT


def set_graph_optimization(function_constant_folding: bool, all_grappler_passes: bool) -> bool:
    """Set how function graphs are optimised (module docstring); call before TensorFlow's runtime
    is initialised. Returns whether the runtime will have these settings: False (and a warning)
    when it is already running with others."""
    wanted = GraphOptimization(bool(function_constant_folding), bool(all_grappler_passes))
    runtime = context.context()
    if runtime._initialized:  # read at initialisation: too late to change
        current = graph_optimization()
        if current != wanted:
            logging.warning(
                "graph optimisation %s not applied: TensorFlow's runtime is already initialised (it "
                "keeps %s); set it before the first TensorFlow operation",
                wanted,
                current,
            )
            return False
        return True
    base = config_pb2.ConfigProto()
    if runtime._config is not None:
        base.CopyFrom(runtime._config)
    options = base.graph_options.optimizer_options
    options.ClearField("opt_level")
    options.ClearField("do_common_subexpression_elimination")
    if not wanted.function_constant_folding:
        options.opt_level = config_pb2.OptimizerOptions.L0
        options.do_common_subexpression_elimination = True
    rewrite = base.graph_options.rewrite_options
    for field in _IDLE_PASSES:
        rewrite.ClearField(field)
    if not wanted.all_grappler_passes:
        _skip_idle_passes(rewrite)
    runtime._config = base
    return True
