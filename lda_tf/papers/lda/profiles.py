"""Settings of the LDA paper's experiments per profile (paper, quick, smoke).

``paper`` follows section 4 of the LDA paper: ``g`` with l = 4 convolutions of d = 32 kernels,
delta = 0.01, Huber smoothing, 15 phases trained by warm start (3 phases for 500 epochs, then 2 more
every 200 epochs), Adam 1e-4, 88,912 training crops of 33 x 33 (4.2.1) and 89,600 of 96 x 96
(4.2.2), K = 7 for Tables 4-5, CS-MRI phases 3, 5, ..., 11. Decisions where the paper is silent:
batch 64 crops of 33 x 33 (ISTA-Net+'s), 16 crops of 96 x 96 (the same number of blocks per step
within 10 %), CS-MRI batch 4 with the same warm-start schedule, GD-Net/AGD-Net trained like LDA.

``quick`` is sized for a 2-core CPU (every table within about 10 minutes): d = 16 (Tables 4-5 keep
their own d and l), 5 phases (3 then 5), 3 + 2 epochs of 40 steps, Adam 3e-3, Tables 4-5 at 3
phases, g's kernels at half the Xavier scale (measured, block CS 10 %, two test images: with
Xavier kernels the untrained network's phi-descent, dominated by ``r``, erases the image (5 dB) and
200 steps only bring it back to ``x0 = Q b`` (23.27 / 21.83 dB against 23.26 / 22.03); at half
scale ``g`` starts 16 times smaller and the same steps reach 24.14 / 22.51 dB (Adam 3e-3; 23.59 /
22.39 with 1e-3)), CS-MRI d = 16 on 2x downsampled images with phases 3, 5, 7, the convergence run capped at
300 extra iterations. Its numbers are not comparable to the paper's and every table says so.
``smoke`` only checks that the chain runs (Tables 4-5 at d = 2, 4 and l = 1, 2).
"""

from __future__ import annotations

import dataclasses

from lda_tf.papers.common import Profile, Registry


@dataclasses.dataclass(frozen=True)
class LDAProfile(Profile):
    num_filters: int  # d of Tables 1-3 and the figures
    num_layers: int  # l
    max_phases: int  # K of Tables 1-2 and Figures 6 (right) and 7
    first_stage_epochs: int  # warm start: epochs with 3 phases
    epochs_per_stage: int  # then per +2 phases
    steps_per_epoch: int | None  # None: one pass over the training crops
    block_crops: int  # 33 x 33 training crops (4.2.1)
    block_batch: int
    learned_crops: int  # 96 x 96 training crops (4.2.2)
    learned_batch: int
    learning_rate: float
    kernel_scale: float  # g's kernels start at Xavier times this (natural images)
    complexity_phases: int  # K of Tables 4-5
    complexity_depths: tuple[int, ...]  # d of Table 4
    complexity_layers: tuple[int, ...]  # l of Table 5
    complexity_filters: int  # the d Table 5 holds fixed (the paper: 32)
    test_images: int | None  # cap on the test images (None: all)
    test_size: int  # side of the default (scikit-image) test images
    mri_num_filters: int
    mri_max_phases: int  # CS-MRI phases 3, 5, ..., this
    mri_batch: int
    mri_downsample: int
    mri_steps_per_epoch: int | None
    convergence_iterations: int  # cap on the iterations past the trained phases (Figure 7)

    def stage_count(self, phases: int) -> int:
        """Stages of the warm start 3, 5, ... up to ``phases``."""
        return 1 + max(0, -(-(phases - 3) // 2))

    def epochs(self, phases: int) -> int:
        return self.first_stage_epochs + (self.stage_count(phases) - 1) * self.epochs_per_stage

    def warm_start(self, phases: int) -> dict:
        """Training settings (:mod:`lda_tf.recipes` flat names) of the warm start up to ``phases``
        phases: the whole schedule's epochs, the learning rate and the stage lengths."""
        return dict(
            num_phases=phases,
            epochs=self.epochs(phases),
            learning_rate=self.learning_rate,
            stair_first_stage_epochs=self.first_stage_epochs,
            stair_epochs_per_stage=self.epochs_per_stage,
        )


PAPER = LDAProfile(
    "paper",
    num_filters=32,
    num_layers=4,
    max_phases=15,
    first_stage_epochs=500,
    epochs_per_stage=200,
    steps_per_epoch=None,
    block_crops=88_912,
    block_batch=64,
    learned_crops=89_600,
    learned_batch=16,
    learning_rate=1e-4,
    kernel_scale=1.0,
    complexity_phases=7,
    complexity_depths=(8, 16, 32, 48),
    complexity_layers=(2, 4, 6),
    complexity_filters=32,
    test_images=None,
    test_size=256,
    mri_num_filters=32,
    mri_max_phases=11,
    mri_batch=4,
    mri_downsample=1,
    mri_steps_per_epoch=None,
    convergence_iterations=20_000,
    description="paper profile: LDA paper section 4 (l=4, d=32, 15 phases by warm start 3 (500 epochs) +2 "
    "(200 epochs) ..., Adam 1e-4)",
)
# The other profiles list what they change.
QUICK = dataclasses.replace(
    PAPER,
    name="quick",
    num_filters=16,
    max_phases=5,
    first_stage_epochs=3,
    epochs_per_stage=2,
    steps_per_epoch=40,
    block_crops=4096,
    block_batch=32,
    learned_crops=1024,
    learned_batch=4,
    learning_rate=3e-3,
    kernel_scale=0.5,
    complexity_phases=3,
    mri_num_filters=16,
    mri_max_phases=7,
    mri_batch=6,
    mri_downsample=2,
    mri_steps_per_epoch=15,
    convergence_iterations=300,
    description="QUICK profile, scaled down for a CPU: d=16 (Tables 4-5: their own d, l), 5 phases "
    "(3, then 5) instead of 15, 3+2 epochs of 40 steps instead of 500+200+..., Adam 3e-3 instead of 1e-4, "
    "g's kernels start at Xavier x 0.5, Tables 4-5 at 3 phases instead of 7, CS-MRI at half resolution "
    "with 3, 5, 7 phases; numbers are not comparable to the paper's",
)
SMOKE = dataclasses.replace(
    QUICK,
    name="smoke",
    num_filters=4,
    num_layers=2,
    first_stage_epochs=1,
    epochs_per_stage=1,
    steps_per_epoch=2,
    block_crops=600,
    block_batch=8,
    learned_crops=8,
    learned_batch=2,
    learning_rate=1e-3,
    kernel_scale=1.0,
    complexity_depths=(2, 4),
    complexity_layers=(1, 2),
    complexity_filters=4,
    test_images=2,
    test_size=66,
    mri_num_filters=4,
    mri_max_phases=5,
    mri_batch=4,
    mri_downsample=10,
    mri_steps_per_epoch=2,
    convergence_iterations=5,
    description="SMOKE profile: checks the chain runs (tiny network, 2 steps a stage); its numbers mean "
    "nothing",
)
PROFILES = Registry.of_profiles(PAPER, QUICK, SMOKE)
