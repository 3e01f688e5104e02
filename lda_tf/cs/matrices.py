"""Sampling and initialisation matrices of block compressed sensing (LDA paper 4.2.1).

- ``A in R^{m x n}``, ``m = round(c n)``: a random Gaussian matrix with orthonormalised rows
  (``A A^T = I``), as the ISTA-Net+ protocol [80] the paper follows (there ``m`` = 109, 272 and 545
  for ``n = 1089`` at 10, 25 and 50 %; rounding half up gives exactly these).
- ``Q = X B^T (B B^T)^{-1}`` with ``X = [x_1 .. x_N]`` the training blocks and ``B = A X`` their
  measurements: the linear map minimising ``||Q B - X||_F``, so that ``x0 = Q b``.
"""

from __future__ import annotations

import numpy as np


def measurement_count(ratio: float, block_pixels: int) -> int:
    """``m = round(c n)``, rounding half up; at least 1."""
    if not 0 < ratio <= 1:
        raise ValueError(f"CS ratio must be in (0, 1]; got {ratio}")
    return max(1, int(np.floor(ratio * block_pixels + 0.5)))


def orthonormal_gaussian(rows: int, columns: int, seed: int) -> np.ndarray:
    """A ``rows x columns`` Gaussian matrix with orthonormal rows (``rows <= columns``), float32."""
    if rows > columns:
        raise ValueError(f"an orthonormal-row matrix needs rows <= columns; got {rows} x {columns}")
    gaussian = np.random.default_rng(seed).standard_normal((columns, rows))
    basis, _ = np.linalg.qr(gaussian)  # orthonormal columns spanning the Gaussian's
    return basis.T.astype(np.float32)


def least_squares_initialization(sampling: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """``Q = X B^T (B B^T)^{-1}`` with ``B = A X`` (``sampling`` ``A`` ``[m, n]``, ``blocks`` ``X``
    ``[n, N]``) -> ``[n, m]`` float32. Computed in float64 by solving ``(B B^T) Q^T = B X^T``."""
    sampling, blocks = np.asarray(sampling, np.float64), np.asarray(blocks, np.float64)
    if blocks.shape[0] != sampling.shape[1]:
        raise ValueError(
            f"blocks have {blocks.shape[0]} pixels, the sampling matrix expects {sampling.shape[1]}"
        )
    if blocks.shape[1] < sampling.shape[0]:
        raise ValueError(
            f"least-squares initialisation needs at least m={sampling.shape[0]} training blocks; "
            f"got {blocks.shape[1]}"
        )
    measurements = sampling @ blocks
    return np.linalg.solve(measurements @ measurements.T, measurements @ blocks.T).T.astype(np.float32)
