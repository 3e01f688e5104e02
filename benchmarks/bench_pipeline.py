"""Input pipeline throughput next to the model's consumption, at the paper's cross-task batch.

    python benchmarks/bench_pipeline.py                       # embedded sample, 4 radial tasks
    python benchmarks/bench_pipeline.py --dataset_dir=data/brats_t1 --repeats=5

Prints one JSON line per measurement: the cross-task pipeline's batches per second (J_tr = J_val = 1
per task: 4 + 4 = 8 images of 160x180), and the consumer's (the meta paper's 11-phase network
forward pass on the 8 images, in a compiled tf.function), and their ratio. The pipeline should be
at least 10x faster than what consumes it.
"""

import json
import time

import numpy as np
import tensorflow as tf
from absl import app, flags

from lda_tf import UnrolledLOA
from lda_tf.data import META_TRAINING_TASKS, cross_task_batches, load_images
from lda_tf.data.sample import sample_dir
from lda_tf.mri import MRIInputs, MRISampling

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset_dir", None, "Converted dataset; default: the embedded sample.")
flags.DEFINE_integer("pipeline_batches", 200, "Batches timed per pipeline repeat.", lower_bound=1)
flags.DEFINE_integer("consumer_steps", 3, "Forward passes timed per consumer repeat.", lower_bound=1)
flags.DEFINE_integer("repeats", 3, "Repeats; the median is reported with min and max.", lower_bound=1)
flags.DEFINE_integer("num_phases", 11, "Phases of the consuming network.", lower_bound=1)


def _rate(run, count: int, repeats: int) -> dict:
    run(1)  # warm-up: tracing, autotuning, first fill of buffers
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(count)
        rates.append(count / (time.perf_counter() - start))
    return {
        "median_per_s": float(np.median(rates)),
        "min_per_s": float(min(rates)),
        "max_per_s": float(max(rates)),
    }


def main(argv):
    del argv
    dataset_dir = FLAGS.dataset_dir or sample_dir()
    dataset = cross_task_batches(
        load_images(dataset_dir, "train"), load_images(dataset_dir, "val"), META_TRAINING_TASKS
    )
    batches = iter(dataset)

    def pull(count):
        for _ in range(count):
            next(batches)

    pipeline = _rate(pull, FLAGS.pipeline_batches, FLAGS.repeats)
    print(json.dumps({"measure": "pipeline_cross_task_batches", "batch_images": 8, **pipeline}))

    model = UnrolledLOA.meta_paper(
        MRISampling(name="measurement"), num_tasks=len(META_TRAINING_TASKS), num_phases=FLAGS.num_phases
    )
    forward = tf.function(lambda inputs: model(inputs))
    batch = next(batches)
    inputs = MRIInputs(
        *(
            tf.concat([getattr(batch[half][0], field) for half in ("train", "val")], axis=0)
            for field in MRIInputs._fields
        )
    )

    def consume(count):
        for _ in range(count):
            forward(inputs).numpy()

    consumer = _rate(consume, FLAGS.consumer_steps, FLAGS.repeats)
    print(
        json.dumps(
            {"measure": "consumer_forward_pass", "batch_images": 8, "phases": FLAGS.num_phases, **consumer}
        )
    )
    print(
        json.dumps(
            {
                "measure": "pipeline_over_consumer",
                "ratio": pipeline["median_per_s"] / consumer["median_per_s"],
            }
        )
    )


if __name__ == "__main__":
    app.run(main)
