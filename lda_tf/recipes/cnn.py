"""The CNN baselines of the U-LDA paper's Tables 1-3 (DnCn and the U-Net, :mod:`lda_tf.cnn`),
trained through the U-LDA recipe's machinery as the LDA baseline is: ``step="universal"`` trains a
fresh network on its domains pooled (the sources), ``step="transfer"`` fine-tunes the whole of
``init_model`` on its domains (a target; :class:`lda_tf.recipes.ulda.TransferStep` without domain
groups). Same data pipeline (``per_domain`` pairs of every domain in a batch), run directory,
checkpoints and resume (:func:`lda_tf.recipes.train`).

Loss: the per-pixel mean squared error of the magnitudes, ``mean (|x| - |xhat|)^2``
(:func:`lda_tf.training.losses.reconstruction_loss`, ``reduction="mean"``). Decision: one loss
for both baselines (the DnCn paper trains with the squared error; fastMRI's U-Net with L1) and
without U-LDA's SSIM term (3.2a), which belongs to the proposed method.
"""

from __future__ import annotations

from pathlib import Path

from lda_tf.cnn.base import CNNReconstruction
from lda_tf.mri.measurement import MRISampling
from lda_tf.recipes.config import RunConfig
from lda_tf.recipes.ulda import TransferStep, ULDARecipe


class FreshCNN:
    """``step="universal"``: a CNN built from ``config.cnn``, trained on the pooled domains."""

    first_domain = 0

    def __init__(self, config: RunConfig):
        if config.cnn is None:
            raise ValueError("recipe 'cnn' needs the cnn settings (cnn_architecture, ...)")
        self.config = config

    def build_network(self) -> CNNReconstruction:
        return self.config.cnn.build(MRISampling(name="measurement"))


class CNNRecipe(ULDARecipe):
    """DnCn or the U-Net on pooled domains, or fine-tuned from ``init_model`` (module docstring)."""

    name, mode = "cnn", "conventional"
    sections = frozenset({"cnn"})
    unused = frozenset(
        {
            "omega_learning_rate",
            "stair_lr_factor",
            "init",
            "aug",
            "init_models",
            "targets_in_init",
            "domain_groups",
            "adapter_init",
            "activate_last",
            "ssim_weight",
            "loss_reduction",
            "lr_decay_per_stage",
        }
    )

    def __init__(self, config: RunConfig):
        super().__init__(config)
        data = self.data
        if data.domain_groups or data.init != "none" or data.aug or data.targets_in_init:
            raise ValueError(
                "recipe 'cnn' trains one network on pooled domains: `domain_groups`, `aug` and "
                "`targets_in_init` must be false and `init` none"
            )

    @staticmethod
    def steps() -> dict:
        return {"universal": FreshCNN, "transfer": TransferStep}

    def trainer_options(self) -> dict:
        return dict(loss="half_squared", loss_reduction="mean")

    def callbacks(self, output: Path) -> list:
        return []


__all__ = ["CNNRecipe"]
