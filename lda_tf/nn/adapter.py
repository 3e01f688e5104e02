"""Domain adapters of U-LDA (002, section 4): ``q = h_i o g``, ``r(x) = ||h_i(g(x))||_{2,1}`` (4.2).

An adapter ``h_i`` is one bias-free complex 3x3 convolution ``d -> d`` (16 -> 16 in the paper)
applied to ``g``'s output inside the regulariser; each domain ``i`` has its own. An
:class:`AdapterBank` holds the adapters of all domains, each a :class:`BlockConv2D` with its own
weights (so freezing a domain freezes its adapter exactly). A batch may mix domains: the bank
convolves with all adapters at once (their block kernels side by side, one ``conv2d`` producing
``D * p*d`` channels) and keeps, per sample, the slice of its domain (a one-hot ``selector``
``[B, D]``); the transpose puts the cotangent into that slice and applies one
``conv2d_transpose`` with the same kernel, so it is the exact adjoint ``W_{h_i}^H`` per sample.

:class:`AdaptedFeatures` is the composite feature map ``q = h o g`` with the interface the
objective uses for ``g`` (``kernels``, ``forward``, ``jacobian_transpose``). Its
Jacobian-transpose is the chain rule ``J_q(x)^H v = J_g(x)^H (W_h^H v)`` (section 4.1), written out
like ``g``'s (no nested autodiff; tested against autodiff).

Decision: adapters start as the identity (a Dirac kernel: the centre tap of ``W_r`` is the
identity matrix, everything else zero), so that a model starts at ``r = ||g(x)||_{2,1}``, the
regulariser of an LDA-trained ``g`` (the release copies ``g_i``'s second layer into ``h_i``; that
is ``"copy"`` in :class:`lda_tf.loa.UnrolledLOA`). ``"random"`` draws Glorot-uniform kernels.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from lda_tf.checks import check_choice
from lda_tf.math import traced_shape
from lda_tf.nn.complex_conv import BlockConv2D
from lda_tf.nn.features import FeatureExtractor, FeatureMaps

ADAPTER_INITS = ("identity", "random", "copy")


def dirac_kernel(kernel_size: int, channels: int) -> np.ndarray:
    """``[k, k, C, C]`` kernel of the identity map: the centre tap is the identity matrix."""
    kernel = np.zeros((kernel_size, kernel_size, channels, channels), np.float32)
    kernel[kernel_size // 2, kernel_size // 2] = np.eye(channels, dtype=np.float32)
    return kernel


@keras.saving.register_keras_serializable(package="lda_tf")
class AdapterBank(keras.layers.Layer):
    """``D`` adapters ``h_1 .. h_D``: bias-free ``channels -> channels`` convolutions (module doc).

    Args:
        num_domains: ``D``.
        channels: ``d``, the channels of ``g``'s output (16 in U-LDA).
        kernel_size: 3 in U-LDA.
        complex_valued: complex convolutions (MRI) or real ones.
        initializer: ``"identity"`` (default) or ``"random"`` (Glorot uniform); ``"copy"`` starts
            as the identity here and is filled by the model from ``g``'s second layer.
    """

    def __init__(
        self,
        num_domains: int,
        channels: int,
        kernel_size: int = 3,
        complex_valued: bool = True,
        initializer: str = "identity",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if num_domains < 1:
            raise ValueError(f"num_domains must be >= 1; got {num_domains}")
        self.num_domains = int(num_domains)
        self.channels = int(channels)
        self.kernel_size = int(kernel_size)
        self.complex_valued = bool(complex_valued)
        self.initializer = check_choice(initializer, ADAPTER_INITS, "adapter_init")
        self.adapters = [
            BlockConv2D(
                self.channels,
                self.channels,
                self.kernel_size,
                self.complex_valued,
                kernel_initializer="glorot_uniform" if initializer == "random" else "zeros",
                name=f"adapter_{index + 1}",
            )
            for index in range(self.num_domains)
        ]

    def build(self, input_shape=None):
        for adapter in self.adapters:
            adapter.build()
            if self.initializer != "random":  # the imaginary part stays zero: W = identity
                adapter.kernel_real.assign(dirac_kernel(self.kernel_size, self.channels))
        self.built = True

    def kernel(self) -> tf.Tensor:
        """The block kernels of all adapters side by side: ``[k, k, p*d, D*p*d]``."""
        if not self.built:
            self.build()
        return tf.concat([adapter.block_kernel() for adapter in self.adapters], axis=-1)

    def _split(self, stacked: tf.Tensor) -> tf.Tensor:
        """``[B, H, W, D*p*d] -> [B, H, W, D, p*d]``."""
        return tf.reshape(stacked, traced_shape(stacked)[:-1] + [self.num_domains, -1])

    def apply(self, features: tf.Tensor, selector: tf.Tensor, kernel: tf.Tensor | None = None) -> tf.Tensor:
        """``h_i(features)`` per sample, ``i`` the domain ``selector`` ``[B, D]`` (one-hot) picks."""
        kernel = self.kernel() if kernel is None else kernel
        every_domain = self._split(tf.nn.conv2d(features, kernel, strides=1, padding="SAME"))
        return tf.reduce_sum(every_domain * selector[:, None, None, :, None], axis=-2)

    def transpose(
        self, cotangent: tf.Tensor, selector: tf.Tensor, kernel: tf.Tensor | None = None
    ) -> tf.Tensor:
        """``W_{h_i}^H v`` per sample: the exact adjoint of :meth:`apply` for a fixed ``selector``."""
        kernel = self.kernel() if kernel is None else kernel
        spread = cotangent[..., None, :] * selector[:, None, None, :, None]
        shape = traced_shape(cotangent)
        spread = tf.reshape(spread, shape[:-1] + [-1])
        return tf.nn.conv2d_transpose(spread, kernel, shape, strides=1, padding="SAME")

    def get_config(self):
        config = super().get_config()
        config.update(
            num_domains=self.num_domains,
            channels=self.channels,
            kernel_size=self.kernel_size,
            complex_valued=self.complex_valued,
            initializer=self.initializer,
        )
        return config


class AdaptedFeatures:
    """``q = h o g`` for one batch, each sample with its domain's adapter (``selector`` ``[B, D]``).

    Offers what :class:`lda_tf.loa.VariationalObjective` uses of a feature map: ``kernels()``
    (``g``'s block kernels, then the adapters' stacked kernel), ``forward`` (``q(x)`` with ``g``'s
    pre-activations) and ``jacobian_transpose`` (``J_q^H v = J_g^H (W_h^H v)``).
    """

    def __init__(self, extractor: FeatureExtractor, adapters: AdapterBank, selector: tf.Tensor):
        self.extractor = extractor
        self.adapters = adapters
        self.selector = tf.convert_to_tensor(selector, tf.float32)

    @property
    def complex_valued(self) -> bool:
        return self.extractor.complex_valued

    def kernels(self) -> list[tf.Tensor]:
        return [*self.extractor.kernels(), self.adapters.kernel()]

    def forward(self, image: tf.Tensor, kernels: Sequence[tf.Tensor] | None = None) -> FeatureMaps:
        """``q(x) = h(g(x))`` (4.2) with ``g``'s pre-activations."""
        kernels = self.kernels() if kernels is None else kernels
        features = self.extractor.forward(image, kernels[:-1])
        return FeatureMaps(
            output=self.adapters.apply(features.output, self.selector, kernels[-1]),
            preactivations=features.preactivations,
        )

    def jacobian_transpose(
        self,
        preactivations: Sequence[tf.Tensor],
        cotangent: tf.Tensor,
        kernels: Sequence[tf.Tensor] | None = None,
    ) -> tf.Tensor:
        """``J_q(x)^H v = J_g(x)^H (W_h^H v)`` -> ``[B, H, W]`` image."""
        kernels = self.kernels() if kernels is None else kernels
        adapted = self.adapters.transpose(cotangent, self.selector, kernels[-1])
        return self.extractor.jacobian_transpose(preactivations, adapted, kernels[:-1])
