"""Convert a folder of images or image arrays to an lda_tf dataset (U-LDA's non-fastMRI data:
cardiac, prostate, Stanford 2D FSE, ImageNet, CIFAR-10).

    # ImageNet (JPEGs in class folders): 600 random images, grey, centre-cropped square and resized
    python data_prep/images.py --input_dir=/data/imagenet/train --recursive --max_members=600 \
        --output_dir=data/ulda/imagenet
    # CIFAR-10 saved as one colour stack [N, 32, 32, 3] (.npy): each image its own member, enlarged
    python data_prep/images.py --input_dir=/data/cifar10_npy --split_by=image --max_members=600 \
        --output_dir=data/ulda/cifar10
    # A cine cardiac series in a MATLAB file (array `seq`, frames along the last axis)
    python data_prep/images.py --input_dir=/data/cardiac --key=seq --slice_axis=2 \
        --output_dir=data/ulda/cardiac

Every image: magnitude, grayscale (BT.601), centre crop (--fit=crop) or centre window resized
bicubically (--fit=resize) to --size (256x256), max-normalised; files (or with --split_by=image,
images) split 70/15/15 into train/val/test by a seeded permutation. See lda_tf/data/images.py.
"""

from absl import app, flags

from lda_tf.cli import flag_values, is_size_pair, user_errors_exit
from lda_tf.data.images import FITS, convert_images
from lda_tf.data.shards import read_manifest
from lda_tf.provenance import run_record

FLAGS = flags.FLAGS
flags.DEFINE_string(
    "input_dir", None, "Folder of images (PNG/JPEG/TIFF/BMP/PGM) or arrays (NPY/NIfTI/HDF5/MAT)."
)
flags.DEFINE_string("output_dir", None, "Directory to create with the converted dataset.")
flags.DEFINE_list("size", ["256", "256"], "Image size HEIGHT,WIDTH of the dataset.")
flags.DEFINE_enum("fit", "resize", FITS, "crop: centre crop; resize: centre window of the aspect, resized.")
flags.DEFINE_string("key", None, "HDF5/MAT: the array holding the images (default: the only one).")
flags.DEFINE_integer(
    "slice_axis", None, "Axis of 3D arrays along which the 2D images lie (default: NIfTI last, others 0)."
)
flags.DEFINE_enum("split_by", "file", ["file", "image"], "Split files (volumes stay whole) or single images.")
flags.DEFINE_integer(
    "max_members", None, "Keep a seeded random choice of this many files (or images).", lower_bound=1
)
flags.DEFINE_bool("recursive", False, "Also read the subfolders of --input_dir.")
flags.DEFINE_list("split_fractions", ["0.7", "0.15", "0.15"], "Fractions of files for train,val,test.")
flags.DEFINE_integer("seed", 0, "Seed of the split and of --max_members.")
flags.DEFINE_string("dataset", "images", "Name recorded in the manifest (e.g. cardiac, imagenet).")
flags.DEFINE_bool("overwrite", False, "Replace an existing output directory.")
flags.mark_flags_as_required(["input_dir", "output_dir"])
flags.register_validator(
    "size", is_size_pair, message="--size must be two positive integers HEIGHT,WIDTH, e.g. 256,256"
)


@user_errors_exit
def main(argv):
    del argv
    convert_images(
        FLAGS.input_dir,
        FLAGS.output_dir,
        size=tuple(int(v) for v in FLAGS.size),
        fit=FLAGS.fit,
        key=FLAGS.key,
        slice_axis=FLAGS.slice_axis,
        split_by=FLAGS.split_by,
        max_members=FLAGS.max_members,
        recursive=FLAGS.recursive,
        fractions=FLAGS.split_fractions,
        seed=FLAGS.seed,
        dataset=FLAGS.dataset,
        overwrite=FLAGS.overwrite,
        provenance=run_record("data_prep/images.py", flag_values()),
    )
    shards = read_manifest(FLAGS.output_dir)["shards"]
    print(
        f"wrote {FLAGS.output_dir}: images per split", {split: e["num_images"] for split, e in shards.items()}
    )


if __name__ == "__main__":
    app.run(main)
