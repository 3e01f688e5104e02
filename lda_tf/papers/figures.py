"""Every paper's figures, each written by :func:`save_png` (atomically).

- :func:`comparison_figure`: the meta paper's Figure 1 layout. One column per CS ratio (plus the
  ground truth in the first column). Per method: the reconstruction with the zoom box drawn in red,
  the zoomed-in box, and the pointwise error ``| |x| - |xhat| |`` on one colour scale shared by all
  panels (with a colour bar); the last row shows the sampling masks. Magnitudes are shown on the
  ground truth's grey scale.
- :func:`psnr_versus_phases`: the LDA paper's Figure 6 (PSNR versus phase number; any measure
  with ``ylabel``: the U-LDA paper's Figure 6, NCC and CKA).
- :func:`grouped_bars`: the U-LDA paper's Figure 7 (mean +- std bars per method and setting).
- :func:`convergence`: the LDA paper's Figures 7-8 (convergence past the trained phases).
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
from lda_tf.loa.solve import SolveResult  # noqa: E402
from lda_tf.papers.report import METHOD_LABELS  # noqa: E402


def save_png(figure, path: str | os.PathLike, dpi: int = 120, tight: bool = True) -> Path:
    """Write ``figure`` to ``path`` as PNG (atomically) and close it; ``tight`` crops the margins."""
    path = Path(path)
    with atomic_file(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=dpi, **({"bbox_inches": "tight"} if tight else {}))
    plt.close(figure)
    return path


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
    return save_png(figure, path, dpi=110, tight=False)


def psnr_versus_phases(
    curves: dict[str, dict[int, float]], title: str, path: str | os.PathLike, ylabel: str = "PSNR (dB)"
) -> Path:
    """One line per curve ``{label: {phases: mean PSNR}}`` (Figure 6)."""
    figure, axes = plt.subplots(figsize=(5, 3.6))
    for label, curve in curves.items():
        phases = sorted(curve)
        axes.plot(phases, [curve[k] for k in phases], marker="o", label=label)
    axes.set_xticks(sorted({k for curve in curves.values() for k in curve}))
    axes.set_xlabel("phase number K")
    axes.set_ylabel(ylabel)
    axes.set_title(title, fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend()
    return save_png(figure, path)


def grouped_bars(
    values: dict[str, dict[str, tuple[float, float]]], title: str, path: str | os.PathLike, ylabel: str
) -> Path:
    """Bars ``{method: {setting: (mean, std)}}``: one group per setting, one bar per method, the std
    as an error bar (Figure 7 of the U-LDA paper)."""
    methods = list(values)
    settings = list(dict.fromkeys(s for by_setting in values.values() for s in by_setting))
    figure, axes = plt.subplots(figsize=(1.2 + 1.1 * len(settings) * max(1, len(methods)) / 3, 3.6))
    width = 0.8 / max(1, len(methods))
    for index, method in enumerate(methods):
        positions = [k + (index - (len(methods) - 1) / 2) * width for k in range(len(settings))]
        means = [values[method].get(s, (np.nan, 0.0))[0] for s in settings]
        stds = [values[method].get(s, (np.nan, 0.0))[1] for s in settings]
        axes.bar(positions, means, width, yerr=stds, capsize=3, label=METHOD_LABELS.get(method, method))
    finite = [m for by_setting in values.values() for m, _ in by_setting.values() if np.isfinite(m)]
    if finite:
        axes.set_ylim(min(finite) - 2.0, max(finite) + 1.5)
    axes.set_xticks(range(len(settings)), settings)
    axes.set_ylabel(ylabel)
    axes.set_title(title, fontsize=9)
    axes.grid(alpha=0.3, axis="y")
    axes.legend(fontsize=7)
    return save_png(figure, path)


def snapshot_iterations(trained_phases: int, max_iterations: int) -> set[int]:
    """Iterations whose images Figure 8 shows: the last trained one and four later ones spread
    over the run (the paper: 15, 500, 1K, 5K, 12K)."""
    total = trained_phases + max_iterations
    later = np.unique(np.geomspace(max(trained_phases + 1, total // 25), total, 4).astype(int))
    return {trained_phases, *(int(k) for k in later)}


def convergence(
    result: SolveResult,
    target: np.ndarray,
    snapshots: dict[int, np.ndarray],
    path: str | os.PathLike,
    title: str,
) -> Path:
    """Figure 7 (phi and PSNR versus iteration; trained phases solid, the rest dotted) above
    Figure 8 (the reconstructions at the ``snapshots`` iterations), for the first sample.

    Two objective curves: ``phi_eps_k(x_k)``, which decreases at every step for fixed eps but may
    rise when eps is lowered (the Huber ``r_eps`` grows as eps shrinks), and the Lyapunov sequence
    ``phi_eps_k(x_k) + c m eps_k`` (Lemma A4 of the meta paper, :mod:`lda_tf.loa.solve`), which may
    not rise at all."""
    columns = max(len(snapshots) + 1, 2)
    figure = plt.figure(figsize=(2.4 * columns, 6.4))
    grid = figure.add_gridspec(2, columns, height_ratios=[1.1, 1])
    trained = result.trained_phases
    iterations = np.arange(len(result.energy))
    panels_top = (
        (
            (result.lyapunov[:, 0], "phi_eps_k(x_k) + c m eps_k", "C0"),
            (result.energy[:, 0], "phi_eps_k(x_k)", "C1"),
        ),
        ((result.observations[:, 0], "PSNR (dB)", "C0"),),
    )
    for position, curves in enumerate(panels_top):
        axes = figure.add_subplot(grid[0, position * columns // 2 : (position + 1) * columns // 2])
        for values, label, color in curves:
            axes.plot(
                iterations[: trained + 1],
                values[: trained + 1],
                "-",
                color=color,
                label=f"{label}, trained phases",
            )
            axes.plot(
                iterations[trained:],
                values[trained:],
                ":",
                color=color,
                label=f"{label}, Algorithm 1 continued",
            )
        axes.set_xlabel("iteration k")
        axes.set_ylabel("objective" if position == 0 else "PSNR (dB)")
        if position == 0:
            axes.legend(fontsize=6)
        axes.grid(alpha=0.3)
    panels = [("reference", target)] + [
        (f"iter {k} ({result.observations[k, 0]:.2f} dB)", image) for k, image in sorted(snapshots.items())
    ]
    for column, (label, image) in enumerate(panels[:columns]):
        axes = figure.add_subplot(grid[1, column])
        axes.imshow(image, cmap="gray", vmin=0, vmax=1)
        axes.set_title(label, fontsize=8)
        axes.axis("off")
    figure.suptitle(title, fontsize=10)
    return save_png(figure, path)
