"""absl flags of the training binaries (``experiments/train_meta.py``, ``train_conventional.py``,
``adapt.py``): one definition per flag, with each mode's defaults from SPEC 4, and their
translation into a :class:`lda_tf.training.run.RunConfig`.

A binary calls :func:`define_flags` at module top and :func:`config_from_flags` in ``main``; flags
that do not apply to a mode are not defined for it (adaptation takes the network from
``--init_model``; only meta training has the bilevel flags).
"""

from __future__ import annotations

from absl import flags

from lda_tf.cli import is_size_pair, user_errors_exit
from lda_tf.data.tasks import META_TRAINING_TASK_SPEC
from lda_tf.loa.phase import POLICIES
from lda_tf.training.run import RunConfig, run_training

FLAGS = flags.FLAGS

# Per-mode defaults (SPEC 4): meta 100 epochs over radial 10-40 %; conventional one task, batch 25,
# 2000 epochs on train + val; adaptation 50 epochs on 100 images of each unseen task.
MODE_DEFAULTS = {
    "meta": dict(tasks=META_TRAINING_TASK_SPEC, epochs=100, max_images=None),
    "conventional": dict(tasks="radial:10", epochs=2000, max_images=None),
    "adaptation": dict(tasks="radial:15,radial:25,radial:35", epochs=50, max_images=100),
}


def _define_common(mode: str) -> None:
    defaults = MODE_DEFAULTS[mode]
    flags.DEFINE_string(
        "output_dir", None, "Run directory (config.json, checkpoints/, logs/, history.csv, model.keras)."
    )
    flags.DEFINE_string("dataset_dir", None, "Converted dataset (data_prep/); default: the embedded sample.")
    flags.DEFINE_string(
        "tasks",
        defaults["tasks"],
        "Tasks TYPE:PERCENT[:SEED],... (types: radial, cartesian, cartesian_gaussian, variable_density).",
    )
    flags.DEFINE_integer("epochs", defaults["epochs"], "Epochs.", lower_bound=1)
    flags.DEFINE_integer(
        "steps_per_epoch",
        None,
        "Batches per epoch (default: one pass over the training images).",
        lower_bound=1,
    )
    flags.DEFINE_integer(
        "max_images", defaults["max_images"], "Use at most this many images per split.", lower_bound=1
    )
    flags.DEFINE_list("crop", None, "Centre-crop images to HEIGHT,WIDTH (quick runs).")
    flags.DEFINE_integer(
        "downsample", 1, "Average FACTOR x FACTOR pixel blocks after cropping (quick runs).", lower_bound=1
    )
    flags.DEFINE_float("noise_snr_db", None, "Add complex Gaussian k-space noise at this SNR (dB).")
    flags.DEFINE_integer("seed", 0, "Seed of initialisation and data order.")
    flags.DEFINE_integer("checkpoint_every", 1, "Epochs between checkpoints.", lower_bound=1)
    flags.DEFINE_integer("validation_every", 1, "Epochs between validation passes.", lower_bound=1)
    flags.DEFINE_integer("image_every", 10, "Epochs between TensorBoard images.", lower_bound=1)
    flags.DEFINE_integer(
        "max_consecutive_skips", 10, "Stop after this many non-finite steps in a row.", lower_bound=1
    )
    flags.DEFINE_enum(
        "distribute", "none", ["none", "mirrored"], "mirrored: tf.distribute.MirroredStrategy over all GPUs."
    )
    flags.DEFINE_enum(
        "jit_compile",
        "auto",
        ["auto", "true", "false"],
        "XLA for the training step; auto: on with a GPU (Keras's rule), off on CPU (measured slower there).",
    )
    flags.DEFINE_bool("overwrite", False, "Replace an existing run directory instead of resuming it.")
    flags.DEFINE_integer(
        "verbose", 1, "Keras progress output: 0 silent, 1 progress bar, 2 one line per epoch."
    )
    flags.mark_flag_as_required("output_dir")
    flags.register_validator(
        "crop", is_size_pair, message="--crop must be HEIGHT,WIDTH with positive integers"
    )


def _define_network() -> None:
    flags.DEFINE_integer("num_phases", 11, "Phases T of the network.", lower_bound=1)
    flags.DEFINE_enum("policy", "meta", POLICIES, "Phase policy (SPEC 3).")
    flags.DEFINE_enum("smoothing", "sqrt", ["sqrt", "huber"], "Smoothing of the l2,1 regulariser.")
    flags.DEFINE_integer("num_layers", 3, "Convolutions l in g.", lower_bound=1)
    flags.DEFINE_integer("num_filters", 4, "Kernels d per convolution.", lower_bound=1)
    flags.DEFINE_float("relu_delta", 1e-3, "Smoothed-ReLU delta of eq. (19).", lower_bound=0)
    flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate for theta.", lower_bound=0)
    flags.DEFINE_integer(
        "stair_initial_phases", None, "Stair training: phases to start with (off if unset).", lower_bound=1
    )
    flags.DEFINE_integer(
        "stair_phases_per_stage", 1, "Stair training: phases added per stage.", lower_bound=1
    )
    flags.DEFINE_integer("stair_epochs_per_stage", 100, "Stair training: epochs per stage.", lower_bound=1)
    flags.DEFINE_integer(
        "stair_first_stage_epochs",
        None,
        "Stair training: epochs of the first stage (default: as the others).",
        lower_bound=1,
    )
    flags.DEFINE_integer(
        "stair_patience",
        None,
        "Stair training: also grow after this many epochs without improvement.",
        lower_bound=1,
    )


def _define_bilevel() -> None:
    flags.DEFINE_integer(
        "train_per_task", 1, "J_tr: training pairs per task in a cross-task batch.", lower_bound=1
    )
    flags.DEFINE_integer(
        "val_per_task", 1, "J_val: validation pairs per task in a cross-task batch.", lower_bound=1
    )
    flags.DEFINE_float("lambda0", 1e-5, "Initial penalty weight lambda of (17).", lower_bound=0)
    flags.DEFINE_float("nu_lambda", 1.001, "lambda growth per epoch (>= 1).", lower_bound=1)
    flags.DEFINE_float("delta0", 1e-3, "Initial delta of Algorithm 2.", lower_bound=0)
    flags.DEFINE_float("nu_delta", 0.95, "delta decay per epoch, in (0, 1).", lower_bound=0)
    flags.DEFINE_float("delta_tol", 4.35e-6, "Training stops when delta <= delta_tol.", lower_bound=0)
    flags.DEFINE_integer("theta_steps", 1, "K: theta steps per round of Algorithm 2.", lower_bound=1)
    flags.DEFINE_integer("max_rounds", 1, "Cap of Algorithm 2's inner while loop per batch.", lower_bound=1)
    flags.register_validator("nu_delta", lambda value: 0 < value < 1, message="--nu_delta must be in (0, 1)")


def define_flags(mode: str) -> None:
    """Define the flags of the training binary for ``mode`` (meta, conventional, adaptation)."""
    _define_common(mode)
    if mode in ("meta", "conventional"):
        _define_network()
    if mode in ("meta", "adaptation"):
        flags.DEFINE_float(
            "omega_learning_rate", 1e-3, "Adam learning rate for the task weights omega.", lower_bound=0
        )
    if mode in ("conventional", "adaptation"):
        flags.DEFINE_integer("batch_size", 25, "Batch size.", lower_bound=1)
    if mode == "meta":
        _define_bilevel()
    if mode == "adaptation":
        flags.DEFINE_string("init_model", None, "The meta-trained model.keras whose theta is frozen.")
        flags.mark_flag_as_required("init_model")


def _value(name: str, default=None):
    return FLAGS[name].value if name in FLAGS else default


def _stair() -> dict | None:
    if not _value("stair_initial_phases"):
        return None
    return dict(
        initial_phases=FLAGS.stair_initial_phases,
        phases_per_stage=FLAGS.stair_phases_per_stage,
        max_phases=FLAGS.num_phases,
        epochs_per_stage=FLAGS.stair_epochs_per_stage,
        first_stage_epochs=FLAGS.stair_first_stage_epochs,
        patience=FLAGS.stair_patience,
    )


def config_from_flags(mode: str) -> RunConfig:
    """The :class:`RunConfig` the parsed flags describe."""
    network, bilevel = {}, {}
    if mode in ("meta", "conventional"):
        network = dict(
            num_phases=FLAGS.num_phases,
            policy=FLAGS.policy,
            smoothing=FLAGS.smoothing,
            num_layers=FLAGS.num_layers,
            num_filters=FLAGS.num_filters,
            relu_delta=FLAGS.relu_delta,
        )
    if mode == "meta":
        bilevel = dict(
            lambda0=FLAGS.lambda0,
            nu_lambda=FLAGS.nu_lambda,
            delta0=FLAGS.delta0,
            nu_delta=FLAGS.nu_delta,
            delta_tol=FLAGS.delta_tol,
            theta_steps=FLAGS.theta_steps,
            max_rounds=FLAGS.max_rounds,
        )
    defaults = RunConfig(output_dir="")
    return RunConfig(
        output_dir=FLAGS.output_dir,
        mode=mode,
        dataset_dir=FLAGS.dataset_dir,
        tasks=FLAGS.tasks,
        epochs=FLAGS.epochs,
        steps_per_epoch=FLAGS.steps_per_epoch,
        batch_size=_value("batch_size", defaults.batch_size),
        train_per_task=_value("train_per_task", defaults.train_per_task),
        val_per_task=_value("val_per_task", defaults.val_per_task),
        max_images=FLAGS.max_images,
        crop=tuple(int(v) for v in FLAGS.crop) if FLAGS.crop else None,
        downsample=FLAGS.downsample,
        network=network,
        init_model=_value("init_model"),
        bilevel=bilevel,
        learning_rate=_value("learning_rate", defaults.learning_rate),
        omega_learning_rate=_value("omega_learning_rate", defaults.omega_learning_rate),
        stair=_stair(),
        noise_snr_db=FLAGS.noise_snr_db,
        seed=FLAGS.seed,
        checkpoint_every=FLAGS.checkpoint_every,
        validation_every=FLAGS.validation_every,
        image_every=FLAGS.image_every,
        max_consecutive_skips=FLAGS.max_consecutive_skips,
        distribute=FLAGS.distribute,
        jit_compile=FLAGS.jit_compile,
        overwrite=FLAGS.overwrite,
        verbose=FLAGS.verbose,
    )


def training_main(mode: str):
    """The ``main(argv)`` of the training binary for ``mode``: train, print where the model is."""

    @user_errors_exit
    def main(argv):
        del argv
        config = config_from_flags(mode)
        run_training(config)
        print(f"done: {config.output_dir}/model.keras")

    return main
