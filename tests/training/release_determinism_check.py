"""Run twice by test_determinism.py, each time in a fresh process: three batches of the release
row's training (``lda_tf.recipes.MetaRelease``: 5 theta steps + 1 theta-and-omega step per
batch) at the demo's size (80x90, 3 phases), printing a hash of the trained weights. Before the
release summed its kernel gradients pairwise (``lda_tf.math.PairwiseFanOut``), its weights differed
in the last bits between processes from the third batch under oneDNN (two outcomes, about one run
in two; docs/reproducibility.md)."""

import hashlib
import sys

import numpy as np

from lda_tf import outputs
from lda_tf.recipes import meta_release_config, train

output_dir = sys.argv[1]
train(meta_release_config(output_dir, epochs=1, steps_per_epoch=3, downsample=2, num_phases=3, verbose=0))
hasher = hashlib.sha256()
for variable in outputs.load_model(f"{output_dir}/model.keras").weights:
    hasher.update(np.ascontiguousarray(variable.numpy()).tobytes())
print("RESULT " + hasher.hexdigest()[:16])
