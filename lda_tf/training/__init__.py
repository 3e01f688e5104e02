"""Training: bilevel (meta), conventional and adaptation steps in Keras ``fit``, callbacks."""

from lda_tf.training.bilevel import BilevelConfig, penalty_objective
from lda_tf.training.losses import reconstruction_loss
from lda_tf.training.trainer import MODES, LOATrainer

__all__ = ["BilevelConfig", "LOATrainer", "MODES", "penalty_objective", "reconstruction_loss"]
