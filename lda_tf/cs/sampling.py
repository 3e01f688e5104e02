"""Block compressed sensing as the measurement of an :class:`~lda_tf.loa.UnrolledLOA` (LDA paper
4.2.1 and 4.2.2, Figure 1).

Each ``s x s`` block ``x`` of a real image is measured as ``b = A x`` (``A`` ``[m, n]``); the data
term is ``f(x) = 1/2 sum_blocks ||A x - b||^2`` with ``grad f(x) = A^T (A x - b)`` block by block,
and the start is ``x0 = Q b`` (``Q`` ``[n, m]``).

- Prescribed sampling (4.2.1, ``learned=False``): ``A`` a random Gaussian matrix with orthonormal
  rows, fixed; ``Q = X B^T (B B^T)^{-1}`` fitted on the training blocks
  (:meth:`BlockSampling.fit_initialization`). Both are non-trainable weights, saved with the model.
- Joint learned sampling (4.2.2, ``learned=True``): ``A`` is a convolution with ``m`` kernels of
  size ``s x s`` and stride ``s`` and ``Q`` (the paper's ``A~``) a transposed convolution, both
  trained with the network; ``A`` enters both ``b = A xhat`` and every phase's ``grad f``. The
  training loss gains ``0.01 ||A~ A xhat - xhat||^2`` per sample (:meth:`auxiliary_loss`).
  A stride-``s`` convolution on ``s x s`` blocks is the matrix product with the kernel flattened
  row-major, which is how it is computed here (one matmul per batch).
  Decision: the paper does not say how ``A`` and ``A~`` start; here ``A`` starts as the prescribed
  orthonormal Gaussian and ``A~`` as its transpose (``A~ A`` an orthogonal projection), so the
  learned system starts where the prescribed one does.

Inputs: ground-truth images ``[B, H, W]`` float32 (``b = A xhat`` is simulated, noise-free, as in
the paper), with ``H``, ``W`` multiples of ``s``; or, with a prescribed matrix, measurements
``[B, H/s, W/s, m]`` directly.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from lda_tf.cs.blocks import blocks_as_columns, merge_blocks, split_blocks
from lda_tf.cs.matrices import least_squares_initialization, measurement_count, orthonormal_gaussian
from lda_tf.math import squared_norm
from lda_tf.measurement import Measured, Measurement


class BlockOperator(NamedTuple):
    """``A`` acting block by block on ``[B, H, W]`` real images, with the measurements ``b``."""

    sampling: tf.Tensor  # A, [m, n]
    measurements: tf.Tensor  # b, [B, H/s, W/s, m]
    block_size: int

    def forward(self, image: tf.Tensor) -> tf.Tensor:
        """``A x`` per block: ``[B, H, W]`` -> ``[B, H/s, W/s, m]``."""
        return tf.linalg.matvec(self.sampling, split_blocks(image, self.block_size))

    def adjoint(self, measurements: tf.Tensor) -> tf.Tensor:
        """``A^T b`` per block: ``[B, H/s, W/s, m]`` -> ``[B, H, W]``."""
        return merge_blocks(tf.linalg.matvec(self.sampling, measurements, transpose_a=True), self.block_size)

    def data_fidelity(self, image: tf.Tensor) -> tf.Tensor:
        """``f(x) = 1/2 ||A x - b||^2`` per sample -> ``[B]``."""
        return 0.5 * squared_norm(self.forward(image) - self.measurements)

    def data_fidelity_gradient(self, image: tf.Tensor) -> tf.Tensor:
        """``grad f(x) = A^T (A x - b)`` -> ``[B, H, W]``."""
        return self.adjoint(self.forward(image) - self.measurements)


@keras.saving.register_keras_serializable(package="lda_tf")
class BlockSampling(Measurement):
    """Block CS measurement with ``m = round(ratio s^2)`` measurements per ``s x s`` block (module
    docstring). Paper settings: prescribed ``s = 33`` at 10/25/50 %; learned ``s = 32`` at 10/30 %.

    Args:
        ratio: the CS ratio ``c``.
        block_size: ``s``.
        learned: learn ``A`` and ``A~`` with the network (4.2.2) instead of a fixed ``A`` (4.2.1).
        seed: seed of the Gaussian ``A``.
        consistency_weight: weight of ``||A~ A xhat - xhat||^2`` in the loss (learned only; 0.01).
    """

    complex_valued = False

    def __init__(
        self,
        ratio: float,
        block_size: int = 33,
        learned: bool = False,
        seed: int = 0,
        consistency_weight: float = 0.01,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if block_size < 1:
            raise ValueError(f"block_size must be positive; got {block_size}")
        if consistency_weight < 0:
            raise ValueError(f"consistency_weight must be >= 0; got {consistency_weight}")
        self.ratio = float(ratio)
        self.block_size = int(block_size)
        self.learned = bool(learned)
        self.seed = int(seed)
        self.consistency_weight = float(consistency_weight)
        self.block_pixels = self.block_size * self.block_size
        self.num_measurements = measurement_count(self.ratio, self.block_pixels)

    def build(self, input_shape=None):
        if self.built:
            return
        sampling = orthonormal_gaussian(self.num_measurements, self.block_pixels, self.seed)
        self.sampling = self.add_weight(
            shape=sampling.shape,
            initializer=keras.initializers.Constant(sampling),
            trainable=self.learned,
            name="sampling_matrix",
        )
        self.initialization = self.add_weight(
            shape=sampling.T.shape,
            initializer=keras.initializers.Constant(sampling.T),
            trainable=self.learned,
            name="initialization_matrix",
        )
        self.built = True

    def sampling_matrix(self) -> np.ndarray:
        return np.asarray(self.sampling.numpy())

    def fit_initialization(self, images: np.ndarray) -> np.ndarray:
        """Set ``Q = X B^T (B B^T)^{-1}`` from training images ``[N, H, W]`` (H, W multiples of
        ``s``; every block is a column of ``X``); returns ``Q``. Prescribed sampling only."""
        if self.learned:
            raise ValueError("the learned sampling's initialisation A~ is trained, not fitted")
        q_matrix = least_squares_initialization(
            self.sampling_matrix(), blocks_as_columns(images, self.block_size)
        )
        self.initialization.assign(q_matrix)
        return q_matrix

    def measure_images(self, images: tf.Tensor) -> tf.Tensor:
        """``b = A xhat`` per block: ``[B, H, W]`` -> ``[B, H/s, W/s, m]``."""
        return tf.linalg.matvec(tf.convert_to_tensor(self.sampling), split_blocks(images, self.block_size))

    def _measurements(self, inputs) -> tf.Tensor:
        inputs = tf.convert_to_tensor(inputs)
        if inputs.dtype != tf.float32:
            raise TypeError(
                f"block CS inputs must be float32 images [B, H, W] or measurements [B, h, w, m]; "
                f"got {inputs.dtype.name}"
            )
        if inputs.shape.rank == 3:
            return self.measure_images(inputs)
        if inputs.shape.rank == 4 and inputs.shape[-1] == self.num_measurements and not self.learned:
            return inputs
        raise ValueError(
            f"block CS inputs must be images [B, H, W] or (prescribed sampling) measurements "
            f"[B, h, w, {self.num_measurements}]; got shape {inputs.shape}"
        )

    def initial_image(self, measurements: tf.Tensor) -> tf.Tensor:
        """``x0 = Q b`` block by block -> ``[B, H, W]``."""
        return merge_blocks(
            tf.linalg.matvec(tf.convert_to_tensor(self.initialization), measurements), self.block_size
        )

    def measure(self, inputs) -> Measured:
        measurements = self._measurements(inputs)
        operator = BlockOperator(tf.convert_to_tensor(self.sampling), measurements, self.block_size)
        return Measured(operator, self.initial_image(measurements), None)

    def auxiliary_loss(self, inputs) -> tf.Tensor | None:
        """``consistency_weight * ||A~ A xhat - xhat||^2`` per sample (4.2.2); None when not learned."""
        if not self.learned or self.consistency_weight == 0:
            return None
        images = tf.convert_to_tensor(inputs)
        if images.shape.rank != 3:
            raise ValueError("training the learned sampling needs ground-truth images [B, H, W] as inputs")
        return self.consistency_weight * squared_norm(
            self.initial_image(self.measure_images(images)) - images
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            ratio=self.ratio,
            block_size=self.block_size,
            learned=self.learned,
            seed=self.seed,
            consistency_weight=self.consistency_weight,
        )
        return config
