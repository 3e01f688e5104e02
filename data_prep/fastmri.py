"""Convert fastMRI HDF5 volumes (single- or multi-coil, knee or brain) to an lda_tf dataset.

    python data_prep/fastmri.py --input_dir=/data/knee_singlecoil_train --output_dir=data/fastmri_knee

Ground truth: the shipped magnitude reconstruction (reconstruction_esc for single-coil,
reconstruction_rss otherwise), centre-cropped to 256x256, max-normalised per slice; files split
70/15/15 into train/val/test by a seeded permutation. See lda_tf/data/fastmri.py.
"""

from absl import app, flags

from lda_tf.cli import flag_values, is_size_pair, user_errors_exit
from lda_tf.data.fastmri import TARGETS, convert_fastmri
from lda_tf.provenance import run_record

FLAGS = flags.FLAGS
flags.DEFINE_string("input_dir", None, "Directory of fastMRI .h5 files.")
flags.DEFINE_string("output_dir", None, "Directory to create with the converted dataset.")
flags.DEFINE_list("size", ["256", "256"], "Centre crop HEIGHT,WIDTH of the ground truth.")
flags.DEFINE_enum(
    "target", "auto", TARGETS, "Ground truth: reconstruction_esc, _rss, or auto (esc if present)."
)
flags.DEFINE_integer("skip_edge_slices", 0, "Slices to drop at each end of every volume.", lower_bound=0)
flags.DEFINE_list("split_fractions", ["0.7", "0.15", "0.15"], "Fractions of files for train,val,test.")
flags.DEFINE_integer("seed", 0, "Seed of the file split.")
flags.DEFINE_bool("overwrite", False, "Replace an existing output directory.")
flags.mark_flags_as_required(["input_dir", "output_dir"])
flags.register_validator(
    "size",
    is_size_pair,
    message="--size must be two positive integers HEIGHT,WIDTH, e.g. 256,256",
)

# --split_fractions and --seed are checked by convert_fastmri before any work (error: --flag ..., exit 2).


@user_errors_exit
def main(argv):
    del argv
    manifest = convert_fastmri(
        FLAGS.input_dir,
        FLAGS.output_dir,
        size=tuple(int(v) for v in FLAGS.size),
        target=FLAGS.target,
        skip_edge_slices=FLAGS.skip_edge_slices,
        fractions=FLAGS.split_fractions,
        seed=FLAGS.seed,
        overwrite=FLAGS.overwrite,
        provenance=run_record("data_prep/fastmri.py", flag_values()),
    )
    counts = {split: len(entry["patients"]) for split, entry in manifest["splits"].items()}
    print(f"wrote {FLAGS.output_dir}: files per split {counts}")


if __name__ == "__main__":
    app.run(main)
