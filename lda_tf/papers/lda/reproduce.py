"""The LDA paper's experiments end to end (``experiments/reproduce.py --paper=lda``).

========== ============================================================================ =========
experiment what                                                                          section
========== ============================================================================ =========
table 1    block CS, prescribed orthonormal Gaussian A, 33x33 blocks, ratios 10/25/50 %  4.2.1
table 2    block CS with jointly learned sampling, 32x32 blocks, ratios 10/30 %          4.2.2
table 3    CS-MRI, radial 10/20/30 %, PSNR/RelErr/SSIM; Figure 6 left (PSNR vs phases)   4.2.3
table 4    depth d of g's kernels (8/16/32/48), block CS 10 %, #Par and test time        4.3.2
table 5    number of convolutions l (2/4/6), block CS 10 %, #Par and test time          4.3.2
figure 6   GD-Net, AGD-Net, LDA: PSNR versus phases, block CS 10 % (right panel)        4.3.1
figure 7   convergence past the trained phases (phi and PSNR vs iteration; Figure 8)    4.3.3
========== ============================================================================ =========

Natural images: ``train_dir`` / ``test_dir`` folders (the paper: 91 images or BSD500, Set11), by
default images shipped with scikit-image (the test set labelled "not Set11"). CS-MRI: converted
BraTS (``dataset_dir``) or the embedded sample. Runs live in ``<output>/runs/<name>`` and are shared
(Table 1's 10 % run is Figure 6's LDA curve, its 50 % run Figure 7's network); finished runs are
reused, unfinished ones resume; ``overwrite`` retrains the experiment's runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lda_tf import outputs
from lda_tf.cs import pad_to_blocks
from lda_tf.data.natural import NaturalImages, load_test_images, load_training_images
from lda_tf.data.sample import sample_dir
from lda_tf.loa.solve import LDA_PAPER_SETTINGS, solve
from lda_tf.metrics import psnr_peak
from lda_tf.papers import common, figures
from lda_tf.papers.lda.mri import mri_config, mri_test_images, score_mri, stage_models
from lda_tf.papers.lda.natural import NaturalRun, natural_config, reconstruction_parameters, score_natural
from lda_tf.papers.lda.profiles import PROFILES
from lda_tf.papers.published import lda_values as published
from lda_tf.papers.report import grid, mean_by, mean_grid, write_table

EXPERIMENTS = {
    "table1": "block CS, prescribed orthonormal Gaussian A, 33x33 blocks, ratios 10/25/50 %",
    "table2": "block CS with jointly learned sampling, 32x32 blocks, ratios 10/30 %",
    "table3": "CS-MRI, radial 10/20/30 %; Figure 6 left (PSNR vs phases)",
    "table4": "depth d of g's kernels, block CS 10 %",
    "table5": "number of convolutions l, block CS 10 %",
    "figure6": "GD-Net, AGD-Net, LDA: PSNR versus phases, block CS 10 %",
    "figure7": "convergence past the trained phases",
}
PAPER_NOTE = "published: LDA paper (Chen, Liu, Ye, Zhang), Set11 for Tables 1, 2, 4, 5"


class LDAReproduction(common.Reproduction):
    """One experiment of :data:`EXPERIMENTS` by one profile into ``output_dir``."""

    paper = "lda"
    description = "the LDA paper's Tables 1-5 and Figures 6-7"
    experiments = EXPERIMENTS
    profiles = PROFILES
    data_options = ("train_dir", "test_dir", "dataset_dir")

    def __init__(self, experiment: str, profile: str, output_dir: str, **options):
        super().__init__(experiment, profile, output_dir, **options)
        for name, folder in self.data.items():
            if folder and not Path(folder).is_dir():
                raise FileNotFoundError(f"{name} {folder} is not a directory")
        self.train_dir, self.test_dir, self.dataset_dir = (self.data[name] for name in self.data_options)
        self._train: NaturalImages | None = None
        self._test: NaturalImages | None = None

    @property
    def result_folder(self) -> Path:
        return self.output / f"lda_{self.experiment}"

    # ------------------------------------------------------------------ data and runs
    @property
    def train_images(self) -> NaturalImages:
        if self._train is None:
            self._train = load_training_images(self.train_dir, min_size=96)
        return self._train

    @property
    def test_images(self) -> NaturalImages:
        if self._test is None:
            test = load_test_images(self.test_dir, self.profile.test_size)
            cap = self.profile.test_images
            self._test = NaturalImages(test.images[:cap], test.names[:cap], test.label)
        return self._test

    def natural(self, **fields) -> NaturalRun:
        defaults = dict(
            num_filters=self.profile.num_filters,
            num_layers=self.profile.num_layers,
            phases=self.profile.max_phases,
            kernel_scale=self.profile.kernel_scale,
        )
        return NaturalRun(**{**defaults, **fields})

    def train(self, run: NaturalRun) -> Path:
        return self.train_or_reuse(
            run.name,
            lambda directory: natural_config(
                run, directory, self.train_dir, self.profile, self.seed, self.verbose
            ),
        )

    def test(self, path: Path, method: str, setting: str, initial: bool = False) -> list[dict]:
        network = outputs.load_model(path)
        rows = score_natural(network, self.test_images, initial)
        extra = dict(
            method=method,
            setting=setting,
            parameters=reconstruction_parameters(network),
            phases=network.active_phases,
        )
        return [{**extra, **row} for row in rows]

    # ------------------------------------------------------------------ experiments
    def table_block_cs(self, table: int, learned: bool, ratios: tuple[int, ...]) -> tuple[list[dict], str]:
        rows = []
        for ratio in ratios:
            path = self.train(self.natural(ratio=ratio, learned=learned))
            rows += self.test(path, "initialization x0", str(ratio), initial=True)
            rows += self.test(path, "LDA", str(ratio))
        ours = mean_grid(rows, "setting", "psnr")
        parameters = {"LDA": max(row["parameters"] for row in rows if row["method"] == "LDA")}
        paper_par = {method: values[""] for method, values in published(table, "params").items()}
        kind = (
            "jointly learned A (32x32 blocks)"
            if learned
            else "prescribed orthonormal Gaussian A (33x33 blocks)"
        )
        text = grid(
            f"Table {table}: block CS, {kind}, average PSNR (dB)",
            [str(r) for r in ratios],
            [f"{r}%" for r in ratios],
            [
                ("ours", ours, {"#Par": parameters}),
                ("published", published(table, "psnr"), {"#Par": paper_par}),
            ],
            notes=self._notes(
                rows, "x0 = Q b (least squares, 4.2.1)" if not learned else "x0 = A~ b (learned)"
            ),
        )
        return rows, text

    def table_mri(self) -> tuple[list[dict], str, dict]:
        dataset_dir = self.dataset_dir or str(sample_dir())
        label = self.dataset_dir or "embedded sample (MNI152 template slices, NOT the paper's brain images)"
        rows, curves, test = [], {}, mri_test_images(dataset_dir, self.profile)
        for ratio in (10, 20, 30):
            name = f"mri_r{ratio}_lda_d{self.profile.mri_num_filters}_K{self.profile.mri_max_phases}"
            model = self.train_or_reuse(
                name,
                lambda directory, ratio=ratio: mri_config(
                    ratio, directory, dataset_dir, self.profile, self.seed, self.verbose
                ),
            )
            stages = model.parent / "stages"
            with self.timed(f"test mri {ratio}%"):
                ratio_rows = score_mri(stages, test, ratio)
            rows += ratio_rows
            curves[f"{ratio}%"] = {
                int(m.split("=")[1]): v
                for m, v in mean_by(
                    [r for r in ratio_rows if r["method"] != "zero_filling"], "method", "psnr"
                ).items()
            }
        final = f"LDA K={self.profile.mri_max_phases}"
        labels = {"zero_filling": "Zero-filling", final: "LDA"}
        cells = [
            dict(method=labels[row["method"]], cell=f"{row['ratio']:g}:{metric}", value=row[metric])
            for row in rows
            if row["method"] in labels
            for metric in ("psnr", "relerr", "ssim")
        ]
        ours = mean_grid(cells, "cell", "value")
        paper: dict = {}
        for metric in ("psnr", "relerr", "ssim"):
            for method, values in published(3, metric).items():
                paper.setdefault(method, {}).update(
                    {f"{setting}:{metric}": value for setting, value in values.items()}
                )
        settings = [f"{r}:{m}" for r in (10, 20, 30) for m in ("psnr", "relerr", "ssim")]
        network = outputs.load_model(stage_models(stages)[self.profile.mri_max_phases])
        text = grid(
            "Table 3: CS-MRI, radial masks: PSNR (dB), RelErr, SSIM",
            settings,
            [f"{r}% {m}" for r in (10, 20, 30) for m in ("PSNR", "RelErr", "SSIM")],
            [
                ("ours", ours, {"#Par": {"LDA": reconstruction_parameters(network)}}),
                ("published", paper, {"#Par": {m: v[""] for m, v in published(3, "params").items()}}),
            ],
            digits=lambda method, setting: 2 if setting.endswith("psnr") else 4,
            notes=[
                f"data: {label}; {len({r['image'] for r in rows})} test images, "
                f"{self.profile.mri_downsample}x downsampled",
                f"LDA row: {final}",
                "PSNR (dB) by phases (Figure 6 left): "
                + "; ".join(
                    f"{ratio}: " + ", ".join(f"K={k} {v:.2f}" for k, v in sorted(curve.items()))
                    for ratio, curve in curves.items()
                ),
                self.profile.description,
                PAPER_NOTE + "; Table 3: 50 brain images of 190x190",
                self.timing_note(),
            ],
        )
        return rows, text, curves

    def table_complexity(self, table: int) -> tuple[list[dict], str]:
        varied = "num_filters" if table == 4 else "num_layers"
        values = self.profile.complexity_depths if table == 4 else self.profile.complexity_layers
        rows = []
        for value in values:
            fields = {"ratio": 10, "phases": self.profile.complexity_phases, varied: value}
            if table == 4:
                fields["num_layers"] = 4
            else:
                fields["num_filters"] = self.profile.complexity_filters
            rows += self.test(self.train(self.natural(**fields)), "LDA", str(value))
        lda = [row for row in rows if row["method"] == "LDA"]
        ours = {
            "PSNR (dB)": mean_by(lda, "setting", "psnr"),
            "parameters": mean_by(lda, "setting", "parameters"),
            "time per image (s)": mean_by(lda, "setting", "seconds"),
        }
        paper = {
            "PSNR (dB)": published(table, "psnr")["LDA"],
            "parameters": published(table, "params")["LDA"],
            "time per image (s)": published(table, "time")["LDA"],
        }
        name = "depth d of the kernels (l = 4)" if table == 4 else "number of convolutions l (d = 32)"
        digits = {"PSNR (dB)": 2, "parameters": 0, "time per image (s)": 3}
        text = grid(
            f"Table {table}: {name}, block CS 10 %, {self.profile.complexity_phases} phases",
            [str(v) for v in values],
            [f"{'d' if table == 4 else 'l'}={v}" for v in values],
            [("ours", ours, {}), ("published (K=7, GTX 1080Ti)", paper, {})],
            digits=lambda method, _: digits[method],
            notes=self._notes(rows, None)
            + [
                "time: one test image per call on this machine, after warm-up",
                "parameters: g's kernels, eps0 and 2 step sizes per phase, here "
                f"{self.profile.complexity_phases} "
                "phases (the paper's 7 phases count 2 per phase more)",
            ],
        )
        return rows, text

    def figure_ablation(self) -> tuple[list[dict], str, Path]:
        rows, curves = [], {}
        for policy, label in (("lda", "LDA"), ("gd", "GD-Net"), ("agd", "AGD-Net")):
            path = self.train(self.natural(ratio=10, policy=policy))
            for phases, stage in stage_models(path.parent / "stages").items():
                rows += self.test(stage, label, str(phases))
            curves[label] = {
                int(k): v
                for k, v in mean_by([r for r in rows if r["method"] == label], "setting", "psnr").items()
            }
        figure = figures.psnr_versus_phases(
            curves,
            "Block CS 10 %: PSNR versus phases (Figure 6, right)",
            self.output / "lda_figure6" / "figure6_right.png",
        )
        text = grid(
            "Figure 6 (right): GD-Net, AGD-Net, LDA, block CS 10 %, PSNR (dB) vs phases",
            [str(k) for k in sorted(curves["LDA"])],
            [f"K={k}" for k in sorted(curves["LDA"])],
            [("ours", {m: {str(k): v for k, v in c.items()} for m, c in curves.items()}, {})],
            notes=self._notes(rows, None),
        )
        return rows, text, figure

    def figure_convergence(self) -> tuple[list[dict], str, Path]:
        path = self.train(self.natural(ratio=50))
        network = outputs.load_model(path)
        image, name = self.test_images.images[0], self.test_images.names[0]
        padded = pad_to_blocks(image, network.measurement.block_size)[None]
        height, width = image.shape
        snapshots, counter = {}, [0]
        keep = figures.snapshot_iterations(network.active_phases, self.profile.convergence_iterations)

        def observe(x) -> np.ndarray:
            recon = np.clip(x.numpy()[0, :height, :width], 0.0, 1.0)
            if counter[0] in keep:
                snapshots[counter[0]] = recon
            counter[0] += 1
            return np.array([psnr_peak(image, recon, 1.0)])

        with self.timed("solve"):
            result = solve(
                network,
                padded,
                max_iterations=self.profile.convergence_iterations,
                observe=observe,
                **LDA_PAPER_SETTINGS,
            )
        figure = figures.convergence(
            result,
            image,
            snapshots,
            self.output / "lda_figure7" / "figure7.png",
            f"LDA, block CS 50 %, test image {name}",
        )
        increases = int(np.sum(result.descent > 1e-6 * np.abs(result.energy[:-1])))
        lyapunov_rises = int(np.sum(np.diff(result.lyapunov[:, 0]) > 1e-6 * np.abs(result.lyapunov[:-1, 0])))
        rows = [
            dict(
                iteration=k,
                phi=float(result.energy[k, 0]),
                lyapunov=float(result.lyapunov[k, 0]),
                eps=float(result.eps[k, 0]),
                psnr=float(result.observations[k, 0]),
            )
            for k in range(len(result.energy))
        ]
        text = "\n".join(
            [
                f"### Figure 7: convergence past the {result.trained_phases} trained phases (block "
                f"CS 50 %, {name})",
                "",
                f"- iterations past the trained phases: {int(result.iterations[0])}; stopping rule "
                "sigma eps < eps_tol "
                + (
                    "met"
                    if result.converged[0]
                    else f"not met (iteration cap {self.profile.convergence_iterations})"
                ),
                f"- eps reduced {int(np.sum(np.diff(result.eps[:, 0]) < 0))} times, from "
                f"{result.eps[0, 0]:.3g} to {result.eps[-1, 0]:.3g}",
                f"- phi_eps(x_k+1) - phi_eps(x_k) > 0 in {increases} of {len(result.descent)} iterations "
                f"(largest {float(result.descent.max()):.3g}); phi non-increasing: "
                f"{'yes' if increases == 0 else 'NO'}",
                f"- phi_eps_k(x_k) + c m eps_k (Lyapunov, Lemma A4) rose in {lyapunov_rises} "
                "iterations; phi_eps_k(x_k) "
                f"itself may rise when eps is lowered (it went from {result.energy[0, 0]:.4g} to "
                f"{result.energy[-1, 0]:.4g})",
                f"- PSNR at the trained phases {result.observations[result.trained_phases, 0]:.2f} "
                "dB, at the end "
                f"{result.observations[-1, 0]:.2f} dB (paper, House: 40.68 -> 39.05 dB after "
                "12,832 iterations)",
                f"- settings: {LDA_PAPER_SETTINGS}; {self.profile.description}",
                "",
            ]
        )
        return rows, text, figure

    # ------------------------------------------------------------------ reporting
    def _notes(self, rows: list[dict], initial: str | None) -> list[str]:
        notes = [
            f"test images: {self.test_images.label} ({len(self.test_images.images)}: "
            f"{', '.join(self.test_images.names)}); training images: {self.train_images.label}",
            self.profile.description,
            PAPER_NOTE,
        ]
        if initial:
            notes.insert(1, f"initialization x0: {initial}")
        return notes + [self.timing_note()]

    def reproduce(self) -> common.Result:
        """The experiment: its table (or summary) and figure."""
        figures_written: tuple[Path, ...] = ()
        if self.experiment in ("table1", "table2"):
            learned = self.experiment == "table2"
            rows, text = self.table_block_cs(
                2 if learned else 1, learned, (10, 30) if learned else (10, 25, 50)
            )
        elif self.experiment == "table3":
            rows, text, curves = self.table_mri()
            figures_written = (
                figures.psnr_versus_phases(
                    curves, "CS-MRI: PSNR versus phases (Figure 6, left)", self.folder / "figure6_left.png"
                ),
            )
        elif self.experiment in ("table4", "table5"):
            rows, text = self.table_complexity(int(self.experiment[-1]))
        elif self.experiment == "figure6":
            rows, text, figure = self.figure_ablation()
            figures_written = (figure,)
        else:
            rows, text, figure = self.figure_convergence()
            figures_written = (figure,)
        per_image = self.write_per_image(rows)
        markdown_path, _ = write_table(text, self.folder, self.experiment)
        return common.Result(text, markdown_path, per_image, self.runs, figures=figures_written)
