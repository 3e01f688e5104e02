"""Bit-reproducible runs: the seeds, TensorFlow's op determinism, and the graph rewrite that
made the same program sum in a different order in each process.

Measured on the 2-core CPU (docs/reproducibility.md): with the seeds set and
``tf.config.experimental.enable_op_determinism()`` on, the forward pass and first-order
gradients of ``UnrolledLOA`` were bit-identical across processes, but the bilevel step's
second-order gradient (``penalty_objective`` at 80x90, 3 phases, a four-task batch) was not:
its hash changed from process to process even single-threaded, while the traced graphs were
identical. The cause is Grappler's arithmetic optimizer, which rewrites the graph's sums
(regrouping ``Add``/``AddN`` trees) in an order that varies between processes; with it off
the result is bit-identical in every process, with oneDNN on or off. So deterministic mode is
op determinism (every kernel deterministic, or an error naming the op) plus that one pass off.
Its cost is in ``benchmarks/README.md``.

One case needed more: the release row's training (``lda_tf.recipes.MetaRelease``) still ended
with weights differing in the last bits between processes (from its third batch on, two
outcomes), bit-identical only with oneDNN's kernels off (``TF_ENABLE_ONEDNN_OPTS=0``, 2-4x slower).
The first differing tensor was the ``AddN`` that sums the six gradients of one ``g`` kernel used in
every phase: with oneDNN its rounding varied although its inputs were bit-identical. The release
now hands each use its own copy of the kernels (``lda_tf.math.PairwiseFanOut``), so every gradient
sum has two terms, whose rounding does not depend on order, and its training is bit-identical with
oneDNN on (measured: 8 single steps in one process, 4 three-batch runs in pairs of processes).
Every run records the numerics-relevant environment (``lda_tf.provenance``).
"""

from __future__ import annotations

import keras
import tensorflow as tf


def configure(deterministic: bool, seed: int | None = None) -> None:
    """Seed Python, NumPy and TensorFlow (``keras.utils.set_random_seed``) when ``seed`` is given,
    and with ``deterministic`` make TensorFlow's results bit-reproducible (module docstring).
    Call before the first ``tf.function`` of the run is traced."""
    if deterministic:
        tf.config.experimental.enable_op_determinism()
        tf.config.optimizer.set_experimental_options({"arithmetic_optimization": False})
    if seed is not None:
        keras.utils.set_random_seed(seed)
