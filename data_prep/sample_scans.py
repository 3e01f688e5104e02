"""Write the embedded sample as scans to reconstruct: a NIfTI volume and a fastMRI-format file.

    python data_prep/sample_scans.py --output_dir=runs/demo/scans --downsample=2

sample_t1.nii.gz: the test split's 20 slices as a volume (MNI152 T1 template, not a patient);
sample_t1.h5: the same slices as a fully sampled single-coil fastMRI file (kspace, ISMRMRD header,
reconstruction_esc). --downsample=2 gives the 80x90 images the demo's networks were trained on.
Both are inputs of experiments/reconstruct.py (README, "Use a trained network").
"""

import json

from absl import app, flags

from lda_tf.atomic import atomic_directory
from lda_tf.cli import flag_values, user_errors_exit
from lda_tf.data.sample import write_sample_scans
from lda_tf.provenance import run_record

FLAGS = flags.FLAGS
flags.DEFINE_string("output_dir", None, "Directory to create with the scans.")
flags.DEFINE_enum("split", "test", ["train", "val", "test"], "Which slices of the sample.")
flags.DEFINE_integer("downsample", 1, "Average DxD pixel blocks (2: the demo's 80x90).", lower_bound=1)
flags.DEFINE_bool("overwrite", False, "Replace an existing output directory (one this binary wrote).")
flags.mark_flags_as_required(["output_dir"])


@user_errors_exit
def main(argv):
    del argv
    with atomic_directory(FLAGS.output_dir, FLAGS.overwrite, marker="config.json") as staged:
        written = write_sample_scans(staged, FLAGS.split, FLAGS.downsample)
        record = run_record("data_prep/sample_scans.py", flag_values())
        (staged / "config.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"written: {', '.join(f'{FLAGS.output_dir}/{path.name}' for path in written)}")


if __name__ == "__main__":
    app.run(main)
