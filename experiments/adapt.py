"""Adaptation of a meta-trained network to unseen tasks (meta paper section 5.4): theta frozen,
only the new tasks' weights omega are learned (the paper: 100 images, 50 epochs).

    python experiments/adapt.py --init_model=runs/meta/model.keras \
        --tasks=radial:15,radial:25,radial:35 --output_dir=runs/adapt_radial

Running the same command again resumes from the last checkpoint (more --epochs extend the run;
other settings that change what is trained are refused); --overwrite starts afresh.
Outputs: config.json, checkpoints/, logs/ (TensorBoard), history.csv, model.keras.
"""

from absl import app

from lda_tf.recipes import adaptation_config
from lda_tf.recipes.flags import define_flags, training_main

define_flags(adaptation_config)  # one flag per setting of the recipe, defaults from the preset
main = training_main(adaptation_config)

if __name__ == "__main__":
    app.run(main)
