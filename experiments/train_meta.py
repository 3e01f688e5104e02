"""Meta-learning (bilevel training, Algorithm 2 of the meta paper) over several tasks.

    # Radial 10/20/30/40 % (the paper's tasks) on the embedded sample data:
    python experiments/train_meta.py --output_dir=runs/meta
    # On converted BraTS T1, with stair training 1 -> 11 phases (100 epochs per stage):
    python experiments/train_meta.py --dataset_dir=data/brats_t1 --output_dir=runs/meta_t1 \
        --stair_initial_phases=1 --stair_epochs_per_stage=100

Running the same command again resumes from the last checkpoint (more --epochs extend the run;
other settings that change what is trained are refused); --overwrite starts afresh.
Outputs: config.json, checkpoints/, logs/ (TensorBoard), history.csv, model.keras.
"""

from absl import app

from lda_tf.recipes import meta_config
from lda_tf.recipes.flags import define_flags, training_main

define_flags(meta_config)  # one flag per setting of the recipe, defaults from the preset
main = training_main(meta_config)

if __name__ == "__main__":
    app.run(main)
