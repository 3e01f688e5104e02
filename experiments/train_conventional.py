"""Conventional supervised training (the meta paper's baseline, section 5.2): one task, theta
only, kappa = 1, training and validation images merged.

    # Radial 10 % on converted BraTS T1 (the paper: batch 25, 2000 epochs):
    python experiments/train_conventional.py --tasks=radial:10 --dataset_dir=data/brats_t1 \
        --output_dir=runs/conventional_t1_radial10

Running the same command again resumes from the last checkpoint (more --epochs extend the run;
other settings that change what is trained are refused); --overwrite starts afresh.
Outputs: config.json, checkpoints/, logs/ (TensorBoard), history.csv, model.keras.
"""

from absl import app

from lda_tf.recipes import conventional_config
from lda_tf.recipes.flags import define_flags, training_main

define_flags(conventional_config)  # one flag per setting of the recipe, defaults from the preset
main = training_main(conventional_config)

if __name__ == "__main__":
    app.run(main)
