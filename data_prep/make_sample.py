"""Regenerate the embedded sample dataset (lda_tf/data/sample) from nilearn's bundled template.

    pip install -e ".[sample]"      # nilearn is needed here only
    python data_prep/make_sample.py --overwrite

Bit-for-bit reproducible: the output has no timestamps and the same inputs give the same bytes
(the manifest records the template's sha256 and the nilearn version).
"""

from pathlib import Path

import numpy as np
from absl import app, flags

from lda_tf.cli import user_errors_exit
from lda_tf.data import sample
from lda_tf.data.shards import SplitSlices, normalise_slice, sha256, write_dataset
from lda_tf.data.volumes import center_crop, load_nifti

FLAGS = flags.FLAGS
flags.DEFINE_string("output_dir", str(sample.SAMPLE_DIR), "Where to write the sample dataset.")
flags.DEFINE_bool("overwrite", False, "Replace an existing output directory.")

TEMPLATE = "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
LICENSE_TEXT = """\
Sample images: axial slices of the MNI ICBM152 2009a nonlinear symmetric T1-weighted template, as
bundled with nilearn ({template}), cropped to 160x180 and normalised per slice by lda_tf's
data_prep/make_sample.py.

Template copyright notice (McConnell Brain Imaging Centre):

Copyright (C) 1993-2009 Louis Collins, McConnell Brain Imaging Centre, Montreal Neurological
Institute, McGill University. Permission to use, copy, modify, and distribute this software and its
documentation for any purpose and without fee is hereby granted, provided that the above copyright
notice appear in all copies. The authors and McGill University make no representations about the
suitability of this software for any purpose. It is provided "as is" without express or implied
warranty. The authors are not responsible for any data loss, equipment damage, property loss, or
injury to subjects or patients resulting from the use or misuse of this software package.

References: V. Fonov, A. Evans, R. McKinstry, C. Almli, D. Collins, "Unbiased nonlinear average
age-appropriate brain templates from birth to adulthood", NeuroImage 47 S102 (2009); V. Fonov et
al., "Unbiased average age-appropriate atlases for pediatric studies", NeuroImage 54(1) (2011);
D. L. Collins et al., "ANIMAL+INSECT: Improved Cortical Structure Segmentation", IPMI (1999).
Source: http://www.bic.mni.mcgill.ca/ServicesAtlases/ICBM152NLin2009
"""


@user_errors_exit
def main(argv):
    del argv
    import nilearn

    template = Path(nilearn.__file__).parent / "datasets" / "data" / TEMPLATE
    volume = load_nifti(template)
    splits = {}
    for split, (first, last) in sample.SLICE_RANGES.items():
        indices = list(range(first, last))
        slices = center_crop(volume[..., indices].transpose(2, 0, 1), sample.CROP, str(template))
        images = [normalise_slice(image, f"{template} slice {z}") for image, z in zip(slices, indices)]
        splits[split] = SplitSlices(
            images=np.stack(images), patients=["mni152_2009a"] * len(indices), slices=indices
        )
    manifest = {
        "dataset": "sample_mni152_2009a_t1",
        "protocol": {
            "slice_ranges": sample.SLICE_RANGES,
            "crop": list(sample.CROP),
            "axis": "axial (last array axis)",
        },
        "source": {"file": TEMPLATE, "sha256": sha256(template), "nilearn_version": nilearn.__version__},
        "tool": "data_prep/make_sample.py",
    }
    output = write_dataset(FLAGS.output_dir, splits, manifest, overwrite=FLAGS.overwrite, compression="GZIP")
    (output / "LICENSE").write_text(LICENSE_TEXT.format(template=TEMPLATE))
    print(f"wrote {output}: " + ", ".join(f"{split} {len(data.slices)}" for split, data in splits.items()))


if __name__ == "__main__":
    app.run(main)
