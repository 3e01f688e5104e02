"""Train an LOA network: meta (bilevel, Algorithm 2), conventional, or adaptation to unseen tasks.

    # Meta-learning on radial 10/20/30/40 % (the paper's defaults), embedded sample data:
    python experiments/train.py --output_dir=runs/meta
    # Conventional baseline for one task, on converted BraTS:
    python experiments/train.py --mode=conventional --tasks=radial:10 --dataset_dir=data/brats_t1 \
        --epochs=2000 --output_dir=runs/conventional_radial10
    # Adaptation: theta frozen, omega learned for unseen tasks (100 images, 50 epochs):
    python experiments/train.py --mode=adaptation --init_model=runs/meta/model.keras \
        --tasks=radial:15,radial:25,radial:35 --max_images=100 --epochs=50 --output_dir=runs/adapt

Running the same command again resumes from the last checkpoint; --overwrite starts afresh.
Watch with: tensorboard --logdir runs/
"""

from absl import app, flags

from lda_tf.cli import user_errors_exit
from lda_tf.loa.phase import POLICIES
from lda_tf.training.run import RunConfig, run_training
from lda_tf.training.trainer import MODES

FLAGS = flags.FLAGS
flags.DEFINE_enum("mode", "meta", MODES, "meta: bilevel training over tasks; conventional: one task, theta only, "
                  "kappa = 1; adaptation: omega only, for new tasks, from --init_model.")
flags.DEFINE_string("output_dir", None, "Run directory (config, checkpoints, TensorBoard logs, model.keras).")
flags.DEFINE_string("dataset_dir", None, "Converted dataset (data_prep/); default: the embedded sample.")
flags.DEFINE_string("tasks", "radial:10,radial:20,radial:30,radial:40", "Tasks TYPE:PERCENT[:SEED],...")
flags.DEFINE_string("init_model", None, "Adaptation: the meta-trained model.keras.")
flags.DEFINE_integer("epochs", 100, "Epochs.", lower_bound=1)
flags.DEFINE_integer("steps_per_epoch", None, "Batches per epoch (default: one pass over the training images).", lower_bound=1)
flags.DEFINE_integer("batch_size", 25, "Batch size of conventional and adaptation training.", lower_bound=1)
flags.DEFINE_integer("train_per_task", 1, "J_tr: training pairs per task in a cross-task batch.", lower_bound=1)
flags.DEFINE_integer("val_per_task", 1, "J_val: validation pairs per task in a cross-task batch.", lower_bound=1)
flags.DEFINE_integer("max_images", None, "Use at most this many images per split.", lower_bound=1)
flags.DEFINE_list("crop", None, "Centre-crop images to HEIGHT,WIDTH (quick runs).")
flags.DEFINE_integer("num_phases", 11, "Phases T of the network.", lower_bound=1)
flags.DEFINE_enum("policy", "meta", POLICIES, "Phase policy.")
flags.DEFINE_enum("smoothing", "sqrt", ["sqrt", "huber"], "Smoothing of the l2,1 regulariser.")
flags.DEFINE_integer("num_layers", 3, "Convolutions l in g.", lower_bound=1)
flags.DEFINE_integer("num_filters", 4, "Kernels d per convolution.", lower_bound=1)
flags.DEFINE_float("relu_delta", 1e-3, "Smoothed-ReLU delta of eq. (19).", lower_bound=0)
flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate for theta.", lower_bound=0)
flags.DEFINE_float("omega_learning_rate", 1e-3, "Adam learning rate for omega.", lower_bound=0)
flags.DEFINE_float("lambda0", 1e-5, "Initial penalty weight lambda of (17).", lower_bound=0)
flags.DEFINE_float("nu_lambda", 1.001, "lambda growth per epoch (> 1).", lower_bound=1)
flags.DEFINE_float("delta0", 1e-3, "Initial delta of Algorithm 2.", lower_bound=0)
flags.DEFINE_float("nu_delta", 0.95, "delta decay per epoch (< 1).", lower_bound=0)
flags.DEFINE_float("delta_tol", 4.35e-6, "Training stops when delta <= delta_tol.", lower_bound=0)
flags.DEFINE_integer("theta_steps", 1, "K: theta steps per round of Algorithm 2.", lower_bound=1)
flags.DEFINE_integer("max_rounds", 1, "Cap of Algorithm 2's inner while loop per batch.", lower_bound=1)
flags.DEFINE_integer("stair_initial_phases", None, "Stair training: phases to start with (off if unset).", lower_bound=1)
flags.DEFINE_integer("stair_phases_per_stage", 1, "Stair training: phases added per stage.", lower_bound=1)
flags.DEFINE_integer("stair_epochs_per_stage", 100, "Stair training: epochs per stage.", lower_bound=1)
flags.DEFINE_integer("stair_first_stage_epochs", None, "Stair training: epochs of the first stage (default: as the others).", lower_bound=1)
flags.DEFINE_integer("stair_patience", None, "Stair training: also grow after this many epochs without improvement.", lower_bound=1)
flags.DEFINE_float("noise_snr_db", None, "Add complex Gaussian k-space noise at this SNR (dB).")
flags.DEFINE_integer("seed", 0, "Seed of initialisation and data order.")
flags.DEFINE_integer("checkpoint_every", 1, "Epochs between checkpoints.", lower_bound=1)
flags.DEFINE_integer("image_every", 10, "Epochs between TensorBoard images.", lower_bound=1)
flags.DEFINE_integer("max_consecutive_skips", 10, "Stop after this many non-finite steps in a row.", lower_bound=1)
flags.DEFINE_enum("distribute", "none", ["none", "mirrored"], "mirrored: tf.distribute.MirroredStrategy over all GPUs.")
flags.DEFINE_bool("overwrite", False, "Replace an existing run directory instead of resuming it.")
flags.mark_flag_as_required("output_dir")
flags.register_validator("crop", lambda v: v is None or (len(v) == 2 and all(x.isdigit() for x in v)),
                         message="--crop must be HEIGHT,WIDTH")
flags.register_validator("nu_delta", lambda v: 0 < v < 1, message="--nu_delta must be in (0, 1)")


@user_errors_exit
def main(argv):
    del argv
    stair = None
    if FLAGS.stair_initial_phases:
        stair = dict(initial_phases=FLAGS.stair_initial_phases, phases_per_stage=FLAGS.stair_phases_per_stage,
                     max_phases=FLAGS.num_phases, epochs_per_stage=FLAGS.stair_epochs_per_stage,
                     first_stage_epochs=FLAGS.stair_first_stage_epochs, patience=FLAGS.stair_patience)
    config = RunConfig(
        output_dir=FLAGS.output_dir, mode=FLAGS.mode, dataset_dir=FLAGS.dataset_dir, tasks=FLAGS.tasks,
        epochs=FLAGS.epochs, steps_per_epoch=FLAGS.steps_per_epoch, batch_size=FLAGS.batch_size,
        train_per_task=FLAGS.train_per_task, val_per_task=FLAGS.val_per_task, max_images=FLAGS.max_images,
        crop=tuple(int(v) for v in FLAGS.crop) if FLAGS.crop else None,
        network=dict(num_phases=FLAGS.num_phases, policy=FLAGS.policy, smoothing=FLAGS.smoothing,
                     num_layers=FLAGS.num_layers, num_filters=FLAGS.num_filters, delta=FLAGS.relu_delta),
        init_model=FLAGS.init_model,
        bilevel=dict(lambda0=FLAGS.lambda0, nu_lambda=FLAGS.nu_lambda, delta0=FLAGS.delta0, nu_delta=FLAGS.nu_delta,
                     delta_tol=FLAGS.delta_tol, theta_steps=FLAGS.theta_steps, max_rounds=FLAGS.max_rounds),
        learning_rate=FLAGS.learning_rate, omega_learning_rate=FLAGS.omega_learning_rate, stair=stair,
        noise_snr_db=FLAGS.noise_snr_db, seed=FLAGS.seed, checkpoint_every=FLAGS.checkpoint_every,
        image_every=FLAGS.image_every, max_consecutive_skips=FLAGS.max_consecutive_skips,
        distribute=FLAGS.distribute, overwrite=FLAGS.overwrite,
    )
    run_training(config)
    print(f"done: {FLAGS.output_dir}/model.keras")


if __name__ == "__main__":
    app.run(main)
