"""Convolutional reconstruction baselines of the U-LDA paper's Tables 1-3: DnCn (cascades of a CNN
and data consistency) and fastMRI's magnitude U-Net, as unrolled networks that train, evaluate and
load like :class:`~lda_tf.loa.UnrolledLOA` (:mod:`lda_tf.cnn.base`)."""

from lda_tf.cnn.base import CNNReconstruction, hard_data_consistency
from lda_tf.cnn.dncn import DnCn, ResidualCNN
from lda_tf.cnn.unet import UNet

__all__ = ["CNNReconstruction", "DnCn", "ResidualCNN", "UNet", "hard_data_consistency"]
