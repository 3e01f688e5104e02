"""Reproduce the tables of the meta paper (--paper=meta, lda_tf/papers/meta.py lists the steps) or the
tables and figures of the LDA paper (--paper=lda, lda_tf/papers/lda/reproduce.py) end to end.

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

Re-running the same command resumes (finished training runs are reused); --overwrite retrains this
table's runs.
Watch training with: tensorboard --logdir <output_dir>/runs
"""

from absl import app, flags

from lda_tf.cli import user_errors_exit
from lda_tf.papers.lda.profiles import PROFILES as LDA_PROFILES
from lda_tf.papers.lda.reproduce import LDAReproduction
from lda_tf.papers.meta import PROFILES, Reproduction

FLAGS = flags.FLAGS
flags.DEFINE_enum(
    "paper",
    "meta",
    ["meta", "lda"],
    "meta: the meta-learning paper's Tables 1-5 (BraTS); lda: the LDA paper's Tables 1-5 and Figures 6-7.",
)
flags.DEFINE_enum(
    "table", None, ["1", "2", "3", "4", "5"], "Which table of the chosen paper (--paper=meta: default 1)."
)
flags.DEFINE_enum(
    "figure",
    None,
    ["6", "7"],
    "--paper=lda only: Figure 6 (GD-Net/AGD-Net/LDA versus phases) or 7 "
    "(convergence past the trained phases).",
)
flags.DEFINE_enum(
    "profile",
    "quick",
    sorted(set(PROFILES) | set(LDA_PROFILES)),
    "paper: the paper's settings; quick: scaled down for a CPU; smoke: checks the chain only.",
)
flags.DEFINE_string("output_dir", None, "Directory for data, runs, tables and figures.")
flags.DEFINE_string(
    "brats_dir",
    None,
    "--paper=meta: raw BraTS 2018, the folder holding "
    "MICCAI_BraTS_2018_Data_Training/ and MICCAI_BraTS_2018_Data_Validation/.",
)
flags.DEFINE_string(
    "dataset_dir",
    None,
    "An already converted dataset (data_prep/): --paper=meta of the table's "
    "contrast; --paper=lda --table=3 the brain images for CS-MRI (default: the embedded sample).",
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
flags.DEFINE_integer("seed", 0, "Seed of initialisation and data order.")
flags.DEFINE_integer("verbose", 2, "Keras progress output: 0 silent, 1 progress bar, 2 one line per epoch.")
flags.DEFINE_bool(
    "overwrite",
    False,
    "Retrain the runs this experiment uses and rewrite its result folder (converted "
    "data and other experiments' runs are kept).",
)
flags.mark_flag_as_required("output_dir")
flags.register_validator("seed", lambda value: value >= 0, "--seed must be >= 0")


def _check_flags() -> None:
    if FLAGS.table and FLAGS.figure:
        raise ValueError("give --table or --figure, not both")
    if FLAGS.paper == "lda" and not (FLAGS.table or FLAGS.figure):
        raise ValueError("--paper=lda needs --table=1..5 or --figure=6|7")
    if FLAGS.paper == "meta":
        if FLAGS.figure or FLAGS.train_dir or FLAGS.test_dir:
            raise ValueError("--figure, --train_dir and --test_dir belong to --paper=lda")
    elif FLAGS.brats_dir:
        raise ValueError(
            "--brats_dir belongs to --paper=meta; for --paper=lda --table=3 convert BraTS with "
            "data_prep/brats.py and pass --dataset_dir"
        )


def _run_meta() -> None:
    reproduction = Reproduction(
        int(FLAGS.table or 1),
        FLAGS.profile,
        FLAGS.output_dir,
        FLAGS.brats_dir,
        FLAGS.dataset_dir,
        FLAGS.seed,
        FLAGS.overwrite,
        FLAGS.verbose,
    )
    result = reproduction.run()
    print(result["markdown"])
    print(f"table:  {result['table_markdown']} (and {result['table_csv'].name})")
    print(f"figure: {result['figure']}")
    print(f"per-image metrics: {result['per_image']}")
    print(f"TensorBoard logs: {result['logs']}  (make tensorboard LOGDIR={result['logs']})")


def _run_lda() -> None:
    experiment = f"table{FLAGS.table}" if FLAGS.table else f"figure{FLAGS.figure}"
    reproduction = LDAReproduction(
        experiment,
        FLAGS.profile,
        FLAGS.output_dir,
        FLAGS.train_dir,
        FLAGS.test_dir,
        FLAGS.dataset_dir,
        FLAGS.seed,
        FLAGS.overwrite,
        FLAGS.verbose,
    )
    result = reproduction.run()
    print(result["markdown"])
    print(f"table:  {result['table_markdown']}")
    if "figure" in result:
        print(f"figure: {result['figure']}")
    print(f"per-image results: {result['per_image']}")
    print(f"TensorBoard logs: {result['logs']}  (make tensorboard LOGDIR={result['logs']})")


@user_errors_exit
def main(argv):
    del argv
    _check_flags()
    _run_meta() if FLAGS.paper == "meta" else _run_lda()


if __name__ == "__main__":
    app.run(main)
