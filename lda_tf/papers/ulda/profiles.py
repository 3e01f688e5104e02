"""Settings of the U-LDA paper's experiments per profile (paper, quick, smoke).

``paper`` follows section 5 of the paper and, where it is silent, the authors' release (digest A2.4):
256 x 256 images, 15 phases by stair training (3, then +2 per stage), Adam 1e-4 halved at every
stage, Step 1 50 epochs a stage at one pair per domain a batch, Step 2 (and each AUG stage) 100
epochs a stage at two; 400 (cross-anatomy, cross-modality) or 300 (cross-sampling) source images a
domain, 100 target images, 200 test images; Figure 7 with 5, 40 and 100 target images and five
draws. Decisions where both are silent: the LDA baseline's fine-tuning on a target (paper: "a
smaller learning rate and fewer epochs") at a tenth of the rate for half of Step 2's epochs; the
Meta baseline with the meta paper's network and schedule (``lda_tf.recipes.meta_config``). The
CNN baselines (``lda_tf.recipes.cnn_config``): DnCn as the release (5 cascades x 5 convolutions x
16 channels), the U-Net at fastMRI's size (32 channels, 4 pools); both trained on the pooled sources
for the paper's DnCn schedule (200 epochs, Adam 1e-4; the paper gives none for the U-Net's
pre-training), two pairs per source a batch, then fine-tuned on each target as the paper fine-tunes
the U-Net (Adam 1e-5, batch 4, 100 epochs; for DnCn it says only "a smaller learning rate and fewer
epochs").

``quick`` is sized for a 2-core CPU (the cross-sampling, cross-modality and Table 4 experiments
together; the measured times are in docs/ulda.md): images 4x downsampled (40 x 45 from the
embedded sample's 160 x 180), 3 phases without stair growth (every stage traces the network
again, about a minute on this CPU, while a step takes a third of a second), Adam 1e-3 (not 1e-4:
about a hundred steps instead of tens of thousands; measured at 40 x 45, 20 %: at 3e-3 and 1e-2
the learned networks fell below zero filling, and at 1e-3 the pooled LDA's loss rose again after
about 250 steps), ``g``'s kernels at half the Xavier scale (with Xavier kernels the untrained 3
phases lose 1.4 dB against zero filling, at half scale they start at it: the LDA paper's quick
profile made the same choice), no per-phase recomputation (the images are small), no validation
passes (a pass traces the network once more), 40 source and 20 target images. The CNN baselines
train on the LDA baseline's schedules (Step 1's 120 steps pooled, the fine-tuning's 40), DnCn at
the paper's size (5 x 5 x 16: 0.06 s a step, a run under 20 s) and the U-Net with 3 pools instead of
4 (at 40 x 45 the fourth pool leaves a 3 x 3 bottom level; measured on the cross-sampling sources
after 120 steps: 32 channels and 3 pools 16.6 / 17.2 dB at 10 / 20 %, 4 pools 16.3 / 17.0 dB, 16
channels 16.0 / 16.6 dB; zero filling 13.5 / 13.9 dB; a pooled run about 30 s). ``smoke`` only
checks that the chain runs. Every table says which profile made it; neither's numbers are comparable to the
paper's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from lda_tf.papers.common import Profile, Registry


@dataclasses.dataclass(frozen=True)
class ULDAProfile(Profile):
    network: Mapping  # network settings of every U-LDA and LDA run (flat names of lda_tf.recipes)
    image: Mapping  # crop / downsample of every run and evaluation
    universal: Mapping  # Step 1 (and the per-domain LDA of Init, which copies Step 1's schedule)
    transfer: Mapping  # Step 2, each AUG stage alike
    finetune: Mapping  # the LDA baseline on a target: the pooled-source LDA trained further
    meta: Mapping  # the Meta baseline (lda_tf.recipes.meta_config settings)
    adaptation: Mapping  # its adaptation to the targets (adaptation_config)
    cnn: Mapping  # the CNN baselines' sizes: {"DnCn": ..., "UNet": ...} (cnn_* settings of cnn_config)
    cnn_pretrain: Mapping  # their training on the pooled sources
    cnn_finetune: Mapping  # their fine-tuning on a target
    source_images: Mapping  # per experiment (anatomy, sampling, modality): training images a source
    target_images: int  # training images a target (the small sets marked with a dagger)
    val_images: int  # validation images a domain (TV's weight, Meta's upper level)
    test_images: int  # test images a domain
    alphas: tuple[float, ...]  # Table 5: SSIM weight of the loss (3.2a)
    deltas: tuple[float, ...]  # Table 6: smoothed-ReLU delta
    figure6: Mapping  # Figure 6's stair runs (empty: the main runs, when they grow by stairs)
    figure7_sizes: tuple[int, ...]  # Figure 7: target training images
    figure7_draws: int  # Figure 7: random draws (and training seeds) per size

    def runtime(self) -> dict:
        """Settings every run takes (logging cadence)."""
        return dict(self.image) | {"validation_every": self.validation_every, "image_every": 1000}

    @property
    def validation_every(self) -> int:
        return 1 if self.name == "paper" else 100_000  # quick, smoke: no validation pass


def _without_stairs(schedule: Mapping) -> dict:
    """A schedule's settings but its stair training (the CNN baselines have no phases to grow)."""
    return {k: v for k, v in schedule.items() if not k.startswith("stair_")}


def _stair(first: int, per_stage: int, stages: int) -> dict:
    return dict(
        stair_initial_phases=3,
        stair_phases_per_stage=2,
        stair_first_stage_epochs=first,
        stair_epochs_per_stage=per_stage,
        epochs=first + (stages - 1) * per_stage,
    )


PAPER = ULDAProfile(
    "paper",
    network=dict(num_phases=15, recompute_phases=True),
    image=dict(downsample=1),
    universal=dict(learning_rate=1e-4, per_domain=1, **_stair(50, 50, 7)),
    transfer=dict(learning_rate=1e-4, per_domain=2, **_stair(100, 100, 7)),
    finetune=dict(learning_rate=1e-5, per_domain=2, **_stair(50, 50, 7)),
    meta=dict(),
    adaptation=dict(),
    cnn=dict(
        DnCn=dict(cnn_architecture="dncn", cnn_cascades=5, cnn_conv_layers=5, cnn_filters=16),
        UNet=dict(cnn_architecture="unet", cnn_channels=32, cnn_pools=4),
    ),
    cnn_pretrain=dict(learning_rate=1e-4, epochs=200, per_domain=2),
    cnn_finetune=dict(learning_rate=1e-5, epochs=100, per_domain=4),
    source_images=dict(anatomy=400, sampling=300, modality=400),
    target_images=100,
    val_images=100,
    test_images=200,
    alphas=(0.1, 0.01, 0.001),
    deltas=(1e-4, 1e-3, 1e-2, 1e-1),
    figure6={},
    figure7_sizes=(5, 40, 100),
    figure7_draws=5,
    description="paper profile: U-LDA paper section 5 and the release (256x256, 15 phases by stairs "
    "3 +2, Adam 1e-4 halved a stage, Step 1 350 epochs, Step 2 700 a stage of AUG)",
)
_QUICK_STEPS = dict(stair_initial_phases=3, learning_rate=1e-3, per_domain=2)
_QUICK_UNIVERSAL = dict(epochs=4, steps_per_epoch=30, **_QUICK_STEPS)
_QUICK_FINETUNE = dict(epochs=2, steps_per_epoch=20, **{**_QUICK_STEPS, "learning_rate": 3e-4})
QUICK = dataclasses.replace(
    PAPER,
    name="quick",
    network=dict(num_phases=3, recompute_phases=False, kernel_scale=0.5),
    image=dict(downsample=4),
    universal=_QUICK_UNIVERSAL,
    transfer=dict(epochs=2, steps_per_epoch=20, **_QUICK_STEPS),
    finetune=_QUICK_FINETUNE,
    meta=dict(num_phases=3, epochs=4, steps_per_epoch=30),
    adaptation=dict(epochs=2, steps_per_epoch=20, batch_size=4),
    cnn=dict(DnCn=PAPER.cnn["DnCn"], UNet=dict(cnn_architecture="unet", cnn_channels=32, cnn_pools=3)),
    cnn_pretrain=_without_stairs(_QUICK_UNIVERSAL),
    cnn_finetune=_without_stairs(_QUICK_FINETUNE),
    source_images=dict(anatomy=40, sampling=40, modality=40),
    target_images=20,
    val_images=8,
    test_images=20,
    figure6=dict(
        num_phases=5,
        stair_initial_phases=1,
        stair_first_stage_epochs=2,
        stair_epochs_per_stage=2,
        epochs=6,
    ),
    figure7_sizes=(5, 20),
    figure7_draws=2,
    description="QUICK profile, scaled down for a CPU: 40x45 images (4x downsampled), 3 phases "
    "without stairs, g's kernels at half the Xavier scale, Adam 1e-3, Step 1 (and each LDA) 120 "
    "steps, Step 2 40 a stage, 40 source / 20 target images, DnCn 5x5x16 and UNet 32 channels 3 pools "
    "on the same schedules; numbers are not comparable to the paper's",
)
_SMOKE_STEPS = dict(epochs=1, steps_per_epoch=2, **{**_QUICK_STEPS, "stair_initial_phases": 1})
SMOKE = dataclasses.replace(
    QUICK,
    name="smoke",
    network=dict(num_phases=1, recompute_phases=False),
    image=dict(downsample=10),
    universal=_SMOKE_STEPS,
    transfer=_SMOKE_STEPS,
    finetune=_SMOKE_STEPS,
    meta=dict(num_phases=1, epochs=1, steps_per_epoch=2),
    adaptation=dict(epochs=1, steps_per_epoch=2, batch_size=2),
    cnn=dict(
        DnCn=dict(cnn_architecture="dncn", cnn_cascades=2, cnn_conv_layers=2, cnn_filters=4),
        UNet=dict(cnn_architecture="unet", cnn_channels=4, cnn_pools=2),
    ),
    cnn_pretrain=_without_stairs(_SMOKE_STEPS),
    cnn_finetune=_without_stairs(_SMOKE_STEPS),
    source_images=dict(anatomy=4, sampling=4, modality=4),
    target_images=2,
    val_images=2,
    test_images=2,
    alphas=(0.1, 0.01),
    deltas=(1e-3, 1e-1),
    figure6=dict(
        num_phases=3, stair_initial_phases=1, stair_first_stage_epochs=1, stair_epochs_per_stage=1, epochs=2
    ),
    figure7_sizes=(1, 2),
    figure7_draws=2,
    description="SMOKE profile: checks the chain runs (16x18 images, 1 phase, DnCn 2x2x4, UNet 4 "
    "channels 2 pools, 2 steps a run); its numbers mean nothing",
)
PROFILES = Registry.of_profiles(PAPER, QUICK, SMOKE)
