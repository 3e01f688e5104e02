"""Figure 6's similarity measures between the features of the per-domain LDA ``g_i`` and of
U-LDA's universal ``g`` (section 5.3, "phase number"; digest A4 #20).

- Linear CKA (Kornblith et al. 2019, "Similarity of neural network representations revisited",
  eq. (5) with a linear kernel): for feature matrices ``X [n, p]`` and ``Y [n, q]`` of the same
  ``n`` images, columns centred over the images,
  ``CKA = ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)`` in [0, 1]; invariant to orthogonal
  transforms and isotropic scaling of either.
- NCC: the normalised cross-correlation (Pearson correlation) of two images' flattened feature
  maps, averaged over the images (the release's ``normalized_cross_correlation``).

Decision (the paper names neither the layer nor the phase): the features are ``|g(x_T)|``, the
magnitudes of ``g``'s stacked real output channels at each network's own output ``x_T`` (LDA_i on
domain i's test images; U-LDA with domain i's group), flattened per image.
"""

from __future__ import annotations

import numpy as np


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA of ``x [n, ...]`` and ``y [n, ...]`` (flattened per sample; module docstring)."""
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    y = np.asarray(y, np.float64).reshape(len(y), -1)
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(f"linear CKA needs the same n >= 2 samples in both; got {len(x)} and {len(y)}")
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    if len(x) < min(x.shape[1], y.shape[1]):
        # Fewer images than features (Figure 6: a few images, ~1e5 features each): the same
        # quantities through the n x n Gram matrices K = X X^T, L = Y Y^T, since
        # ||Y^T X||_F^2 = <K, L>_F and ||X^T X||_F = ||K||_F (p x p would not fit in memory).
        gram_x, gram_y = x @ x.T, y @ y.T
        cross = np.sum(gram_x * gram_y)
        norm = np.linalg.norm(gram_x) * np.linalg.norm(gram_y)
    else:
        cross = np.linalg.norm(y.T @ x) ** 2
        norm = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    return float(cross / norm) if norm > 0 else 0.0


def ncc(x: np.ndarray, y: np.ndarray) -> float:
    """Mean over samples of the Pearson correlation of ``x[k]`` and ``y[k]`` (flattened)."""
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    y = np.asarray(y, np.float64).reshape(len(y), -1)
    if x.shape != y.shape:
        raise ValueError(f"NCC needs feature maps of one shape; got {x.shape} and {y.shape}")
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    denominator = np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1)
    values = np.where(denominator > 0, np.sum(x * y, axis=1) / np.where(denominator > 0, denominator, 1), 0.0)
    return float(values.mean())
