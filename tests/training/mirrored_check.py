"""Run by test_distribution.py in a fresh process per mode: two logical CPUs must be configured
before TensorFlow starts, and a second MirroredStrategy in one process was seen to mismatch its
collectives with the first's. Prints the largest relative difference between the weights after
the same steps on one device and under MirroredStrategy over two. Arguments: the mode, and
``loop`` to run the phases as one ``tf.while_loop`` (``UnrolledLOA(loop_phases=True)``)."""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from lda_tf import UnrolledLOA  # noqa: E402
from lda_tf.data import single_task_batches  # noqa: E402
from lda_tf.mri import MRISampling  # noqa: E402
from lda_tf.training import BilevelConfig, LOATrainer  # noqa: E402
from tests.training.helpers import TASKS, images, meta_batches  # noqa: E402


def weights_after(mode: str, strategy, loop_phases: bool) -> list:
    keras.utils.set_random_seed(0)
    with strategy.scope():
        network = UnrolledLOA(
            MRISampling(name="measurement"),
            num_phases=2,
            num_tasks=0 if mode == "conventional" else len(TASKS),
            loop_phases=loop_phases,
        )
        trainer = LOATrainer(network, mode, BilevelConfig(lambda0=1e-2, delta0=1e-12, delta_tol=0.0))
        trainer.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
    if mode == "meta":
        # Two different cross-task batches (2 tasks x (1 train + 1 val): one of each per replica),
        # fixed in advance: a reshuffling dataset was seen to yield other later batches inside
        # fit under a strategy than on one device, which is a different data order, not a
        # different update.
        first, second = list(meta_batches().take(2))
        data = tf.data.Dataset.from_tensors(first).concatenate(tf.data.Dataset.from_tensors(second))
    else:
        task_index = 1 if mode == "adaptation" else 0
        # Two different batches of 4: each global batch must be split across the replicas.
        data = single_task_batches(
            images("train", 8), TASKS[1], 4, task_index=task_index, shuffle=False
        ).take(2)
    trainer.fit(data, epochs=1, steps_per_epoch=2, verbose=0)
    return [np.array(v.numpy()) for v in network.trainable_variables]


results = {}
loop = sys.argv[2:3] == ["loop"]
for mode in sys.argv[1:2]:
    single = weights_after(mode, tf.distribute.get_strategy(), loop)
    mirrored = weights_after(mode, tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), loop)
    results[mode] = max(
        float(np.max(np.abs(a - b)) / (np.max(np.abs(a)) + 1e-12)) for a, b in zip(single, mirrored) if a.size
    )
print("RESULT " + json.dumps(results))
