"""Adaptation of a meta-trained network to unseen tasks (meta paper section 5.4): theta frozen,
only the new tasks' weights omega are learned (the paper: 100 images, 50 epochs).

    python experiments/adapt.py --init_model=runs/meta/model.keras \
        --tasks=radial:15,radial:25,radial:35 --output_dir=runs/adapt_radial

Running the same command again resumes from the last checkpoint; --overwrite starts afresh.
Outputs: config.json, checkpoints/, logs/ (TensorBoard), history.csv, model.keras.
"""

from absl import app

from lda_tf.training.flags import define_flags, training_main

define_flags("adaptation")
main = training_main("adaptation")

if __name__ == "__main__":
    app.run(main)
