"""Reproduce a paper's table or figure end to end: --paper=meta (the meta paper's Tables 1-5,
lda_tf/papers/meta.py lists the steps), --paper=lda (the LDA paper's Tables 1-5 and Figures 6-7,
lda_tf/papers/lda/reproduce.py), --paper=ulda (the U-LDA paper's Tables 1-6 and Figures 6-7,
lda_tf/papers/ulda/reproduce.py) or --paper=task_correlation (lda_tf/papers/task_correlation.py).
The papers are listed in lda_tf/papers/registry.py.

    # The demo (what `make demo` runs): Table 1 in miniature on the embedded sample data, on a CPU:
    python experiments/reproduce.py --table=1 --profile=quick --output_dir=runs/demo
    # Table 1 by the paper's protocol from raw BraTS 2018 (converted into the output directory):
    python experiments/reproduce.py --table=1 --profile=paper --brats_dir=/data/brats2018 \
        --output_dir=runs/table1

    # The LDA paper: Table 1 (block CS of natural images), quick CPU profile, offline default images:
    python experiments/reproduce.py --paper=lda --table=1 --profile=quick --output_dir=runs/lda
    # ... with your own images (the paper: the 91-image set and Set11), paper profile:
    python experiments/reproduce.py --paper=lda --table=1 --profile=paper --train_dir=/data/91images \
        --test_dir=/data/Set11 --output_dir=runs/lda
    # Figure 6 (GD-Net / AGD-Net / LDA) and Figure 7 (convergence past the trained phases):
    python experiments/reproduce.py --paper=lda --figure=6 --profile=quick --output_dir=runs/lda

    # The U-LDA paper: Table 2 (cross-sampling) on the embedded sample, quick CPU profile, offline:
    python experiments/reproduce.py --paper=ulda --table=2 --profile=quick --output_dir=runs/ulda
    # ... by the paper's protocol on converted datasets (data_prep/fastmri.py, data_prep/images.py):
    python experiments/reproduce.py --paper=ulda --table=1 --profile=paper --data_root=data/ulda \
        --output_dir=runs/ulda

    # Task-correlation meta-learning (paper 004; our experiment, no published numbers):
    python experiments/reproduce.py --paper=task_correlation --profile=quick --output_dir=runs/tc

Re-running the same command resumes (finished training runs are reused); --overwrite retrains this
table's runs.
Watch training with: tensorboard --logdir <output_dir>/runs
"""

from absl import app, flags

from lda_tf.checks import check_choice
from lda_tf.cli import user_errors_exit
from lda_tf.papers.registry import PAPERS

FLAGS = flags.FLAGS


def _numbers(kind: str, papers=None) -> list[str]:
    """The numbers N of the experiments ``<kind>N`` of ``papers`` (default: all)."""
    found = {
        name.removeprefix(kind)
        for paper in papers or PAPERS.values()
        for name in paper.experiments
        if name.startswith(kind)
    }
    return sorted(found, key=int)


def _range(numbers: list[str]) -> str:
    values = [int(n) for n in numbers]
    if not values:
        return ""
    contiguous = len(values) > 2 and values == list(range(values[0], values[-1] + 1))
    return f"{values[0]}..{values[-1]}" if contiguous else "|".join(numbers)


def _owners(option: str) -> str:
    return "|".join(name for name, paper in PAPERS.items() if option in paper.data_options)


flags.DEFINE_enum(
    "paper", "meta", list(PAPERS), "; ".join(f"{name}: {paper.description}" for name, paper in PAPERS.items())
)
flags.DEFINE_enum(
    "table",
    None,
    _numbers("table"),
    "Which table of the chosen paper ("
    + "; ".join(
        f"--paper={name}: {_range(_numbers('table', [paper]))}"
        + (f", default {paper.default_experiment.removeprefix('table')}" if paper.default_experiment else "")
        for name, paper in PAPERS.items()
        if _numbers("table", [paper])
    )
    + ").",
)
flags.DEFINE_enum(
    "figure",
    None,
    _numbers("figure"),
    "Which figure of the chosen paper ("
    + "; ".join(
        f"--paper={name}: "
        + ", ".join(f"{n} ({paper.experiments['figure' + n]})" for n in _numbers("figure", [paper]))
        for name, paper in PAPERS.items()
        if _numbers("figure", [paper])
    )
    + ").",
)
flags.DEFINE_enum(
    "profile",
    "quick",
    sorted({name for paper in PAPERS.values() for name in paper.profiles}),
    "paper: the paper's settings; quick: scaled down for a CPU; smoke: checks the chain only.",
)
flags.DEFINE_string("output_dir", None, "Directory for data, runs, tables and figures.")
flags.DEFINE_string(
    "brats_dir",
    None,
    "--paper=meta: raw BraTS 2018, the folder holding "
    "MICCAI_BraTS_2018_Data_Training/ and MICCAI_BraTS_2018_Data_Validation/ (for --paper=lda "
    "--table=3, convert it with data_prep/brats.py and pass --dataset_dir).",
)
flags.DEFINE_string(
    "dataset_dir",
    None,
    "An already converted dataset (data_prep/): --paper=meta of the table's "
    "contrast; --paper=lda --table=3 the brain images for CS-MRI; --paper=task_correlation its images "
    "(default: the embedded sample).",
)
flags.DEFINE_string(
    "train_dir",
    None,
    "--paper=lda: folder of training images (the paper: 91 images or BSD500); "
    "default: images shipped with scikit-image.",
)
flags.DEFINE_string(
    "test_dir",
    None,
    "--paper=lda: folder of test images (the paper: Set11); default: other "
    "scikit-image images, labelled 'not Set11'.",
)
flags.DEFINE_string(
    "data_root",
    None,
    "--paper=ulda: the folder holding the converted datasets (fastmri_brain/, fastmri_knee/, cardiac/, "
    "prostate/, imagenet/, cifar10/, stanford2d/; lda_tf/papers/ulda/data.py); default: offline "
    "stand-ins (quick and smoke profiles).",
)
flags.DEFINE_bool(
    "target_overlap",
    False,
    "--paper=ulda: cross-sampling targets train on the sources' first images, as the authors' release "
    "does (default: disjoint images); runs and results go to runs_overlap/ and ulda_<experiment>_overlap/.",
)
flags.DEFINE_integer("seed", 0, "Seed of initialisation and data order.")
flags.DEFINE_integer(
    "seeds",
    1,
    "--paper=meta: train the learned methods with seeds seed, seed+1, ... and report mean +- std "
    "over seeds (the seed-to-seed spread a gain is compared with).",
)
flags.DEFINE_bool(
    "deterministic",
    True,
    "Bit-reproducible training and evaluation (TensorFlow's op determinism, lda_tf/determinism.py); "
    "--nodeterministic for speed.",
)
flags.DEFINE_integer("verbose", 2, "Keras progress output: 0 silent, 1 progress bar, 2 one line per epoch.")
flags.DEFINE_bool(
    "overwrite",
    False,
    "Retrain the runs this experiment uses and rewrite its result folder (converted "
    "data and other experiments' runs are kept).",
)
flags.mark_flag_as_required("output_dir")


def _reproduction():
    """The chosen paper's reproduction of the chosen experiment, from the flags."""
    if FLAGS.seed < 0:
        raise ValueError(f"--seed must be >= 0; got {FLAGS.seed}")
    if FLAGS.seeds < 1:
        raise ValueError(f"--seeds must be >= 1; got {FLAGS.seeds}")
    if FLAGS.table and FLAGS.figure:
        raise ValueError("give --table or --figure, not both")
    paper = PAPERS[FLAGS.paper]
    for option in dict.fromkeys(option for other in PAPERS.values() for option in other.data_options):
        if FLAGS[option].value and option not in paper.data_options:
            raise ValueError(f"--{option} belongs to --paper={_owners(option)}")
    experiment = (
        f"table{FLAGS.table}" if FLAGS.table else f"figure{FLAGS.figure}" if FLAGS.figure else None
    ) or paper.default_experiment
    if experiment is None:
        wanted = [f"--{kind}={_range(_numbers(kind, [paper]))}" for kind in ("table", "figure")]
        raise ValueError(
            f"--paper={FLAGS.paper} needs " + " or ".join(w for w in wanted if not w.endswith("="))
        )
    check_choice(experiment, paper.experiments, f"--table/--figure of --paper={FLAGS.paper}")
    check_choice(FLAGS.profile, paper.profiles, "--profile")
    return paper(
        experiment,
        FLAGS.profile,
        FLAGS.output_dir,
        seed=FLAGS.seed,
        overwrite=FLAGS.overwrite,
        verbose=FLAGS.verbose,
        deterministic=FLAGS.deterministic,
        seeds=FLAGS.seeds,
        **{option: FLAGS[option].value for option in paper.data_options},
    )


@user_errors_exit
def main(argv):
    del argv
    print(_reproduction().run().summary())


if __name__ == "__main__":
    app.run(main)
