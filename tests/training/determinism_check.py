"""Run twice by test_determinism.py, each time in a fresh process: two meta (bilevel) and two
conventional training steps at the demo's image size (80x90, 3 phases, four radial tasks),
printing a hash of every weight and logged metric. ``default`` instead of ``deterministic`` runs
with TensorFlow's defaults: there the bilevel step's second-order sums came out differently in
each process at this size (Grappler's arithmetic optimizer; lda_tf/determinism.py), though not at
the 16x18 of the other training tests. An optional second argument sets how function graphs are
optimised first (lda_tf/runtime.py): ``graph=tensorflow`` as TensorFlow does by default (constant
folding of function graphs on, all of Grappler's passes), ``graph=training`` as the training runs
do (both off); the result then records the settings read back from the runtime."""

import hashlib
import json
import sys

import keras
import numpy as np

from lda_tf import UnrolledLOA, determinism, runtime
from lda_tf.data import cross_task_batches, parse_tasks, single_task_batches
from lda_tf.data.sample import load_sample
from lda_tf.mri import MRISampling
from lda_tf.training import BilevelConfig, LOATrainer

TASKS = parse_tasks("radial:10,radial:20,radial:30,radial:40")


def images(split: str) -> np.ndarray:
    return load_sample(split)[:8, ::2, ::2]  # 80 x 90


def digest(arrays) -> str:
    hasher = hashlib.sha256()
    for array in arrays:
        hasher.update(np.ascontiguousarray(array).tobytes())
    return hasher.hexdigest()[:16]


def train(mode: str) -> dict:
    keras.utils.set_random_seed(0)
    network = UnrolledLOA.meta_paper(
        MRISampling(name="measurement"), num_tasks=len(TASKS) if mode == "meta" else 0, num_phases=3
    )
    trainer = LOATrainer(network, mode, BilevelConfig())
    trainer.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    if mode == "meta":
        data = cross_task_batches(images("train"), images("val"), TASKS, seed=0).take(2)
    else:
        data = single_task_batches(images("train"), TASKS[0], 4, shuffle=False).take(2)
    history = trainer.fit(data, epochs=1, steps_per_epoch=2, verbose=0).history
    return {
        "weights": digest(v.numpy() for v in network.weights),
        "metrics": digest(np.asarray(history[name], np.float64) for name in sorted(history)),
    }


if len(sys.argv) > 2:
    tensorflow_default = {"graph=tensorflow": True, "graph=training": False}[sys.argv[2]]
    assert runtime.set_graph_optimization(tensorflow_default, tensorflow_default)
determinism.configure(sys.argv[1] == "deterministic", seed=0)
result = {mode: train(mode) for mode in ("meta", "conventional")}
result["graph"] = runtime.graph_optimization()._asdict()
print("RESULT " + json.dumps(result, sort_keys=True))
