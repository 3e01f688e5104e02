"""The smoothed variational energy ``phi_eps(x) = f(x) + kappa r_eps(x)`` of one batch (SPEC 2).

Eq. (3)/(11) of the meta paper with ``R = kappa r``, ``kappa = sigmoid(omega_i)`` per sample, and
``r`` replaced by its smoothing ``r_eps`` (eq. (5), or Huber as in the LDA paper). A
:class:`Point` caches ``g(x)`` and its pre-activations so that one feature pass serves the
energy, its gradient and the branch tests of a phase.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

import tensorflow as tf

from lda_tf.checks import check_choice
from lda_tf.math import broadcastable_per_sample
from lda_tf.nn.features import FeatureExtractor, FeatureMaps
from lda_tf.nn.regularizers import smoothed_l21, smoothed_l21_cotangent

REGULARIZER_GRADIENTS = ("explicit", "autodiff")


def check_regularizer_gradient(regularizer_gradient: str) -> str:
    return check_choice(regularizer_gradient, REGULARIZER_GRADIENTS, "regularizer_gradient")


class DataFidelity(Protocol):
    """``f`` and ``grad f`` per sample; :class:`lda_tf.mri.MRIOperator` is one."""

    def data_fidelity(self, image: tf.Tensor) -> tf.Tensor: ...

    def data_fidelity_gradient(self, image: tf.Tensor) -> tf.Tensor: ...


class FeatureMap(Protocol):
    """What the energy uses of its feature map: ``g`` (:class:`FeatureExtractor`) or U-LDA's
    ``q = h o g`` (:class:`lda_tf.nn.AdaptedFeatures`)."""

    def kernels(self) -> list[tf.Tensor]: ...

    def forward(self, image: tf.Tensor, kernels: Sequence[tf.Tensor] | None = None) -> FeatureMaps: ...

    def jacobian_transpose(
        self, preactivations: Sequence[tf.Tensor], cotangent: tf.Tensor, kernels: Sequence[tf.Tensor] | None
    ) -> tf.Tensor: ...


class Point(NamedTuple):
    """An iterate ``x`` ``[B, H, W]`` with its feature maps ``g(x)``."""

    image: tf.Tensor
    features: FeatureMaps


def as_dtype_of(real: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """A real tensor in ``like``'s dtype; ``tf.complex(a, 0)`` for complex (its gradient is the
    real part of the cotangent, which ``tf.cast`` also gives, with a warning)."""
    real = tf.convert_to_tensor(real, tf.float32)
    return tf.complex(real, tf.zeros_like(real)) if like.dtype.is_complex else real


def per_sample(scalars: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """Reshape ``[B]`` real scalars to broadcast against ``[B, H, W]`` ``like`` (in its dtype)."""
    return as_dtype_of(broadcastable_per_sample(scalars, like), like)


class VariationalObjective:
    """``phi_eps = f + kappa r_eps`` for a batch, with ``f`` from ``data`` and ``r`` from ``g``.

    Args:
        data: the data-fidelity term (:class:`DataFidelity`; the measurement's ``Measured.data``).
        extractor: the feature map: ``g`` (:class:`FeatureExtractor`), or ``q = h o g`` with U-LDA's
            domain adapters (:class:`lda_tf.nn.AdaptedFeatures`, eq. (4.2) of 002).
        smoothing: ``"sqrt"`` or ``"huber"``.
        kappa: ``[B]`` regularisation weights ``sigmoid(omega_i)`` (ones for the baseline).
        kernels: ``g``'s block kernels, computed once per forward pass.
        regularizer_gradient: ``"explicit"`` (default): ``grad r_eps = J_g^H [...]`` by the
            hand-written transpose (:meth:`FeatureExtractor.jacobian_transpose`);
            ``"autodiff"``: the same by reverse-mode autodiff through ``g``, the naive
            formulation, kept as the reference that tests and ``benchmarks/bench_model.py``
            compare against (it makes training differentiate one order higher).
    """

    def __init__(
        self,
        data: DataFidelity,
        extractor: FeatureExtractor | FeatureMap,
        smoothing: str,
        kappa: tf.Tensor,
        kernels: Sequence[tf.Tensor] | None = None,
        regularizer_gradient: str = "explicit",
    ):
        self.regularizer_gradient_mode = check_regularizer_gradient(regularizer_gradient)
        self.data = data
        self.extractor = extractor
        self.smoothing = smoothing
        self.kappa = tf.convert_to_tensor(kappa, tf.float32)
        self.kernels = list(extractor.kernels() if kernels is None else kernels)

    def without_gradients(self) -> VariationalObjective:
        """The same energy with every learned tensor behind ``stop_gradient``; used by the line
        search, whose accepted step size is piecewise constant in the parameters."""
        return VariationalObjective(
            self.data,
            self.extractor,
            self.smoothing,
            tf.stop_gradient(self.kappa),
            [tf.stop_gradient(kernel) for kernel in self.kernels],
            self.regularizer_gradient_mode,
        )

    def point(self, image: tf.Tensor) -> Point:
        return Point(image=image, features=self.extractor.forward(image, self.kernels))

    def regularizer(self, point: Point, eps: tf.Tensor) -> tf.Tensor:
        """``r_eps(x)`` -> ``[B]``."""
        return smoothed_l21(point.features.output, eps, self.smoothing)

    def value(self, point: Point, eps: tf.Tensor) -> tf.Tensor:
        """``phi_eps(x) = f(x) + kappa r_eps(x)`` -> ``[B]``."""
        return self.data.data_fidelity(point.image) + self.kappa * self.regularizer(point, eps)

    def regularizer_gradient(self, point: Point, eps: tf.Tensor) -> tf.Tensor:
        """``grad r_eps(x) = J_g(x)^H [g_j / s'_j]_j`` (eq. (A2) / LDA (10)) -> ``[B, H, W]``."""
        if self.regularizer_gradient_mode == "autodiff":
            with tf.GradientTape() as tape:
                tape.watch(point.image)
                value = tf.reduce_sum(self.regularizer(self.point(point.image), eps))
            return tape.gradient(value, point.image)
        cotangent = smoothed_l21_cotangent(point.features.output, eps, self.smoothing)
        return self.extractor.jacobian_transpose(point.features.preactivations, cotangent, self.kernels)

    def gradient(self, point: Point, eps: tf.Tensor) -> tf.Tensor:
        """``grad phi_eps(x) = grad f(x) + kappa grad r_eps(x)`` -> ``[B, H, W]``."""
        regularizer_gradient = self.regularizer_gradient(point, eps)
        return (
            self.data.data_fidelity_gradient(point.image)
            + per_sample(self.kappa, regularizer_gradient) * regularizer_gradient
        )
