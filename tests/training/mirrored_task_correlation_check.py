"""Run by test_task_correlation_distribution.py in a fresh process per model (two logical CPUs must
be configured before TensorFlow starts): Algorithm 1 with the look-ahead hypergradient, two steps
on one device and under MirroredStrategy over two, where each replica holds one task's pairs (so
the training gradients, the virtual step and V are sums over replicas). Prints the largest
relative difference of theta and of the logits C."""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from lda_tf import UnrolledLOA  # noqa: E402
from lda_tf.loa.task_specific import TaskSpecificUnrolled  # noqa: E402
from lda_tf.mri import MRISampling  # noqa: E402
from lda_tf.training.task_correlation import TaskCorrelationConfig, TaskCorrelationTrainer  # noqa: E402
from tests.training.helpers import TASKS, meta_batches  # noqa: E402


def after_two_steps(model: str, strategy) -> tuple[list, np.ndarray]:
    keras.utils.set_random_seed(0)
    with strategy.scope():
        # No branch to flip (residual policy) and a smooth g (relu_delta 0.1): float32 sums in another
        # order must not change the result beyond rounding (with a large virtual step at a kink of
        # the smoothed ReLU, eager and traced evaluations on one device already differed by 4 %).
        network = UnrolledLOA(
            MRISampling(name="measurement"), num_phases=2, policy="residual", relu_delta=0.1
        )
        if model == "matrix":
            network = TaskSpecificUnrolled.replicate(network, len(TASKS))
        trainer = TaskCorrelationTrainer(
            network,
            correlation=TaskCorrelationConfig(model=model),
            num_train_tasks=len(TASKS),
            num_validation_tasks=len(TASKS),
        )
        trainer.compile(keras.optimizers.Adam(1e-2), keras.optimizers.SGD(10.0))
    first, second = list(meta_batches().take(2))  # fixed in advance (see mirrored_check.py)
    data = tf.data.Dataset.from_tensors(first).concatenate(tf.data.Dataset.from_tensors(second))
    trainer.fit(data, epochs=1, steps_per_epoch=2, verbose=0)
    return [np.array(v.numpy()) for v in trainer.theta], np.array(trainer.task_correlation_logits.numpy())


model = sys.argv[1]
theta, logits = after_two_steps(model, tf.distribute.get_strategy())
theta_m, logits_m = after_two_steps(model, tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
result = {
    "theta": max(
        float(np.max(np.abs(a - b)) / (np.max(np.abs(a)) + 1e-12)) for a, b in zip(theta, theta_m) if a.size
    ),
    "logits": float(np.max(np.abs(logits - logits_m)) / (np.max(np.abs(logits)) + 1e-12)),
    "logits_moved": float(np.max(np.abs(logits))),
}
print("RESULT " + json.dumps(result))
