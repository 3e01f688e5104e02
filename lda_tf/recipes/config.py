""":class:`RunConfig`: the generic training settings plus the data a recipe trains on, and the
presets of every training procedure of the two papers, as functions.

A preset takes the run directory and settings by flat name (``epochs=1, num_phases=3,
tasks="radial:10"``; see :mod:`lda_tf.training.config`), the same names the binaries' flags have.
"""

from __future__ import annotations

import dataclasses

from lda_tf.cnn import DnCn, UNet
from lda_tf.cnn.base import CNNReconstruction
from lda_tf.data.tasks import META_TRAINING_TASKS, Task, format_tasks, parse_tasks
from lda_tf.training.bilevel import BilevelConfig
from lda_tf.training.config import (
    OptimizerConfig,
    StairConfig,
    TrainingConfig,
    lda_paper_network,
    setting,
    ulda_paper_network,
)
from lda_tf.training.task_correlation import SETTINGS_PREFIX, TaskCorrelationConfig

CNN_NAMES = ("dncn", "unet")
RECIPE_NAMES = (
    "meta",
    "meta_release",
    "conventional",
    "adaptation",
    "block_cs",
    "ulda",
    "task_correlation",
    "cnn",
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class MRIData:
    """Images of a converted dataset and the tasks (sampling masks) they are measured with."""

    dataset_dir: str | None = setting(
        None, help="Converted dataset (data_prep/); default: the embedded sample."
    )
    tasks: tuple[Task, ...] = setting(
        tuple(META_TRAINING_TASKS),
        help="Tasks TYPE:PERCENT[:SEED],... "
        "(types: radial, cartesian, cartesian_gaussian, variable_density).",
        parse=parse_tasks,
        format=format_tasks,
    )
    max_images: int | None = setting(None, help="Use at most this many images per split.", min=1)
    crop: tuple[int, int] | None = setting(None, help="Centre-crop images to HEIGHT,WIDTH (quick runs).")
    downsample: int = setting(
        1, help="Average FACTOR x FACTOR pixel blocks after cropping (quick runs).", min=1
    )
    noise_snr_db: float | None = setting(None, help="Add complex Gaussian k-space noise at this SNR (dB).")
    train_per_task: int = setting(1, help="J_tr: training pairs per task in a cross-task batch.", min=1)
    val_per_task: int = setting(1, help="J_val: validation pairs per task in a cross-task batch.", min=1)
    batch_size: int = setting(25, help="Batch size.", min=1)

    def __post_init__(self):
        object.__setattr__(self, "tasks", tuple(self.tasks))
        if not self.tasks:
            raise ValueError("argument `tasks` is empty; e.g. radial:10,radial:20,radial:30,radial:40")
        if self.crop is not None:
            if len(self.crop) != 2 or any(not isinstance(size, int) or size < 1 for size in self.crop):
                raise ValueError(
                    f"argument `crop` must be HEIGHT,WIDTH with positive integers; got {self.crop}"
                )
            object.__setattr__(self, "crop", tuple(self.crop))


@dataclasses.dataclass(frozen=True, kw_only=True)
class TaskCorrelationData(MRIData):
    """:class:`MRIData` whose ``tasks`` are the training tasks of the task-correlation model (the
    rows of ``W``) and ``validation_tasks`` its validation tasks (the columns; default: the same)."""

    validation_tasks: tuple[Task, ...] | None = setting(
        None,
        help="Validation tasks of Algorithm 1 (the columns of W), TYPE:PERCENT[:SEED],...; "
        "default: the training tasks.",
        parse=parse_tasks,
        format=format_tasks,
    )

    def __post_init__(self):
        super().__post_init__()
        if self.validation_tasks is not None:
            if not self.validation_tasks:
                raise ValueError("argument `validation_tasks` is empty; e.g. radial:15,radial:25")
            object.__setattr__(self, "validation_tasks", tuple(self.validation_tasks))


@dataclasses.dataclass(frozen=True, kw_only=True)
class BlockCSData:
    """Block compressed sensing of natural images (LDA paper 4.2.1-4.2.2): random crops of the
    training images measured block by block."""

    ratio: float = setting(help="CS ratio, in (0, 1].", min_exclusive=0)
    learned: bool = setting(False, help="Learn the sampling matrix jointly (4.2.2).")
    block_size: int = setting(33, help="Block side s.", min=1)
    train_dir: str | None = setting(None, help="Training images folder; default: scikit-image's.")
    crop_size: int = setting(33, help="Side of the training crops.", min=1)
    crops: int = setting(88_912, help="Training crops.", min=1)
    validation_crops: int = setting(64, help="Validation crops.", min=1)
    batch_size: int = setting(64, help="Batch size.", min=1)


@dataclasses.dataclass(frozen=True)
class Domain:
    """A U-LDA domain: a task (its mask) on a converted dataset (None: the run's default, the
    embedded sample)."""

    task: Task
    dataset_dir: str | None = None

    def __str__(self) -> str:
        return str(self.task) + (f"@{self.dataset_dir}" if self.dataset_dir else "")


def parse_domains(spec: str) -> tuple[Domain, ...]:
    """``TASK[@DATASET_DIR],...`` -> domains, e.g. ``cartesian_gaussian:20@data/knee``."""
    domains = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        task, _, dataset_dir = item.partition("@")
        domains.append(Domain(parse_tasks(task)[0], dataset_dir or None))
    if not domains:
        raise ValueError("argument `domains` is empty; e.g. cartesian_gaussian:10,cartesian_gaussian:30")
    return tuple(domains)


def format_domains(domains) -> str:
    return ",".join(str(domain) for domain in domains)


def _parse_paths(spec: str) -> tuple[str, ...] | None:
    return tuple(filter(None, (part.strip() for part in spec.split(",")))) or None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ULDAData:
    """U-LDA (002): its domains and the settings of its two training steps (lda_tf.recipes.ulda)."""

    step: str = setting(
        "universal",
        help="universal: Step 1 (3.2), g and the source groups; transfer: Step 2 (3.3), new target "
        "groups, g frozen.",
        choices=("universal", "transfer"),
    )
    domains: tuple[Domain, ...] = setting(
        parse_domains("cartesian_gaussian:10,cartesian_gaussian:20,cartesian_gaussian:30"),
        help="Domains TASK[@DATASET_DIR],... (source domains in Step 1, targets in Step 2).",
        parse=parse_domains,
        format=format_domains,
    )
    init: str = setting(
        "none",
        help="Step 1: lda = g starts from the average of per-domain LDA-trained g_i (trained first).",
        choices=("none", "lda"),
    )
    aug: bool = setting(False, help="Step 2: AUG (two sub-masks, then the mask) (5.1).")
    init_models: tuple[str, ...] | None = setting(
        None,
        help="Step 1: LDA-trained model.keras files whose g's are averaged (set by --init=lda).",
        parse=_parse_paths,
        format=lambda paths: ",".join(paths),
    )
    targets_in_init: bool = setting(
        False, help="Step 2: init_model already holds the target groups (an AUG stage)."
    )
    domain_groups: bool = setting(
        True,
        help="One adapter and step-size group per domain; false: one g and one set of steps for all "
        "domains (LDA on the pooled domains in Step 1, fine-tuned whole on the targets in Step 2: "
        "Table 4's 'no adapter').",
    )
    adapter_init: str = setting(
        "identity", help="How adapters start.", choices=("identity", "random", "copy")
    )
    activate_last: bool = setting(False, help="A smoothed ReLU after g's last layer too.")
    ssim_weight: float = setting(0.01, help="alpha of the loss (3.2a).", min=0)
    loss_reduction: str = setting(
        "mean", help="Squared error of (3.2a): per-pixel mean or sum.", choices=("mean", "sum")
    )
    lr_decay_per_stage: float = setting(0.5, help="Learning rate factor per stair stage.", min_exclusive=0)
    max_images: int | None = setting(None, help="Use at most this many images per split.", min=1)
    crop: tuple[int, int] | None = setting(None, help="Centre-crop images to HEIGHT,WIDTH (quick runs).")
    downsample: int = setting(
        1, help="Average FACTOR x FACTOR pixel blocks after cropping (quick runs).", min=1
    )
    per_domain: int = setting(1, help="Training pairs per domain in a batch.", min=1)

    def __post_init__(self):
        object.__setattr__(self, "domains", tuple(self.domains))
        if not self.domains:
            raise ValueError("argument `domains` is empty")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CNNConfig:
    """A CNN baseline of the U-LDA paper's Tables 1-3 (:mod:`lda_tf.cnn`): DnCn or fastMRI's U-Net."""

    architecture: str = setting(
        "dncn", help="dncn: DnCn; unet: fastMRI's magnitude U-Net.", choices=CNN_NAMES
    )
    cascades: int = setting(5, help="DnCn: cascades (CNN + data consistency).", min=1)
    conv_layers: int = setting(5, help="DnCn: convolutions per cascade.", min=2)
    filters: int = setting(16, help="DnCn: channels of the convolutions.", min=1)
    channels: int = setting(32, help="U-Net: channels of the first level (doubled per level).", min=1)
    pools: int = setting(4, help="U-Net: pooling levels.", min=1)

    def build(self, measurement) -> CNNReconstruction:
        if self.architecture == "dncn":
            return DnCn(
                measurement, num_cascades=self.cascades, num_layers=self.conv_layers, num_filters=self.filters
            )
        return UNet(measurement, channels=self.channels, num_pools=self.pools)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunConfig(TrainingConfig):
    """One training run: the procedure (:data:`RECIPE_NAMES`), generic settings, data."""

    recipe: str = setting("meta", help="The training procedure.", choices=RECIPE_NAMES)
    data: MRIData | BlockCSData | ULDAData | TaskCorrelationData = setting(MRIData())
    init_model: str | None = setting(
        None,
        help="A trained model.keras to start from (adaptation: the meta-trained network whose theta is "
        "frozen).",
    )
    task_correlation: TaskCorrelationConfig | None = setting(
        None, help="Algorithm 1 of the task-correlation paper", prefix=SETTINGS_PREFIX
    )
    cnn: CNNConfig | None = setting(None, help="a CNN baseline (recipe cnn)", prefix="cnn_")


# ------------------------------------------------------------------------------------ presets
def meta_config(output_dir: str, **settings) -> RunConfig:
    """Meta training, Algorithm 2 (meta paper SPEC 4): radial 10-40 %, 100 epochs, 11 phases."""
    return RunConfig(output_dir=output_dir, recipe="meta", bilevel=BilevelConfig()).replace(**settings)


def meta_release_config(output_dir: str, **settings) -> RunConfig:
    """The authors' TF1 release as its training script runs (``lda_tf.recipes.MetaRelease``):
    radial 10-40 %, 11 phases, 1001 epochs (``range(0, EpochNum + 1)``, EpochNum = 1000), per batch
    5 theta steps then one on theta and omega, no delta test (lines 24-27, 341-359, 407-459)."""
    bilevel = BilevelConfig(theta_steps=5, delta0=0.0, omega_step_updates_theta=True)
    base = RunConfig(output_dir=output_dir, recipe="meta_release", epochs=1001, bilevel=bilevel)
    return base.replace(**settings)


def conventional_config(output_dir: str, **settings) -> RunConfig:
    """Conventional supervised training of theta (meta paper 5.2): one task, kappa = 1, batch 25,
    2000 epochs on train + val."""
    base = RunConfig(
        output_dir=output_dir,
        recipe="conventional",
        epochs=2000,
        data=MRIData(tasks=parse_tasks("radial:10")),
    )
    return base.replace(**settings)


def adaptation_config(output_dir: str, **settings) -> RunConfig:
    """Adaptation of a meta-trained network (``init_model``) to unseen tasks (meta paper 5.4):
    omega only, 50 epochs on 100 images."""
    base = RunConfig(
        output_dir=output_dir,
        recipe="adaptation",
        epochs=50,
        network=None,
        data=MRIData(tasks=parse_tasks("radial:15,radial:25,radial:35"), max_images=100),
    )
    return base.replace(**settings)


def _warm_start(base: RunConfig, settings: dict) -> RunConfig:
    """``base`` with ``settings`` and the LDA paper's warm start (4.1, section 4): 3 phases for 500
    epochs, then 2 more every 200 epochs, up to ``num_phases``; ``epochs`` by default the whole
    schedule."""
    config = base.replace(**{k: v for k, v in settings.items() if not k.startswith("stair_")})
    stair = dict(
        stair_initial_phases=min(3, config.network.num_phases),
        stair_phases_per_stage=2,
        stair_first_stage_epochs=500,
        stair_epochs_per_stage=200,
    )
    stair.update({k: v for k, v in settings.items() if k.startswith("stair_")})
    config = config.replace(**stair)
    if "epochs" not in settings:
        stages = -(
            -(config.network.num_phases - config.stair.initial_phases) // config.stair.phases_per_stage
        )
        first = config.stair.first_stage_epochs or config.stair.epochs_per_stage
        config = config.replace(epochs=first + stages * config.stair.epochs_per_stage)
    return config


def lda_mri_config(output_dir: str, ratio: float, **settings) -> RunConfig:
    """CS-MRI with LDA (LDA paper 4.2.3): the conventional recipe with the LDA network at radial
    ``ratio`` percent, warm-started, batch 4 (a decision: the paper is silent), Adam 1e-4."""
    base = RunConfig(
        output_dir=output_dir,
        recipe="conventional",
        network=lda_paper_network(num_phases=11),
        optimizer=OptimizerConfig(learning_rate=1e-4),
        data=MRIData(tasks=(Task("radial", ratio / 100),), batch_size=4),
    )
    return _warm_start(base, settings)


def task_correlation_config(output_dir: str, **settings) -> RunConfig:
    """Task-correlation bilevel training, Algorithm 1 of paper 004 (``lda_tf.recipes.TaskCorrelation``,
    docs/task_correlation.md): the vector model with the look-ahead hypergradient on the meta
    paper's tasks (radial 10-40 %, validation tasks the same), its network (11 phases), 100 epochs
    of 1 + 1 images per task, Adam 1e-3 for theta and the logits (digest B2.5)."""
    base = RunConfig(
        output_dir=output_dir,
        recipe="task_correlation",
        task_correlation=TaskCorrelationConfig(),
        data=TaskCorrelationData(),
    )
    return base.replace(**settings)


def block_cs_config(output_dir: str, ratio: float, learned: bool = False, **settings) -> RunConfig:
    """Block CS of natural images with LDA (LDA paper 4.2.1; ``learned``: 4.2.2) at ``ratio``
    percent: 33 x 33 blocks and crops with a prescribed matrix (``Q`` fitted on the crops), 32 x 32
    blocks in 96 x 96 crops when learned; Adam 1e-4, warm-started."""
    data = BlockCSData(
        ratio=ratio / 100,
        learned=learned,
        block_size=32 if learned else 33,
        crop_size=96 if learned else 33,
        crops=89_600 if learned else 88_912,
        batch_size=16 if learned else 64,
    )
    base = RunConfig(
        output_dir=output_dir,
        recipe="block_cs",
        network=lda_paper_network(),
        optimizer=OptimizerConfig(learning_rate=1e-4),
        data=data,
    )
    return _warm_start(base, settings)


def ulda_config(output_dir: str, **settings) -> RunConfig:
    """U-LDA (002, 5.1 and the release): the U-LDA network, Adam 1e-4 halved at every stage,
    stair training 3 phases then +2 per stage up to 15, 50 epochs a stage (350 in all), one pair
    per domain in a batch (the release's batch 1 per domain)."""
    base = RunConfig(
        output_dir=output_dir,
        recipe="ulda",
        network=ulda_paper_network(),
        optimizer=OptimizerConfig(learning_rate=1e-4),
        data=ULDAData(),
        stair=StairConfig(initial_phases=3, phases_per_stage=2, epochs_per_stage=50),
    )
    return _warm_start(base, {"stair_first_stage_epochs": 50, "stair_epochs_per_stage": 50, **settings})


def cnn_config(output_dir: str, **settings) -> RunConfig:
    """A CNN baseline of the U-LDA paper (5.2; :mod:`lda_tf.recipes.cnn`): DnCn as the authors'
    release builds it (5 cascades x 5 convolutions x 16 channels), or with ``cnn_architecture="unet"``
    fastMRI's U-Net (32 channels, 4 pools); trained on its domains pooled (no domain groups), Adam
    1e-4 for 200 epochs (the paper's DnCn), two pairs per domain in a batch (a decision: the paper
    gives batch 4 for the U-Net's fine-tuning only)."""
    base = RunConfig(
        output_dir=output_dir,
        recipe="cnn",
        network=None,
        cnn=CNNConfig(),
        optimizer=OptimizerConfig(learning_rate=1e-4),
        epochs=200,
        data=ULDAData(domain_groups=False, per_domain=2),
    )
    return base.replace(**settings)
