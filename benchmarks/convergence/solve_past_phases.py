"""Does a trained network hold its PSNR when iterated past its trained phases (issue 14)?

Runs ``lda_tf.loa.solve`` (LDA paper section 4.3.3: the last trained phase's step sizes, the
safeguarded ``meta`` iteration, eps lowered by the rule of Algorithm 1) for ``--iterations`` steps
after a trained MRI network's phases on the embedded sample's validation slices of one task, and
prints one JSON line: mean PSNR (``lda_tf.metrics.psnr``, the tables' definition) at the trained
phases, at the end, the lowest along the way and at a few checkpoints, and in how many iterations
``phi_eps`` rose. Decision: the stopping rule ``sigma eps < eps_tol`` is disabled (``eps_tol``
below any reachable value) so that every sample runs exactly ``--iterations`` steps; the question
is what a long run does, not when it stops.

The task weight (or U-LDA domain) is chosen as ``experiments/reconstruct.py`` chooses it: the
position of ``--task`` among the tasks in the model's ``config.json``, or ``--task_index`` /
``--domain``; ``--downsample`` defaults to the one the model was trained at.

    python benchmarks/convergence/solve_past_phases.py --model=runs/demo/runs/meta_t1/model.keras \
        --task=radial:20 --iterations=100
"""

from __future__ import annotations

import json

import numpy as np
from absl import app, flags

from lda_tf.cli import user_errors_exit

flags.DEFINE_string("model", None, "A trained MRI network (.keras, e.g. make demo's meta_t1/model.keras).")
flags.DEFINE_string("task", "radial:20", "The sampling task of the measurements (lda_tf.data.parse_tasks).")
flags.DEFINE_integer("task_index", None, "Networks with task weights: the task i (sigma(omega_i)) to use.")
flags.DEFINE_integer("domain", None, "U-LDA networks: the domain group to use.")
flags.DEFINE_integer(
    "downsample",
    None,
    "Average the 160x180 sample slices by this factor (default: the model's config.json, else 1).",
    lower_bound=1,
)
flags.DEFINE_integer("iterations", 100, "Iterations past the trained phases.", lower_bound=0)
flags.DEFINE_integer("images", 8, "Validation slices to reconstruct (the first N).", lower_bound=1)
flags.mark_flag_as_required("model")
FLAGS = flags.FLAGS


@user_errors_exit
def main(argv: list[str]) -> None:
    del argv
    import tensorflow as tf

    from lda_tf import outputs
    from lda_tf.data import parse_tasks
    from lda_tf.data.sample import load_sample
    from lda_tf.data.volumes import downsample
    from lda_tf.evaluation import training_settings
    from lda_tf.loa.model import UnrolledLOA
    from lda_tf.loa.solve import solve
    from lda_tf.metrics import psnr
    from lda_tf.mri import MRIInputs, MRISampling, simulate_kspace
    from lda_tf.reconstruction import task_index_for

    tasks = parse_tasks(FLAGS.task)
    if len(tasks) != 1:
        raise ValueError(f"--task names one task; got {FLAGS.task}")
    network = outputs.load_model(FLAGS.model)
    if not (isinstance(network, UnrolledLOA) and isinstance(network.measurement, MRISampling)):
        raise ValueError(f"--model {FLAGS.model}: not an MRI UnrolledLOA network; solve iterates one")
    settings = training_settings(FLAGS.model)
    recorded = parse_tasks(settings["tasks"]) if settings.get("tasks") else []
    index = task_index_for(network, recorded, tasks[0], FLAGS.task_index, FLAGS.domain)
    factor = FLAGS.downsample or int(settings.get("downsample") or 1)
    images = load_sample("val")[: FLAGS.images]
    if factor > 1:
        images = downsample(images, factor, "sample val")
    mask = tf.constant(np.broadcast_to(tasks[0].mask(images.shape[1:]), images.shape))
    inputs = MRIInputs(
        simulate_kspace(tf.constant(images), mask),
        mask,
        None if index is None else tf.fill([len(images)], index),
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
                task_index=index,
                downsample=factor,
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
