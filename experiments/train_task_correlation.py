"""Task-correlation bilevel meta-learning (paper 004, Algorithm 1; docs/task_correlation.md): k steps
on theta with the softmax-weighted training loss, then one step on the task-correlation logits C
with the one-step look-ahead hypergradient.

    # The vector model (w = softmax(c) over radial 10/20/30/40 %) on the embedded sample data:
    python experiments/train_task_correlation.py --output_dir=runs/task_correlation
    # The matrix model (one network theta_j per validation task), on converted BraTS T1:
    python experiments/train_task_correlation.py --correlation_model=matrix \
        --dataset_dir=data/brats_t1 --output_dir=runs/task_correlation_matrix
    # Unseen tasks as validation tasks, starting from a trained vector model:
    python experiments/train_task_correlation.py --validation_tasks=radial:15,radial:25,radial:35 \
        --tasks=radial:10,radial:20,radial:30,radial:40,radial:15,radial:25,radial:35 \
        --init_model=runs/task_correlation/model.keras --output_dir=runs/task_correlation_unseen

Other estimators: --correlation_hypergradient=first_order|unrolled|penalty|none (none: uniform
weights). Running the same command again resumes from the last checkpoint (more --epochs extend
the run); --overwrite starts afresh. Outputs: config.json, checkpoints/, logs/ (TensorBoard, with W
as an image under task_correlation/), history.csv (W each epoch), model.keras.
"""

from absl import app

from lda_tf.recipes import task_correlation_config
from lda_tf.recipes.flags import define_flags, training_main

define_flags(task_correlation_config)  # one flag per setting of the recipe, defaults from the preset
main = training_main(task_correlation_config)

if __name__ == "__main__":
    app.run(main)
