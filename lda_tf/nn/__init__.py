"""Network pieces of the learned regulariser: complex convolution, smoothed ReLU, g, adapters, r_eps."""

from lda_tf.nn.activations import smoothed_relu, smoothed_relu_derivative
from lda_tf.nn.adapter import AdaptedFeatures, AdapterBank
from lda_tf.nn.complex_conv import BlockConv2D
from lda_tf.nn.features import FeatureExtractor, FeatureMaps
from lda_tf.nn.regularizers import smoothed_l21, smoothed_l21_cotangent

__all__ = [
    "AdaptedFeatures",
    "AdapterBank",
    "BlockConv2D",
    "FeatureExtractor",
    "FeatureMaps",
    "smoothed_l21",
    "smoothed_l21_cotangent",
    "smoothed_relu",
    "smoothed_relu_derivative",
]
