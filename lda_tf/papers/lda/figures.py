"""Figures of the LDA paper's experiments: PSNR versus phase number (Figure 6) and convergence
past the trained phases (Figures 7-8)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lda_tf.atomic import atomic_file  # noqa: E402
from lda_tf.loa.solve import SolveResult  # noqa: E402


def _save(figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    with atomic_file(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path


def psnr_versus_phases(curves: dict[str, dict[int, float]], title: str, path: str | os.PathLike) -> Path:
    """One line per curve ``{label: {phases: mean PSNR}}`` (Figure 6)."""
    figure, axes = plt.subplots(figsize=(5, 3.6))
    for label, curve in curves.items():
        phases = sorted(curve)
        axes.plot(phases, [curve[k] for k in phases], marker="o", label=label)
    axes.set_xticks(sorted({k for curve in curves.values() for k in curve}))
    axes.set_xlabel("phase number K")
    axes.set_ylabel("PSNR (dB)")
    axes.set_title(title, fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend()
    return _save(figure, path)


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
    return _save(figure, path)
