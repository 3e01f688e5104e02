"""Comparison figure in the layout of the meta paper's Figure 1.

One column per CS ratio (plus the ground truth in the first column). Per method: the
reconstruction with the zoom box drawn in red, the zoomed-in box, and the pointwise error
``| |x| - |xhat| |`` on one colour scale shared by all panels (with a colour bar); the last row
shows the sampling masks. Magnitudes are shown on the ground truth's grey scale.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.patches as patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lda_tf.atomic import atomic_file  # noqa: E402
from lda_tf.papers.report import METHOD_LABELS  # noqa: E402


def default_zoom_box(shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(top, left, height, width)``: a quarter-size box just above the image centre (brain
    slices: ventricles and cortex, where blurring shows)."""
    height, width = shape
    box_height, box_width = height // 4, width // 4
    return height // 2 - box_height, width // 2 - box_width // 2, box_height, box_width


def comparison_figure(
    target: np.ndarray,
    recons: dict[str, dict[float, np.ndarray]],
    masks: dict[float, np.ndarray],
    path: str | os.PathLike,
    zoom_box: tuple[int, int, int, int] | None = None,
    title: str = "",
) -> Path:
    """Write the figure to ``path`` (PNG, atomically). ``recons[method][ratio]`` are complex or
    real ``[H, W]`` reconstructions of ``target``; ``masks[ratio]`` the sampling masks."""
    target = np.abs(target)
    ratios = sorted(masks)
    methods = list(recons)
    if not methods or any(sorted(recons[method]) != ratios for method in methods):
        raise ValueError(f"every method needs a reconstruction for each ratio {ratios}")
    top, left, box_height, box_width = zoom_box or default_zoom_box(target.shape)
    zoom = (slice(top, top + box_height), slice(left, left + box_width))
    errors = {
        method: {ratio: np.abs(np.abs(recons[method][ratio]) - target) for ratio in ratios}
        for method in methods
    }
    error_max = max(float(error.max()) for by_ratio in errors.values() for error in by_ratio.values()) or 1.0
    grey = dict(cmap="gray", vmin=0.0, vmax=float(target.max()))

    rows, columns = 3 * len(methods) + 1, len(ratios) + 1
    figure, axes = plt.subplots(
        rows,
        columns,
        figsize=(1.9 * columns + 0.8, 1.9 * rows * target.shape[0] / target.shape[1]),
        squeeze=False,
    )
    for axis in axes.flat:
        axis.set_axis_off()
    axes[0, 0].imshow(target, **grey)
    axes[0, 0].add_patch(
        patches.Rectangle((left, top), box_width, box_height, fill=False, edgecolor="red", linewidth=1)
    )
    axes[0, 0].set_title("ground truth", fontsize=8)
    axes[1, 0].imshow(target[zoom], **grey)
    error_image = None
    for column, ratio in enumerate(ratios, start=1):
        for index, method in enumerate(methods):
            magnitude = np.abs(recons[method][ratio])
            label = METHOD_LABELS.get(method, method)
            axis = axes[3 * index, column]
            axis.imshow(magnitude, **grey)
            axis.add_patch(
                patches.Rectangle(
                    (left, top), box_width, box_height, fill=False, edgecolor="red", linewidth=1
                )
            )
            axis.set_title(f"{label} {ratio:g}%", fontsize=8)
            axes[3 * index + 1, column].imshow(magnitude[zoom], **grey)
            error_image = axes[3 * index + 2, column].imshow(
                errors[method][ratio], cmap="jet", vmin=0.0, vmax=error_max
            )
        axes[-1, column].imshow(masks[ratio], cmap="gray", vmin=0, vmax=1)
        axes[-1, column].set_title(f"mask {ratio:g}%", fontsize=8)
    figure.colorbar(error_image, ax=axes[:, -1].tolist(), fraction=0.05, label="pointwise error")
    if title:
        figure.suptitle(title, fontsize=9)
    path = Path(path)
    with atomic_file(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=110)
    plt.close(figure)
    return path
