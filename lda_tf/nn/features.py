"""Learned feature extractor ``g`` (eq. (18)) and its explicit Jacobian-transpose ``J_g(x)^H v``.

``g(x) = w_l * phi(... phi(w_2 * phi(w_1 * x)))``: ``l`` bias-free 3x3 convolutions with ``d``
kernels each, the smoothed ReLU ``phi`` (19) applied to real and imaginary parts separately between
layers and none after the last (SPEC 2); ``activate_last`` adds ``phi`` after the last layer too
(U-LDA's literal "each followed by a smoothed ReLU", section 5.1; docs/ulda.md).
``g_j(x)``, the feature vector at pixel ``j``, has ``d`` complex (or real) channels.

``J_g(x)^H v`` is computed by the chain rule written out: transposed convolutions sharing g's
kernels with the activation derivatives in between, so a forward pass of the unrolled network
holds no nested autodiff (its training gradient is then second, not third, order). It equals the
autodiff vector-Jacobian product of ``<g(x), v>`` (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import keras
import tensorflow as tf

from lda_tf.math import channels_to_complex, complex_to_channels
from lda_tf.nn.activations import smoothed_relu, smoothed_relu_derivative
from lda_tf.nn.complex_conv import BlockConv2D


class FeatureMaps(NamedTuple):
    """``g(x)`` as stacked real channels ``[B, H, W, p*d]`` and the pre-activations
    ``w_q * phi(...)`` of layers 1..l-1 (1..l with ``activate_last``) that ``J_g^H`` needs."""

    output: tf.Tensor
    preactivations: tuple[tf.Tensor, ...]


def with_relu_delta(config: dict) -> dict:
    """A layer config that may come from a file saved before the smoothed-ReLU parameter was named
    ``relu_delta`` (it was ``delta``), with the current name."""
    config = dict(config)
    if "delta" in config:
        config["relu_delta"] = config.pop("delta")
    return config


@keras.saving.register_keras_serializable(package="lda_tf")
class FeatureExtractor(keras.layers.Layer):
    """``g``: ``[B, H, W]`` complex64 (or float32 if ``complex_valued=False``) -> ``[B, H, W, p*d]``.

    Args:
        num_layers: ``l``, the number of convolutions (meta paper 3, LDA paper 4).
        num_filters: ``d``, kernels per convolution (meta paper 4, LDA paper 32).
        kernel_size: spatial size of every kernel (3 in both papers).
        relu_delta: ``delta`` of the smoothed ReLU, eq. (19) (meta paper 1e-3, LDA paper 0.01);
            named apart from Algorithm 2's stop threshold ``delta`` (:mod:`lda_tf.training.bilevel`).
        complex_valued: complex convolutions on complex images (MRI) or real ones (natural images).
        kernel_scale: the kernels start Glorot-uniform (Xavier, both papers) times this factor
            (1 = Xavier; ``g`` then starts ``kernel_scale ** l`` times the Xavier one).
        activate_last: apply the smoothed ReLU after the last convolution too (default False: none,
            as SPEC 2 and LDA's ``g``; True: U-LDA's literal reading, section 5.1).
        conjugate_input: every convolution takes the conjugate of its input, ``w_q * conj(.)``:
            the authors' TF1 release (:class:`~lda_tf.nn.complex_conv.BlockConv2D`); complex only.
    """

    def __init__(
        self,
        num_layers: int = 3,
        num_filters: int = 4,
        kernel_size: int = 3,
        relu_delta: float = 1e-3,
        complex_valued: bool = True,
        kernel_scale: float = 1.0,
        activate_last: bool = False,
        conjugate_input: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if num_layers < 1 or num_filters < 1 or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(
                "FeatureExtractor needs num_layers >= 1, num_filters >= 1 and an odd kernel_size; "
                f"got l={num_layers}, d={num_filters}, kernel_size={kernel_size}"
            )
        if relu_delta <= 0:
            raise ValueError(f"relu_delta (the smoothed-ReLU delta) must be positive; got {relu_delta}")
        if kernel_scale <= 0:
            raise ValueError(f"kernel_scale must be positive; got {kernel_scale}")
        self.num_layers = int(num_layers)
        self.num_filters = int(num_filters)
        self.kernel_size = int(kernel_size)
        self.relu_delta = float(relu_delta)
        self.complex_valued = bool(complex_valued)
        self.kernel_scale = float(kernel_scale)
        self.activate_last = bool(activate_last)
        self.conjugate_input = bool(conjugate_input)
        # Glorot uniform is VarianceScaling(1, fan_avg, uniform); weights times c: variance times c^2.
        initializer = (
            "glorot_uniform"
            if self.kernel_scale == 1.0
            else keras.initializers.VarianceScaling(
                scale=self.kernel_scale**2, mode="fan_avg", distribution="uniform"
            )
        )
        self.convolutions = [
            BlockConv2D(
                in_channels=1 if q == 0 else self.num_filters,
                filters=self.num_filters,
                kernel_size=self.kernel_size,
                complex_valued=self.complex_valued,
                kernel_initializer=initializer,
                conjugate_input=self.conjugate_input,
                name=f"conv_{q + 1}",
            )
            for q in range(self.num_layers)
        ]

    def build(self, input_shape=None):
        for convolution in self.convolutions:
            convolution.build()
        self.built = True

    @property
    def image_dtype(self) -> tf.DType:
        return tf.complex64 if self.complex_valued else tf.float32

    def to_channels(self, image: tf.Tensor) -> tf.Tensor:
        """``[B, H, W]`` image -> ``[B, H, W, p]`` stacked real channels."""
        if image.dtype != self.image_dtype:
            raise TypeError(f"g expects {self.image_dtype.name} images [B, H, W]; got {image.dtype.name}")
        if self.complex_valued:
            return complex_to_channels(image)
        return image[..., None]

    def from_channels(self, channels: tf.Tensor) -> tf.Tensor:
        """``[B, H, W, p]`` stacked real channels -> ``[B, H, W]`` image."""
        if self.complex_valued:
            return channels_to_complex(channels)
        return channels[..., 0]

    def kernels(self) -> list[tf.Tensor]:
        """The block kernels of all layers; compute once and pass to ``forward``/``jacobian_transpose``
        when g is applied many times with the same weights (every phase of a forward pass)."""
        if not self.built:
            self.build()
        return [convolution.block_kernel() for convolution in self.convolutions]

    def forward(self, image: tf.Tensor, kernels: Sequence[tf.Tensor] | None = None) -> FeatureMaps:
        """``g(x)`` and the pre-activations, eq. (18)."""
        kernels = self.kernels() if kernels is None else kernels
        hidden = self.to_channels(image)
        preactivations = []
        for index, (convolution, kernel) in enumerate(zip(self.convolutions, kernels)):
            hidden = convolution(hidden, kernel=kernel)
            if index < self.num_layers - 1 or self.activate_last:
                preactivations.append(hidden)
                hidden = smoothed_relu(hidden, self.relu_delta)
        return FeatureMaps(output=hidden, preactivations=tuple(preactivations))

    def call(self, image: tf.Tensor) -> tf.Tensor:
        return self.forward(image).output

    def jacobian_transpose(
        self,
        preactivations: Sequence[tf.Tensor],
        cotangent: tf.Tensor,
        kernels: Sequence[tf.Tensor] | None = None,
    ) -> tf.Tensor:
        """``J_g(x)^H v`` for ``v`` = ``cotangent`` ``[B, H, W, p*d]`` -> ``[B, H, W]`` image.

        Reverse chain rule of eq. (18): ``w_1^H phi'(a_1) w_2^H phi'(a_2) ... w_l^H v`` with
        ``a_q`` the stored pre-activations (formula (A2) of the meta paper applies it to
        ``v_j = g_j / sqrt(||g_j||^2 + eps^2)``).
        """
        kernels = self.kernels() if kernels is None else kernels
        adjoint = cotangent
        if self.activate_last:
            adjoint = adjoint * smoothed_relu_derivative(preactivations[-1], self.relu_delta)
        for index in reversed(range(self.num_layers)):
            adjoint = self.convolutions[index].transpose(adjoint, kernel=kernels[index])
            if index > 0:
                adjoint = adjoint * smoothed_relu_derivative(preactivations[index - 1], self.relu_delta)
        return self.from_channels(adjoint)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_layers=self.num_layers,
            num_filters=self.num_filters,
            kernel_size=self.kernel_size,
            relu_delta=self.relu_delta,
            complex_valued=self.complex_valued,
            kernel_scale=self.kernel_scale,
            activate_last=self.activate_last,
            conjugate_input=self.conjugate_input,
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**with_relu_delta(config))
