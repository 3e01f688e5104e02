"""``DnCn``: the deep cascade of CNNs of Schlemper et al. 2018 ("A deep cascade of convolutional
neural networks for dynamic MR image reconstruction", IEEE TMI 37(2), ref. [33] of the U-LDA
paper), the DnCn baseline of its Tables 1-3.

From the zero filling ``x_0 = F^H M y``, cascade ``c = 1 .. n_c``:

    x <- x + CNN_c(x)                          (residual CNN, the image as two real channels)
    x <- F^H [(1 - M) F x + M y]                (data consistency, noise-free: eq. (7), lambda -> inf)

``CNN_c``: ``n_d`` 3x3 convolutions, ``n_f`` channels and a leaky ReLU after each but the last,
which maps back to the 2 channels (real, imaginary); the cascades share no weights. Sizes: the
U-LDA authors' release, ``n_c = 5``, ``n_d = 5``, ``n_f = 16`` with leaky ReLU (digest A2.4).
Decision: the leaky ReLU's slope is 0.01 (PyTorch's ``nn.LeakyReLU`` default; the release names
no other); the convolutions have biases and Keras's Glorot-uniform kernels.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from lda_tf.cnn.base import CNNReconstruction, hard_data_consistency
from lda_tf.math import channels_to_complex, complex_to_channels
from lda_tf.measurement import Measured, Measurement


class ResidualCNN(keras.layers.Layer):
    """One cascade's CNN with its residual connection: ``x + CNN(x)`` on complex ``[B, H, W]``."""

    def __init__(self, num_layers: int, num_filters: int, kernel_size: int, leaky_slope: float, **kwargs):
        super().__init__(**kwargs)
        self.leaky_slope = float(leaky_slope)
        self.convolutions = [
            keras.layers.Conv2D(
                num_filters if index < num_layers - 1 else 2,
                kernel_size,
                padding="same",
                name=f"conv{index + 1}",
            )
            for index in range(num_layers)
        ]

    def build(self, input_shape=None):
        channels = 2
        for convolution in self.convolutions:
            convolution.build((None, None, None, channels))
            channels = convolution.filters
        self.built = True

    def call(self, image: tf.Tensor) -> tf.Tensor:
        features = complex_to_channels(image)
        for convolution in self.convolutions[:-1]:
            features = tf.nn.leaky_relu(convolution(features), alpha=self.leaky_slope)
        return image + channels_to_complex(self.convolutions[-1](features))


@keras.saving.register_keras_serializable(package="lda_tf")
class DnCn(CNNReconstruction):
    """DnCn (module docstring).

    Args:
        measurement: the :class:`~lda_tf.measurement.Measurement` layer (or its serialized config):
            ``lda_tf.mri.MRISampling(name="measurement")``, whose data term makes the data
            consistency exact (:func:`~lda_tf.cnn.base.hard_data_consistency`).
        num_cascades: ``n_c``, the cascades built (the network's phases).
        num_layers: ``n_d``, convolutions per cascade (>= 2).
        num_filters: ``n_f``, channels of every convolution but the last.
        kernel_size: side of the convolution kernels.
        leaky_slope: negative slope of the leaky ReLU.
        active_phases: cascades run initially (default all).
    """

    def __init__(
        self,
        measurement: Measurement | dict,
        num_cascades: int = 5,
        num_layers: int = 5,
        num_filters: int = 16,
        kernel_size: int = 3,
        leaky_slope: float = 0.01,
        active_phases: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._set_up_cnn(measurement, num_cascades, active_phases)
        if num_layers < 2 or num_filters < 1 or kernel_size < 1:
            raise ValueError(
                "num_layers must be >= 2 and num_filters, kernel_size >= 1; got "
                f"num_layers={num_layers}, num_filters={num_filters}, kernel_size={kernel_size}"
            )
        self.num_layers, self.num_filters, self.kernel_size = (
            int(num_layers),
            int(num_filters),
            int(kernel_size),
        )
        self.leaky_slope = float(leaky_slope)
        self.cascades = [
            ResidualCNN(num_layers, num_filters, kernel_size, leaky_slope, name=f"cascade_{c + 1}")
            for c in range(self.num_phases)
        ]
        self.build(None)

    def build_layers(self) -> None:
        for cascade in self.cascades:
            cascade.build()

    def reconstruct(self, measured: Measured, training=None) -> tf.Tensor:
        image = measured.initial
        for cascade in self.cascades[: self.active_phases]:
            image = hard_data_consistency(measured.data, cascade(image))
        return image

    def get_config(self):
        config = super().get_config()
        config.update(
            num_cascades=self.num_phases,
            num_layers=self.num_layers,
            num_filters=self.num_filters,
            kernel_size=self.kernel_size,
            leaky_slope=self.leaky_slope,
        )
        return config
