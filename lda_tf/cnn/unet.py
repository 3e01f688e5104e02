"""``UNet``: the U-Net baseline of the U-LDA paper's Tables 1-3 (ref. [3]: the fastMRI baseline,
Zbontar et al. 2018, arXiv:1811.08839, ``fastmri.models.Unet``) on the magnitude of the zero filling.

As fastMRI's ``Unet(in_chans=1, out_chans=1, chans, num_pool_layers, drop_prob=0)``: per level
down, a block of two 3x3 convolutions (no bias), each followed by instance normalisation (no
affine parameters) and a leaky ReLU of slope 0.2, then 2x2 average pooling; a block with twice the
channels at the bottom; per level up, a 2x2 transposed convolution of stride 2 (no bias, instance
norm, leaky ReLU) halving the channels, the skip connection concatenated, a block; a 1x1
convolution (with bias) to one channel. Channels double per level from ``chans``; the paper size
is ``chans = 32``, 4 pools (about 7.8e6 weights, the paper's "> 7x10^6"). Like fastMRI's U-Net
data transform, the input ``|x_0|`` is normalised per image by its mean and standard deviation and
the output scaled back.

Decisions: the image is padded at the bottom and right with zeros (the normalised mean) to a
multiple of ``2^pools`` and the output cropped back (fastMRI reflect-pads inside the up path
instead; padding once keeps every level's shapes exact for any image size); fastMRI clamps the
normalised input to [-6, 6] and trains with an L1 loss, here nothing is clamped and the loss is
the recipe's (``lda_tf.recipes.cnn``); the output magnitude is returned as a complex image with
zero imaginary part, so training and evaluation treat it as every other reconstruction.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from lda_tf.cnn.base import CNNReconstruction
from lda_tf.measurement import Measured, Measurement

NORM_EPS = 1e-5  # instance normalisation (PyTorch's InstanceNorm2d default)
STD_EPS = 1e-11  # the input normalisation of a constant image


def instance_norm(features: tf.Tensor) -> tf.Tensor:
    """Each channel of each image ``[B, H, W, C]`` to zero mean and unit variance."""
    mean, variance = tf.nn.moments(features, axes=(1, 2), keepdims=True)
    return (features - mean) * tf.math.rsqrt(variance + NORM_EPS)


class ConvBlock(keras.layers.Layer):
    """Two (3x3 convolution, instance norm, leaky ReLU) of ``channels`` channels (fastMRI's
    ``ConvBlock``); ``transposed``: one 2x2 stride-2 transposed convolution instead
    (``TransposeConvBlock``)."""

    def __init__(self, channels: int, leaky_slope: float, transposed: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.leaky_slope = float(leaky_slope)
        if transposed:
            self.convolutions = [
                keras.layers.Conv2DTranspose(channels, 2, strides=2, use_bias=False, name="up")
            ]
        else:
            self.convolutions = [
                keras.layers.Conv2D(channels, 3, padding="same", use_bias=False, name=f"conv{i + 1}")
                for i in range(2)
            ]

    def build(self, input_shape):
        for convolution in self.convolutions:
            convolution.build(input_shape)
            input_shape = (None, None, None, convolution.filters)
        self.built = True

    def call(self, features: tf.Tensor) -> tf.Tensor:
        for convolution in self.convolutions:
            features = tf.nn.leaky_relu(instance_norm(convolution(features)), alpha=self.leaky_slope)
        return features


@keras.saving.register_keras_serializable(package="lda_tf")
class UNet(CNNReconstruction):
    """fastMRI's U-Net on ``|x_0|`` (module docstring).

    Args:
        measurement: the :class:`~lda_tf.measurement.Measurement` layer (or its serialized config),
            ``lda_tf.mri.MRISampling(name="measurement")``.
        channels: channels of the first level (fastMRI's ``chans``; 32 in the paper's size).
        num_pools: pooling levels (fastMRI's ``num_pool_layers``; 4).
        leaky_slope: negative slope of the leaky ReLU (fastMRI: 0.2).
        active_phases: 1 or None (the U-Net is one phase; the argument keeps the saved configuration
            of every unrolled network alike).
    """

    def __init__(
        self,
        measurement: Measurement | dict,
        channels: int = 32,
        num_pools: int = 4,
        leaky_slope: float = 0.2,
        active_phases: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._set_up_cnn(measurement, 1, active_phases)
        if channels < 1 or num_pools < 1:
            raise ValueError(f"channels and num_pools must be >= 1; got {channels}, {num_pools}")
        self.channels, self.num_pools, self.leaky_slope = int(channels), int(num_pools), float(leaky_slope)
        self.widths = widths = [self.channels * 2**level for level in range(self.num_pools + 1)]
        self.down = [
            ConvBlock(widths[level], leaky_slope, name=f"down_{level + 1}") for level in range(num_pools)
        ]
        self.bottom = ConvBlock(widths[-1], leaky_slope, name="bottom")
        self.up_transposed = [
            ConvBlock(widths[level], leaky_slope, transposed=True, name=f"up_transposed_{level + 1}")
            for level in range(num_pools)
        ]
        self.up = [
            ConvBlock(widths[level], leaky_slope, name=f"up_{level + 1}") for level in range(num_pools)
        ]
        self.output_convolution = keras.layers.Conv2D(1, 1, name="output")
        self.build(None)

    def build_layers(self) -> None:
        widths = self.widths  # channels of each level, the bottom's last
        for level in range(self.num_pools):
            self.down[level].build((None, None, None, widths[level - 1] if level else 1))
            self.up_transposed[level].build((None, None, None, widths[level + 1]))
            self.up[level].build((None, None, None, 2 * widths[level]))
        self.bottom.build((None, None, None, widths[-2]))
        self.output_convolution.build((None, None, None, widths[0]))

    def magnitude(self, image: tf.Tensor) -> tf.Tensor:
        """The U-Net on a real ``[B, H, W]`` image: normalised, padded, through the levels, cropped
        and scaled back."""
        mean, variance = tf.nn.moments(image, axes=(1, 2), keepdims=True)
        std = tf.sqrt(variance) + STD_EPS
        height, width = tf.shape(image)[1], tf.shape(image)[2]
        multiple = 2**self.num_pools
        padding = [[0, 0], [0, -height % multiple], [0, -width % multiple]]
        features = tf.pad((image - mean) / std, padding)[..., None]
        skips = []
        for block in self.down:
            features = block(features)
            skips.append(features)
            features = tf.nn.avg_pool2d(features, 2, 2, "VALID")
        features = self.bottom(features)
        for level in reversed(range(self.num_pools)):
            features = self.up_transposed[level](features)
            features = self.up[level](tf.concat([features, skips[level]], axis=-1))
        output = self.output_convolution(features)[:, :height, :width, 0]
        return output * std + mean

    def reconstruct(self, measured: Measured, training=None) -> tf.Tensor:
        magnitude = self.magnitude(tf.abs(measured.initial))
        return tf.complex(magnitude, tf.zeros_like(magnitude))

    def get_config(self):
        config = super().get_config()
        config.update(
            channels=self.channels,
            num_pools=self.num_pools,
            leaky_slope=self.leaky_slope,
        )
        return config
