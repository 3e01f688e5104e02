"""Recipes: one per training procedure (network, datasets, extra callbacks), run by
:func:`lda_tf.training.fit.fit`, and :func:`train`, which trains, resumes or reuses a run.

============ ======================= =================================================
recipe       class                   procedure
============ ======================= =================================================
meta         :class:`MetaBilevel`    Algorithm 2 over several tasks (meta paper)
meta_release :class:`MetaRelease`    the authors' TF1 release as its script runs
conventional :class:`SupervisedTheta` theta on one task, kappa = 1 (meta paper 5.2;
                                     with the LDA network: CS-MRI of the LDA paper)
adaptation   :class:`SupervisedOmega` omega of unseen tasks, theta frozen (5.4)
block_cs     :class:`BlockCS`        block CS of natural images (LDA paper 4.2.1-2)
ulda         :class:`ULDARecipe`     U-LDA Step 1 (universal) or Step 2 (transfer);
                                     :func:`train_ulda` runs the Init / AUG chains
task_corr... :class:`TaskCorrelation` ``task_correlation``: Algorithm 1 of paper 004,
                                     task-correlation weights (vector / matrix model)
cnn          :class:`CNNRecipe`      the DnCn / U-Net baselines of U-LDA's Tables 1-3,
                                     on pooled domains or fine-tuned on a target
============ ======================= =================================================
"""

from __future__ import annotations

from pathlib import Path

from lda_tf.recipes.block_cs import BlockCS
from lda_tf.recipes.cnn import CNNRecipe
from lda_tf.recipes.config import (
    BlockCSData,
    MRIData,
    RunConfig,
    TaskCorrelationData,
    adaptation_config,
    block_cs_config,
    cnn_config,
    conventional_config,
    lda_mri_config,
    meta_config,
    meta_release_config,
    task_correlation_config,
    ulda_config,
)
from lda_tf.recipes.mri import MetaBilevel, MetaRelease, SupervisedOmega, SupervisedTheta
from lda_tf.recipes.task_correlation import TaskCorrelation
from lda_tf.recipes.ulda import ULDARecipe, train_ulda
from lda_tf.training.config import (
    NetworkConfig,
    OptimizerConfig,
    SettingsMismatch,
    StairConfig,
    lda_paper_network,
)
from lda_tf.training.fit import fit

RECIPES = {
    recipe.name: recipe
    for recipe in (
        MetaBilevel,
        MetaRelease,
        SupervisedTheta,
        SupervisedOmega,
        BlockCS,
        ULDARecipe,
        TaskCorrelation,
        CNNRecipe,
    )
}


def train(config: RunConfig) -> Path:
    """Train as ``config`` says -> the run's ``model.keras``: a fresh run, a resume from the
    newest checkpoint, or a finished run reused, each only when the run directory's stored
    settings equal ``config``'s (more epochs extend a run; logging and runtime settings may
    differ); otherwise :class:`SettingsMismatch` lists the differing settings."""
    return fit(RECIPES[config.recipe](config))


__all__ = [
    "RECIPES",
    "BlockCSData",
    "MRIData",
    "NetworkConfig",
    "OptimizerConfig",
    "RunConfig",
    "SettingsMismatch",
    "StairConfig",
    "TaskCorrelationData",
    "adaptation_config",
    "block_cs_config",
    "cnn_config",
    "conventional_config",
    "lda_mri_config",
    "lda_paper_network",
    "meta_config",
    "meta_release_config",
    "task_correlation_config",
    "train",
    "train_ulda",
    "ulda_config",
]
