"""The CNN baselines of the U-LDA paper's Tables 1-3 (lda_tf.cnn; docs/ulda.md): DnCn or fastMRI's
U-Net trained on pooled domains, then fine-tuned on a target.

    # DnCn (5 cascades x 5 convolutions x 16 channels) on the embedded sample at 10 and 30 %:
    python experiments/train_cnn.py --domains=cartesian_gaussian:10,cartesian_gaussian:30 \
        --output_dir=runs/dncn
    # fine-tuned on 20 % with a smaller learning rate:
    python experiments/train_cnn.py --step=transfer --domains=cartesian_gaussian:20 \
        --init_model=runs/dncn/model.keras --learning_rate=1e-5 --epochs=100 --output_dir=runs/dncn_20
    # the U-Net instead: --cnn_architecture=unet (--cnn_channels, --cnn_pools)

--output_dir is a run directory (config.json, checkpoints/, logs/, history.csv, model.keras);
running the same command again resumes or reuses it.
"""

from absl import app

from lda_tf.recipes import cnn_config
from lda_tf.recipes.flags import define_flags, training_main

define_flags(cnn_config)  # one flag per setting, defaults from the preset
main = training_main(cnn_config)

if __name__ == "__main__":
    app.run(main)
