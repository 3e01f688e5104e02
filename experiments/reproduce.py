"""Reproduce Table 1-5 of the meta paper end to end (lda_tf/reproduce.py lists the steps).

    # The demo (what `make demo` runs): Table 1 in miniature on the embedded sample data, on a CPU:
    python experiments/reproduce.py --table=1 --profile=quick --output_dir=runs/demo
    # Table 1 by the paper's protocol from raw BraTS 2018 (converted into the output directory):
    python experiments/reproduce.py --table=1 --profile=paper --brats_dir=/data/brats2018 \
        --output_dir=runs/table1

Re-running the same command resumes (finished training runs are reused); --overwrite retrains this
table's runs.
Watch training with: tensorboard --logdir <output_dir>/runs
"""

from absl import app, flags

from lda_tf.cli import user_errors_exit
from lda_tf.reproduce import PROFILES, TABLES, Reproduction

FLAGS = flags.FLAGS
flags.DEFINE_enum("table", "1", [str(number) for number in TABLES], "Which table of the meta paper.")
flags.DEFINE_enum("profile", "quick", list(PROFILES), "paper: SPEC 4's values; quick: scaled down for a CPU.")
flags.DEFINE_string("output_dir", None, "Directory for data, runs, tables and figures.")
flags.DEFINE_string("brats_dir", None, "Raw BraTS 2018: the folder holding MICCAI_BraTS_2018_Data_Training/ and "
                    "MICCAI_BraTS_2018_Data_Validation/.")
flags.DEFINE_string("dataset_dir", None, "An already converted dataset (data_prep/) of the table's contrast.")
flags.DEFINE_integer("seed", 0, "Seed of initialisation and data order.")
flags.DEFINE_integer("verbose", 2, "Keras progress output: 0 silent, 1 progress bar, 2 one line per epoch.")
flags.DEFINE_bool("overwrite", False, "Retrain the runs this table uses and rewrite its table<N>/ (converted data and "
                  "other tables' runs are kept).")
flags.mark_flag_as_required("output_dir")


@user_errors_exit
def main(argv):
    del argv
    reproduction = Reproduction(int(FLAGS.table), FLAGS.profile, FLAGS.output_dir, FLAGS.brats_dir, FLAGS.dataset_dir,
                                FLAGS.seed, FLAGS.overwrite, FLAGS.verbose)
    result = reproduction.run()
    print(result["markdown"])
    print(f"table:  {result['table_markdown']} (and {result['table_csv'].name})")
    print(f"figure: {result['figure']}")
    print(f"per-image metrics: {result['per_image']}")
    print(f"TensorBoard logs: {result['logs']}  (make tensorboard LOGDIR={result['logs']})")


if __name__ == "__main__":
    app.run(main)
