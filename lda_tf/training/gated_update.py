"""Optimizer steps that may be undone, under any tf.distribute strategy.

Algorithm 2 updates only while its stop criterion exceeds delta, and a step with non-finite
gradients must never reach the weights. Both need "apply this optimizer step, or leave weights and
optimizer state untouched", decided once for all replicas. Under ``MirroredStrategy`` the
optimizer step cannot sit in a ``tf.cond``: in replica context its ``merge_call`` is not allowed
inside control flow and its gradient all-reduce would not be ordered consistently across
replicas, and Keras's optimizer cannot run in cross-replica context. So the step is branch-free:
it is always applied (Keras's ordinary path), after taking a copy of the variables and the
optimizer's state, and where the gate is closed every one of them is restored from the copy with a
``tf.where`` (a cross-replica ``extended.update``, so mirrored copies stay identical). The copies
cost nothing next to a step: the LOA network has a few thousand parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf


def _storage(variable):
    """The tf.Variable behind a Keras variable (MirroredVariable under a strategy)."""
    return getattr(variable, "value", variable)


def apply_if(optimizer, gradients: Sequence[tf.Tensor], variables: Sequence, gate: tf.Tensor) -> None:
    """``optimizer.apply(gradients, variables)`` (per-replica gradients, summed by the optimizer)
    if the scalar bool ``gate`` holds (it must be identical on every replica, e.g. computed from
    all-reduced values); otherwise the variables and the optimizer's state are left as they were.
    Call in replica context (``train_step``) with a built optimizer."""
    context = tf.distribute.get_replica_context()
    if context is None:
        raise RuntimeError("apply_if must be called in a replica context, e.g. inside train_step")
    stored = [_storage(v) for v in list(variables) + list(optimizer.variables)]
    copies = [tf.identity(v.read_value()) for v in stored]
    with tf.control_dependencies(copies):
        optimizer.apply([tf.where(tf.math.is_finite(g), g, tf.zeros_like(g)) for g in gradients], variables)

    def restore(distribution, replica_copies, replica_gate):
        keep = distribution.experimental_local_results(replica_gate)[0]
        for variable, copy in zip(stored, replica_copies):
            distribution.extended.update(
                variable, lambda v, c: v.assign(tf.where(keep, v, c)), args=(copy,), group=False
            )

    with tf.control_dependencies([v.read_value() for v in stored]):
        context.merge_call(restore, args=(copies, gate))
