"""The embedded sample dataset: real brain MR slices that ship with the package (SPEC 5 stand-in).

Axial slices of the MNI ICBM152 2009a nonlinear symmetric T1 template (1 mm, as bundled with
nilearn), centre-cropped to 160x180 like the BraTS protocol and max-normalised per slice, split by
disjoint slice ranges with 5-slice gaps between them (axial index z of the 197x233x189 volume):

- train: z = 20..79 (60 slices), test: z = 85..104 (20, the central slices), val: z = 110..139 (30).

It is one (average) brain, so it is for demos, tests and smoke runs, not for results. The files
are regenerated bit-for-bit by ``data_prep/make_sample.py``; ``LICENSE`` beside them gives the
template's copyright notice. The format is that of any converted dataset (``lda_tf.data.shards``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lda_tf.data.pipeline import load_images
from lda_tf.data.shards import verify_checksums

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
SLICE_RANGES = {"train": (20, 80), "test": (85, 105), "val": (110, 140)}
CROP = (160, 180)


def sample_dir() -> Path:
    """The sample's dataset directory, after checking its shards against the manifest."""
    verify_checksums(SAMPLE_DIR)
    return SAMPLE_DIR


def load_sample(split: str) -> np.ndarray:
    """A split of the sample as ``[N, 160, 180]`` float32 images in [0, 1]."""
    return load_images(sample_dir(), split)
