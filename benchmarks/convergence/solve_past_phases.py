"""Does a trained network hold its PSNR when iterated past its trained phases (issue 14)?

Runs ``lda_tf.loa.solve`` (LDA paper section 4.3.3: the last trained phase's step sizes, the
safeguarded ``meta`` iteration, eps lowered by the rule of Algorithm 1) for ``--iterations`` steps
after a trained MRI network's phases on the embedded sample's validation slices of one task, and
prints one JSON line: mean PSNR (``lda_tf.metrics.psnr``, the tables' definition) at the trained
phases, at the end, the lowest along the way and at a few checkpoints, and in how many iterations
``phi_eps`` rose. Decision: the stopping
rule ``sigma eps < eps_tol`` is disabled (``eps_tol`` below any reachable value) so that every
sample runs exactly ``--iterations`` steps; the question is what a long run does, not when it stops.

    python benchmarks/convergence/solve_past_phases.py --model=runs/demo/runs/meta_t1/model.keras \
        --task=radial:20 --task_index=1 --downsample=2 --iterations=100
"""

from __future__ import annotations

import json

import numpy as np
from absl import app, flags

flags.DEFINE_string("model", None, "A trained MRI network (.keras, e.g. make demo's meta_t1/model.keras).")
flags.DEFINE_string("task", "radial:20", "The sampling task of the measurements (lda_tf.data.parse_tasks).")
flags.DEFINE_integer("task_index", 1, "The task's index in the network's task list (its omega_i).")
flags.DEFINE_integer("downsample", 2, "Average the 160x180 sample slices by this factor (the demo's: 2).")
flags.DEFINE_integer("iterations", 100, "Iterations past the trained phases.", lower_bound=0)
flags.DEFINE_integer("images", 8, "Validation slices to reconstruct (the first N).", lower_bound=1)
flags.mark_flag_as_required("model")
FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    del argv
    import tensorflow as tf

    from lda_tf import outputs
    from lda_tf.data import parse_tasks
    from lda_tf.data.sample import load_sample
    from lda_tf.data.volumes import downsample
    from lda_tf.loa.solve import solve
    from lda_tf.metrics import psnr
    from lda_tf.mri import MRIInputs, simulate_kspace

    (task,) = parse_tasks(FLAGS.task)
    network = outputs.load_model(FLAGS.model)
    images = load_sample("val")[: FLAGS.images]
    if FLAGS.downsample > 1:
        images = downsample(images, FLAGS.downsample, "sample val")
    mask = tf.constant(np.broadcast_to(task.mask(images.shape[1:]), images.shape))
    inputs = MRIInputs(
        simulate_kspace(tf.constant(images), mask), mask, tf.fill([len(images)], FLAGS.task_index)
    )

    def observe(x: tf.Tensor) -> np.ndarray:
        return np.array([psnr(truth, image) for truth, image in zip(images, x.numpy())])  # the tables' PSNR

    result = solve(network, inputs, eps_tol=1e-30, max_iterations=FLAGS.iterations, observe=observe)
    mean_psnr = result.observations.mean(axis=1)  # [N + 1]: mean over the images, per iterate
    trained = result.trained_phases
    increases = int(np.sum(result.descent > 1e-6 * np.abs(result.energy[:-1])))
    checkpoints = [k for k in (1, 5, 10, 20, 50, 100, 200, 500) if k <= FLAGS.iterations]
    print(
        json.dumps(
            dict(
                model=FLAGS.model,
                task=FLAGS.task,
                images=len(images),
                trained_phases=trained,
                iterations=FLAGS.iterations,
                psnr_zero_filled=float(mean_psnr[0]),
                psnr_trained=float(mean_psnr[trained]),
                psnr_end=float(mean_psnr[-1]),
                psnr_min_after=float(mean_psnr[trained:].min()),
                psnr_max_after=float(mean_psnr[trained:].max()),
                psnr_at={k: float(mean_psnr[trained + k]) for k in checkpoints},
                eps_end=float(result.eps[-1].mean()),
                phi_increases=increases,
            )
        )
    )


if __name__ == "__main__":
    app.run(main)
