"""Convert BraTS 2018 to an lda_tf dataset by the meta paper's protocol (section 5.1).

    python data_prep/brats.py \
        --brats_train_dir=/data/MICCAI_BraTS_2018_Data_Training \
        --brats_val_dir=/data/MICCAI_BraTS_2018_Data_Validation \
        --modality=t1 --output_dir=data/brats_t1

Defaults are the paper's: 30 train / 6 test HGG patients from the training release (disjoint),
15 validation patients from the validation release, the 10 central axial slices, crop 160x180,
per-slice max normalisation (300 / 150 / 60 images). See lda_tf/data/brats.py.
"""

from absl import app, flags

from lda_tf.cli import flag_values, is_size_pair, user_errors_exit
from lda_tf.data.brats import MODALITIES, BratsProtocol, convert_brats
from lda_tf.provenance import run_record

FLAGS = flags.FLAGS
flags.DEFINE_string("brats_train_dir", None, "BraTS 2018 training release root (holds HGG/ and LGG/).")
flags.DEFINE_string("brats_val_dir", None, "BraTS 2018 validation release root (case folders).")
flags.DEFINE_string("output_dir", None, "Directory to create with the converted dataset.")
flags.DEFINE_enum("modality", "t1", MODALITIES, "Which MR contrast to convert.")
flags.DEFINE_enum("grade", "HGG", ["HGG", "LGG"], "Training-release grade folder to draw train/test from.")
flags.DEFINE_integer("num_train", 30, "Training patients (from the training release).", lower_bound=1)
flags.DEFINE_integer("num_val", 15, "Validation patients (from the validation release).", lower_bound=1)
flags.DEFINE_integer("num_test", 6, "Test patients (training release, disjoint from train).", lower_bound=1)
flags.DEFINE_list("crop", ["160", "180"], "In-plane centre crop HEIGHT,WIDTH.")
flags.DEFINE_integer("num_slices", 10, "Adjacent central axial slices per volume.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of the patient choice.")
flags.DEFINE_bool("overwrite", False, "Replace an existing output directory.")
flags.mark_flags_as_required(["brats_train_dir", "brats_val_dir", "output_dir"])
flags.register_validator(
    "crop",
    is_size_pair,
    message="--crop must be two positive integers HEIGHT,WIDTH, e.g. 160,180",
)


@user_errors_exit
def main(argv):
    del argv
    protocol = BratsProtocol(
        modality=FLAGS.modality,
        grade=FLAGS.grade,
        num_train=FLAGS.num_train,
        num_val=FLAGS.num_val,
        num_test=FLAGS.num_test,
        crop=tuple(int(v) for v in FLAGS.crop),
        num_slices=FLAGS.num_slices,
        seed=FLAGS.seed,
    )
    manifest = convert_brats(
        FLAGS.brats_train_dir,
        FLAGS.brats_val_dir,
        FLAGS.output_dir,
        protocol,
        FLAGS.overwrite,
        provenance=run_record("data_prep/brats.py", flag_values()),
    )
    counts = {split: len(entry["patients"]) for split, entry in manifest["splits"].items()}
    print(
        f"wrote {FLAGS.output_dir}: patients {counts}, {protocol.num_slices} slices each, crop "
        f"{protocol.crop}"
    )


if __name__ == "__main__":
    app.run(main)
