"""U-LDA (Chen, Ding, Ye, 002): Step 1 trains the universal g with one domain group per source
domain (3.2); Step 2 transfers to target domains with g frozen (3.3).

    # Step 1 on the embedded sample, cross-sampling sources 10/20/30 %, g from averaged LDA g_i:
    python experiments/train_ulda.py --step=universal --init=lda --output_dir=runs/ulda
    # Step 2 to 15 % and 25 % with AUG, from Step 1's model:
    python experiments/train_ulda.py --step=transfer --aug \
        --domains=cartesian_gaussian:15,cartesian_gaussian:25 \
        --init_model=runs/ulda/universal/model.keras --output_dir=runs/ulda_transfer
    # fastMRI-format data (converted by data_prep/fastmri.py), cross-anatomy:
    python experiments/train_ulda.py --step=universal \
        --domains=cartesian_gaussian:20@data/brain,cartesian_gaussian:20@data/knee --output_dir=runs/anat

--output_dir holds the chain's runs (lda_domain<i>/, universal/ or aug1/, aug2/, transfer/), each
with config.json, checkpoints/, logs/ (TensorBoard), history.csv and model.keras; running the
same command again resumes or reuses each of them (docs/ulda.md).
"""

from absl import app

from lda_tf.cli import user_errors_exit
from lda_tf.recipes import train_ulda, ulda_config
from lda_tf.recipes.flags import config_from_flags, define_flags

define_flags(ulda_config)  # one flag per setting, defaults from the preset


@user_errors_exit
def main(argv):
    del argv
    print(f"done: {train_ulda(config_from_flags(ulda_config))}")


if __name__ == "__main__":
    app.run(main)
