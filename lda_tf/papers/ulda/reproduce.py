"""The U-LDA paper's experiments end to end (``experiments/reproduce.py --paper=ulda``).

========== =================================================================== =================
experiment what                                                                offline stand-in
========== =================================================================== =================
table1     cross-anatomy: brain + knee -> cardiac, prostate (20 %), 5.2.1        none (needs data)
table2     cross-sampling: brain 10/20/30 % -> 15/25 %, 5.2.2                    MNI sample
table3     cross-modality: ImageNet + CIFAR-10 -> fastMRI, Stanford2D, 5.2.3    photos + LFW ->
                                                                               MNI sample
table4     Adapter / Init / AUG ablation on the three targets                   cross-sampling
table5     SSIM weight alpha of (3.2a), cross-anatomy brain                     cross-sampling 20 %
table6     smoothed-ReLU delta, cross-anatomy brain                             cross-sampling 20 %
figure6    NCC and linear CKA between g_i and g versus the phase count T        cross-sampling
figure7    5 / 40 / 100 target images, five draws, mean +- std bars             cross-sampling 15 %
========== =================================================================== =================

Methods of Tables 1-3 (rows; the paper's rows that are not run here are printed as published):

- **Zero-filling** and **TV** (:mod:`lda_tf.baselines`; TV's weight per column by the best
  validation PSNR): anchors.
- **LDA** [9]: on a source domain the LDA trained on it (the per-domain ``g_i`` runs of Init,
  which are LDA: U-LDA's network without adapters); on a target domain an LDA trained on all
  source domains pooled and then fine-tuned on the target (paper: "trained per dataset, then
  further trained on the testing datasets using a smaller learning rate and fewer epochs";
  decision: pooled, so that it is Table 4's "no adapter, no Init, no AUG" row, which equals the
  LDA row in the paper).
- **DnCn** [33] and **UNet** [3] (:mod:`lda_tf.cnn`, the recipe ``cnn``): DnCn (cascades of a
  residual CNN, the complex image as two channels, and noise-free data consistency; the release's
  5 cascades x 5 convolutions x 16 channels) and fastMRI's U-Net on the zero filling's magnitude;
  each trained on all source domains pooled (a source column uses that model), then fine-tuned on
  each target (paper: DnCn "trained per dataset", then "further trained on the testing datasets
  using a smaller learning rate and fewer epochs"; the U-Net "pre-trained on all available data",
  fine-tuned with Adam 1e-5; decision: pooled for both, as the LDA row of the targets). Loss: the
  mean squared error of the magnitudes.
- **Meta** [6]: the meta paper's network meta-trained (Algorithm 2) on the source sampling ratios
  and adapted to the target ones; cross-sampling only (its tasks are masks on one dataset).
- **U-LDA**: Step 1 with Init, Step 2 with AUG (:func:`lda_tf.recipes.train_ulda`); every column
  reconstructed by the transferred model with its domain's group.
- U-MRI, HUMUS-Net: published values only (not implemented here; U-MRI [24] is not described in
  the paper closely enough to rebuild: its ASPIN layers, distillation and transfer schedule are in
  ref. [24] only; HUMUS-Net [13] is a transformer of more than 10^8 weights).

Runs live in ``<output>/runs/<experiment>_<run>`` (``sampling_universal_init/`` holds Init's
``lda_domain<i>/`` and Step 1's ``universal/``; ``sampling_transfer_aug/`` holds ``aug1/``,
``aug2/``, ``transfer/``; ``sampling_<method>_pooled/`` and ``sampling_<method>_finetune_<column>/``
the LDA, DnCn and UNet baselines), shared by the experiments that need them (Table 4's last row is
Table 2's U-LDA); the derived datasets in ``<output>/data``. Finished runs are reused when their
settings match, unfinished ones resume, ``overwrite`` retrains.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from lda_tf import outputs, recipes
from lda_tf.comparison import ZERO_FILLING, Method, compare, tv_method
from lda_tf.data import load_images
from lda_tf.data.tasks import Task
from lda_tf.evaluation import network_reconstructor, reconstruct_all
from lda_tf.papers import common, figures
from lda_tf.papers.lda.mri import stage_models
from lda_tf.papers.published import ulda_values
from lda_tf.papers.report import grid, write_table
from lda_tf.papers.ulda.analysis import linear_cka, ncc
from lda_tf.papers.ulda.data import STANDINS, derived, missing_datasets, standin
from lda_tf.papers.ulda.profiles import PROFILES
from lda_tf.recipes import RunConfig
from lda_tf.recipes.config import Domain

MASK = "cartesian_gaussian"  # the paper's Cartesian mask: lowest 5 % lines, the rest Gaussian-weighted
LABELS = {
    "zero_filling": "Zero-filling",
    "tv": "TV",
    "DnCn": "DnCn",
    "LDA": "LDA",
    "UNet": "UNet",
    "Meta": "Meta",
    "U-LDA": "U-LDA",
}
LEARNED = ("DnCn", "LDA", "UNet", "Meta", "U-LDA")  # the learned rows of Tables 1-3, in the paper's order
CNN_BASELINES = ("DnCn", "UNet")  # lda_tf.cnn
POOLED = ("LDA", *CNN_BASELINES)  # trained on the pooled sources, fine-tuned on each target
PUBLISHED_ONLY = ("U-MRI", "HUMUS-Net")
DEFAULT_ALPHA = 0.01


@dataclasses.dataclass(frozen=True)
class Column:
    """A domain of a transfer experiment: a table column."""

    name: str  # the published column ("Brain", "15", "ImageNet")
    dataset: str  # its dataset under data_root (lda_tf.papers.ulda.data.PAPER_DATASETS)
    ratio: int  # sampling ratio, percent
    target: bool  # a target (small training set, marked with a dagger)
    standin: str | None  # its offline stand-in (None: none; the column is left out offline)

    @property
    def task(self) -> Task:
        return Task(MASK, self.ratio / 100)

    @property
    def header(self) -> str:
        name = f"{self.name}%" if self.name.isdigit() else self.name
        return name + ("†" if self.target else "")


@dataclasses.dataclass(frozen=True)
class Transfer:
    """One of the three transfer experiments (Tables 1-3)."""

    name: str  # anatomy, sampling, modality
    table: int
    title: str
    columns: tuple[Column, ...]
    ablation_column: str  # the target of Table 4's column
    study_column: str  # the source of Tables 5-6 and Figure 6's first panel
    shared_dataset: bool = False  # sources and targets cut from one dataset (cross-sampling)

    def usable(self, offline: bool) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not offline or c.standin)

    def sources(self, offline: bool) -> tuple[Column, ...]:
        return tuple(c for c in self.usable(offline) if not c.target)

    def targets(self, offline: bool) -> tuple[Column, ...]:
        return tuple(c for c in self.usable(offline) if c.target)

    def runs_offline(self) -> bool:
        return all(c.standin for c in self.columns if not c.target) and any(
            c.standin for c in self.columns if c.target
        )


TRANSFERS = {
    "anatomy": Transfer(
        "anatomy",
        1,
        "cross-anatomy (brain + knee -> cardiac, prostate), 20 % Cartesian",
        (
            Column("Brain", "fastmri_brain", 20, False, None),
            Column("Knee", "fastmri_knee", 20, False, None),
            Column("Cardiac", "cardiac", 20, True, None),
            Column("Prostate", "prostate", 20, True, None),
        ),
        ablation_column="Prostate",
        study_column="Brain",
    ),
    "sampling": Transfer(
        "sampling",
        2,
        "cross-sampling ratio (brain 10/20/30 % -> 15/25 %), Cartesian",
        (
            Column("10", "fastmri_brain", 10, False, "brain"),
            Column("20", "fastmri_brain", 20, False, "brain"),
            Column("30", "fastmri_brain", 30, False, "brain"),
            Column("15", "fastmri_brain", 15, True, "brain"),
            Column("25", "fastmri_brain", 25, True, "brain"),
        ),
        ablation_column="15",
        study_column="20",
        shared_dataset=True,
    ),
    "modality": Transfer(
        "modality",
        3,
        "cross-modality (ImageNet + CIFAR-10 -> fastMRI, Stanford2D), 20 % Cartesian",
        (
            Column("ImageNet", "imagenet", 20, False, "photos"),
            Column("CIFAR-10", "cifar10", 20, False, "lowres"),
            Column("fastMRI", "fastmri_knee", 20, True, "brain"),
            Column("Stanford2D", "stanford2d", 20, True, None),
        ),
        ablation_column="fastMRI",
        study_column="ImageNet",
    ),
}
EXPERIMENTS = {
    "table1": "cross-anatomy: brain + knee -> cardiac, prostate (20 %)",
    "table2": "cross-sampling ratio: brain 10/20/30 % -> 15/25 %",
    "table3": "cross-modality: ImageNet + CIFAR-10 -> fastMRI, Stanford2D (20 %)",
    "table4": "ablation: adapters, Init of g, AUG",
    "table5": "SSIM weight alpha of the loss (3.2a)",
    "table6": "smoothed-ReLU delta",
    "figure6": "NCC and CKA between g_i and g versus the phase count",
    "figure7": "target training set of 5 / 40 / 100 images",
}
PAPER_NOTE = (
    "published: U-LDA paper (Chen, Ding, Ye), section 5: fastMRI, cardiac, prostate, ImageNet, "
    "CIFAR-10, Stanford2D at 256x256, 15 phases"
)


class ULDAReproduction(common.Reproduction):
    """One experiment of :data:`EXPERIMENTS` by one profile into ``output_dir``; data: converted
    datasets under ``data_root`` (:mod:`lda_tf.papers.ulda.data`), else the offline stand-ins
    (quick and smoke profiles only)."""

    paper = "ulda"
    description = "the U-LDA paper's Tables 1-6 and Figures 6-7 (transfer learning)"
    experiments = EXPERIMENTS
    default_experiment = "table2"
    profiles = PROFILES
    data_options = ("data_root", "target_overlap")

    def __init__(self, experiment: str, profile: str, output_dir: str, **options):
        super().__init__(experiment, profile, output_dir, **options)
        self.data_root = self.data["data_root"]
        # Cross-sampling targets train on the sources' first images (the release), not the next ones.
        self.target_overlap = bool(self.data["target_overlap"])
        self.offline = not self.data_root
        self.transfers = self._transfers()  # refuses at once when data are missing
        self._trained: dict[str, Path] = {}
        self._sets: dict[tuple, Path] = {}

    # ------------------------------------------------------------------ data
    def _transfers(self) -> list[Transfer]:
        """The transfer experiments this experiment needs; raises when their data are missing."""
        wanted = {
            "table1": ["anatomy"],
            "table2": ["sampling"],
            "table3": ["modality"],
            "table4": ["anatomy", "sampling", "modality"],
            "table5": ["anatomy"],
            "table6": ["anatomy"],
            "figure6": ["anatomy"],
            "figure7": ["anatomy", "sampling", "modality"],
        }[self.experiment]
        what = f"--paper=ulda {self.experiment} ({self.experiments[self.experiment]})"
        if self.offline:
            if self.profile.name == "paper":
                keys = dict.fromkeys(c.dataset for name in wanted for c in TRANSFERS[name].columns)
                raise FileNotFoundError(f"{what} with --profile=paper {missing_datasets(None, keys)}")
            usable = [TRANSFERS[name] for name in wanted if TRANSFERS[name].runs_offline()]
            if not usable and self.experiment in ("table5", "table6", "figure6"):
                usable = [TRANSFERS["sampling"]]  # its brain source stands in for the cross-anatomy brain
            if not usable:
                keys = dict.fromkeys(c.dataset for name in wanted for c in TRANSFERS[name].columns)
                raise FileNotFoundError(
                    f"{what} has no offline stand-in (no second anatomy ships with lda_tf); it "
                    + missing_datasets(None, keys)
                )
            return usable
        transfers = [TRANSFERS[name] for name in wanted]
        keys = dict.fromkeys(c.dataset for transfer in transfers for c in transfer.columns)
        message = missing_datasets(self.data_root, keys)
        if message:
            raise FileNotFoundError(f"{what} {message}")
        return transfers

    def settings(self) -> dict:
        return {**super().settings(), "transfers": [t.name for t in self.transfers]}

    def dataset_dir(self, column: Column) -> Path:
        if self.offline:
            return standin(column.standin, self.output / "data")
        return Path(self.data_root) / column.dataset

    def data_label(self, column: Column) -> str:
        if self.offline:
            return STANDINS[column.standin]
        return f"{column.dataset} ({self.dataset_dir(column)})"

    def domain_set(self, transfer: Transfer, column: Column, subset: tuple[int, int] | None = None) -> Path:
        """The converted set a column trains, validates and tests on (module docstring of
        :mod:`lda_tf.papers.ulda.data`); ``subset = (images, draw)``: Figure 7's random draw of a
        target set."""
        key = (transfer.name, column.dataset, column.target, subset)
        if key in self._sets:
            return self._sets[key]
        profile = self.profile
        sources = profile.source_images[transfer.name]
        if not column.target:
            train = list(range(sources))
        else:
            first = sources if transfer.shared_dataset and not self.target_overlap else 0
            train = list(range(first, first + profile.target_images))
            if subset is not None:
                count, draw = subset
                rng = np.random.default_rng(1000 + draw)
                train = sorted(int(i) for i in rng.choice(train, size=min(count, len(train)), replace=False))
        role = "target" if column.target else "source"
        name = f"{transfer.name}_{column.standin if self.offline else column.dataset}_{role}"
        name += "_overlap" if column.target and transfer.shared_dataset and self.target_overlap else ""
        if subset is not None:
            name += f"_n{subset[0]}_draw{subset[1]}"
        path = derived(
            self.dataset_dir(column),
            self.output / "data" / name,
            train,
            profile.val_images,
            profile.test_images,
            f"{column.header} of {transfer.name}",
        )
        self._sets[key] = path
        return path

    def images(self, dataset: Path, split: str) -> np.ndarray:
        return load_images(dataset, split, **self.profile.image)

    # ------------------------------------------------------------------ training
    def _train(self, name: str, config: Callable[[Path], RunConfig], chain: bool = False) -> Path:
        """``runs/<name>``: one run (``recipes.train``) or a U-LDA chain (``recipes.train_ulda``),
        trained once per reproduction (reused when finished, resumed when not); timed as training."""
        if name in self._trained:
            return self._trained[name]
        directory = self.runs / name
        with self.timed("training"):
            run = config(directory).replace(overwrite=self.overwrite, deterministic=self.deterministic)
            self.log(f"training {name} (or reusing it) ...")
            path = recipes.train_ulda(run) if chain else recipes.train(run)
        self._trained[name] = path
        return path

    def _ulda(self, directory: Path, domains, **settings) -> RunConfig:
        profile = self.profile
        base = {**profile.network, **profile.runtime(), "seed": self.seed, "verbose": self.verbose}
        return recipes.ulda_config(str(directory), domains=tuple(domains), **{**base, **settings})

    def domains(self, transfer: Transfer, columns, subset=None) -> list[Domain]:
        return [Domain(c.task, str(self.domain_set(transfer, c, subset))) for c in columns]

    def universal(self, transfer: Transfer, init: bool = True, stair: bool = False, **network) -> Path:
        """Step 1 (3.2) on the sources (with Init: after the per-domain LDA runs); ``network``
        overrides (Tables 5-6: ``ssim_weight``, ``relu_delta``); ``stair``: Figure 6's runs. The
        LDA runs of Init do not depend on the loss's SSIM weight: Table 5 reuses the main ones."""
        sources = transfer.sources(self.offline)
        overrides = {**network, **(self.profile.figure6 if stair else {})}
        name = f"{transfer.name}_universal_{'init' if init else 'noinit'}"
        name += "".join(f"_{k}{v:g}" if isinstance(v, float) else f"_{k}{v}" for k, v in network.items())
        name += "_stair" if stair and self.profile.figure6 else ""
        settings = {**self.profile.universal, "step": "universal", "init": "lda" if init else "none"}
        chain = True
        if init and set(overrides) == {"ssim_weight"}:
            main = self.universal(transfer).parent.parent
            lda = tuple(str(main / f"lda_domain{i + 1}" / "model.keras") for i in range(len(sources)))
            settings.update(init="none", init_models=lda)
            chain = False

        def config(directory):
            return self._ulda(directory, self.domains(transfer, sources), **{**settings, **overrides})

        return self._train(name, config, chain=chain)  # with Init: <run>/universal/model.keras

    def transfer_step(
        self, transfer: Transfer, universal: Path, aug: bool, targets=None, subset=None, seed=None, tag=""
    ) -> Path:
        """Step 2 (3.3) from the ``universal`` model to ``targets`` (default all), with AUG or not."""
        targets = targets or transfer.targets(self.offline)
        name = f"{transfer.name}_transfer_{tag}{'aug' if aug else 'noaug'}"
        if subset is not None:
            name += f"_{targets[0].name}_n{subset[0]}_draw{subset[1]}"
        settings = {**self.profile.transfer, "step": "transfer", "aug": aug, "init_model": str(universal)}
        if seed is not None:
            settings["seed"] = seed

        def config(directory):
            return self._ulda(directory, self.domains(transfer, targets, subset), **settings)

        return self._train(name, config, chain=True)

    def _cnn(self, directory: Path, domains, **settings) -> RunConfig:
        base = {**self.profile.runtime(), "seed": self.seed, "verbose": self.verbose}
        return recipes.cnn_config(str(directory), domains=tuple(domains), **{**base, **settings})

    def _pooled_settings(self, method: str, step: str) -> tuple[Callable, dict]:
        """The config preset and the settings of ``method`` (:data:`POOLED`) on the pooled sources
        (``step="universal"``) or fine-tuned on a target (``"transfer"``)."""
        profile = self.profile
        if method == "LDA":  # U-LDA's network without groups
            schedule = profile.universal if step == "universal" else profile.finetune
            return self._ulda, {**schedule, "step": step, "domain_groups": False}
        schedule = profile.cnn_pretrain if step == "universal" else profile.cnn_finetune
        return self._cnn, {**profile.cnn[method], **schedule, "step": step}

    def pooled(self, transfer: Transfer, method: str = "LDA") -> Path:
        """``method`` (:data:`POOLED`) trained on all source domains pooled."""
        sources = transfer.sources(self.offline)
        preset, settings = self._pooled_settings(method, "universal")

        def config(directory):
            return preset(directory, self.domains(transfer, sources), **settings)

        return self._train(f"{transfer.name}_{method.lower()}_pooled", config)

    def finetuned(
        self, transfer: Transfer, column: Column, method: str = "LDA", subset=None, seed=None
    ) -> Path:
        """The pooled ``method`` fine-tuned (all of it) on one target column."""
        pooled = self.pooled(transfer, method)
        name = f"{transfer.name}_{method.lower()}_finetune_{column.name}"
        if subset is not None:
            name += f"_n{subset[0]}_draw{subset[1]}"
        preset, settings = self._pooled_settings(method, "transfer")
        settings["init_model"] = str(pooled)
        if seed is not None:
            settings["seed"] = seed

        def config(directory):
            return preset(directory, self.domains(transfer, [column], subset), **settings)

        return self._train(name, config)

    def meta_runs(self, transfer: Transfer, targets=None, subset=None, seed=None) -> tuple[Path, Path] | None:
        """The Meta baseline (cross-sampling only): meta training on the source ratios, then the
        adaptation to ``targets`` (default all targets)."""
        if not transfer.shared_dataset:
            return None
        sources, targets = transfer.sources(self.offline), targets or transfer.targets(self.offline)
        source_set = self.domain_set(transfer, sources[0])
        target_set = self.domain_set(transfer, targets[0], subset)
        tasks = lambda columns: ",".join(str(c.task) for c in columns)  # noqa: E731
        common_settings = {**self.profile.runtime(), "seed": self.seed, "verbose": self.verbose}
        meta = self._train(
            f"{transfer.name}_meta",
            lambda d: recipes.meta_config(
                str(d),
                dataset_dir=str(source_set),
                tasks=tasks(sources),
                **common_settings,
                **self.profile.meta,
            ),
        )
        name = f"{transfer.name}_meta_adapt" + (
            f"_{targets[0].name}_n{subset[0]}_draw{subset[1]}" if subset is not None else ""
        )
        settings = {**common_settings, **self.profile.adaptation, "init_model": str(meta)}
        if seed is not None:
            settings["seed"] = seed
        adapted = self._train(
            name,
            lambda d: recipes.adaptation_config(
                str(d), dataset_dir=str(target_set), tasks=tasks(targets), **settings
            ),
        )
        return meta, adapted

    # ------------------------------------------------------------------ evaluation
    def score(
        self, transfer: Transfer, column: Column, methods: list[Method], keep: bool = False
    ) -> tuple[list[dict], dict]:
        """``methods`` (each with its domain / task index for this column) on the column's test images."""
        dataset = self.domain_set(transfer, column)
        test = self.images(dataset, "test")
        with self.timed("evaluation"):
            rows, _, kept = compare(methods, test, [column.task], keep_image=len(test) // 2 if keep else None)
        extra = dict(experiment=transfer.name, column=column.name, target=column.target)
        return [{**extra, **row} for row in rows], {"test": test, **kept}

    def tv(self, transfer: Transfer, column: Column) -> tuple[Method, dict]:
        val = self.images(self.domain_set(transfer, column), "val")
        with self.timed("evaluation"):
            return tv_method(val)

    def transfer_methods(self, transfer: Transfer) -> dict[str, dict[str, Method]]:
        """``{column: {method: Method}}`` of Tables 1-3 (module docstring), training what is missing."""
        sources, targets = transfer.sources(self.offline), transfer.targets(self.offline)
        universal = self.universal(transfer)
        ulda = Method.of_network(
            "U-LDA", outputs.load_model(self.transfer_step(transfer, universal, aug=True))
        )
        meta_paths = self.meta_runs(transfer)
        chain = universal.parent.parent
        by_column: dict[str, dict[str, Method]] = {}
        for index, column in enumerate(sources):
            lda = Method.of_network(
                "LDA", outputs.load_model(chain / f"lda_domain{index + 1}" / "model.keras")
            )
            by_column[column.name] = {"LDA": lda, "U-LDA": dataclasses.replace(ulda, domain=index)}
        for index, column in enumerate(targets):
            lda = Method.of_network("LDA", outputs.load_model(self.finetuned(transfer, column)))
            domain = len(sources) + index
            by_column[column.name] = {"LDA": lda, "U-LDA": dataclasses.replace(ulda, domain=domain)}
        for method in CNN_BASELINES:
            pooled = Method.of_network(method, outputs.load_model(self.pooled(transfer, method)))
            for column in sources:
                by_column[column.name][method] = pooled
            for column in targets:
                tuned = outputs.load_model(self.finetuned(transfer, column, method))
                by_column[column.name][method] = Method.of_network(method, tuned)
        if meta_paths is not None:
            meta = Method.of_network("Meta", outputs.load_model(meta_paths[0]))
            adapted = Method.of_network("Meta", outputs.load_model(meta_paths[1]))
            for index, column in enumerate(sources):
                by_column[column.name]["Meta"] = dataclasses.replace(meta, domain=index)
            for index, column in enumerate(targets):
                by_column[column.name]["Meta"] = dataclasses.replace(adapted, domain=index)
        return by_column

    # ------------------------------------------------------------------ tables 1-3
    def transfer_table(self, transfer: Transfer) -> tuple[list[dict], str, tuple[Path, ...]]:
        methods = self.transfer_methods(transfer)
        rows, kept, tv_weights = [], {}, {}
        for column in transfer.usable(self.offline):
            tv, weights = self.tv(transfer, column)
            order = [
                ZERO_FILLING,
                tv,
                *(methods[column.name][m] for m in LEARNED if m in methods[column.name]),
            ]
            column_rows, column_kept = self.score(transfer, column, order, keep=column.target)
            rows += column_rows
            tv_weights[column.header] = next(iter(weights.values()))
            if column.target:
                kept[column.name] = column_kept
        columns = transfer.columns
        ours = _cells(rows, "column")
        published = {
            method: {
                f"{c}:{metric}": v
                for metric in ("psnr", "ssim")
                for c, v in ulda_values(transfer.table, metric)[method].items()
            }
            for method in ulda_values(transfer.table, "psnr")
        }
        settings = [f"{c.name}:{m}" for m in ("psnr", "ssim") for c in columns]
        header = [
            f"{'PSNR' if m == 'psnr' else 'SSIM%'} {c.header}" for m in ("psnr", "ssim") for c in columns
        ]
        text = grid(
            f"Table {transfer.table}: {transfer.title}: PSNR (dB) and SSIM (%)",
            settings,
            header,
            [("ours", {LABELS[m]: v for m, v in ours.items()}, {}), ("published", published, {})],
            notes=[
                *self.data_notes(transfer),
                "TV weight per column (best validation PSNR): "
                + ", ".join(f"{c} {w:g}" for c, w in tv_weights.items()),
                *METHOD_NOTES,
                *(
                    []
                    if transfer.shared_dataset
                    else ["Meta: not run (its tasks are masks on one dataset); published only"]
                ),
                f"not run here, published only: {', '.join(PUBLISHED_ONLY)}",
                self.profile.description,
                PAPER_NOTE,
                self.timing_note(),
            ],
        )
        figure_paths = self.comparison_figures(transfer, kept)
        return rows, text, figure_paths

    def comparison_figures(self, transfer: Transfer, kept: dict) -> tuple[Path, ...]:
        """Figure 2-5 style: one target test image per column, every learned method, zoom and
        pointwise error; the cross-sampling targets share one figure (their ratios differ)."""
        groups = [list(kept)] if transfer.shared_dataset else [[name] for name in kept]
        paths = []
        for names in groups:
            if not names:
                continue
            shown = [m for m in ("zero_filling", *LEARNED) if all(m in kept[n] for n in names)]
            recons = {LABELS[m]: {} for m in shown}
            masks = {}
            columns = {c.name: c for c in transfer.columns}
            for name in names:
                ratio = columns[name].task.ratio * 100  # as lda_tf.comparison.compare keys them
                for method in shown:
                    recons[LABELS[method]][ratio] = kept[name][method][ratio]
                test = kept[name]["test"]
                masks[ratio] = columns[name].task.mask(test.shape[1:])
            target_set = kept[names[0]]["test"]
            target = target_set[len(target_set) // 2]
            stem = "_".join(names)
            paths.append(
                figures.comparison_figure(
                    target,
                    recons,
                    masks,
                    self.folder / f"figure_{transfer.name}_{stem}.png",
                    title=f"{transfer.title}: target {', '.join(names)}, test image {len(target_set) // 2}",
                )
            )
        return tuple(paths)

    def data_notes(self, transfer: Transfer) -> list[str]:
        profile = self.profile
        lines = []
        for column in transfer.usable(self.offline):
            role = "target" if column.target else "source"
            count = profile.target_images if column.target else profile.source_images[transfer.name]
            lines.append(f"{column.header}: {self.data_label(column)}; {count} {role} training images")
        left_out = [c.header for c in transfer.columns if self.offline and not c.standin]
        lines = ["data: " + "; ".join(lines) + f"; {profile.test_images} test images a column"]
        if transfer.shared_dataset:
            overlap = "the sources' first ones (--target_overlap, as the release)"
            disjoint = "disjoint from the sources' (the release's overlap: --target_overlap)"
            lines.append(f"target training images: {overlap if self.target_overlap else disjoint}")
        if self.offline:
            lines.append(
                "NOT the paper's data: offline stand-ins"
                + (f"; no stand-in for {', '.join(left_out)} (left out)" if left_out else "")
            )
        return lines

    # ------------------------------------------------------------------ table 4
    def ablation(self) -> tuple[list[dict], str]:
        rows = []
        for transfer in self.transfers:
            targets = transfer.targets(self.offline)
            universal = self.universal(transfer)
            plain = self.universal(transfer, init=False)
            runs = {
                "adapter/no Init/no AUG": self.transfer_step(transfer, plain, aug=False, tag="noinit_"),
                "adapter/Init/no AUG": self.transfer_step(transfer, universal, aug=False),
                "adapter/Init/AUG": self.transfer_step(transfer, universal, aug=True),
            }
            networks = {row: Method.of_network(row, outputs.load_model(path)) for row, path in runs.items()}
            sources = len(transfer.sources(self.offline))
            for index, column in enumerate(targets):
                methods = [
                    Method.of_network(
                        "no adapter/no Init/no AUG", outputs.load_model(self.finetuned(transfer, column))
                    )
                ]
                methods += [dataclasses.replace(m, domain=sources + index) for m in networks.values()]
                column_rows, _ = self.score(transfer, column, methods)
                rows += column_rows
        ours: dict = {}
        for row in rows:
            transfer = TRANSFERS[row["experiment"]]
            setting = (
                transfer.name
                if row["column"] == transfer.ablation_column
                else f"{transfer.name} {row['column']}"
            )
            ours.setdefault(row["method"], {}).setdefault(setting, []).append(row["psnr"])
        ours = {m: {s: float(np.mean(v)) for s, v in by.items()} for m, by in ours.items()}
        settings = list(
            dict.fromkeys(["anatomy", "sampling", "modality", *(s for by in ours.values() for s in by)])
        )
        header = [_ablation_header(s) for s in settings]
        text = grid(
            "Table 4: PSNR (dB) of U-LDA with or without adapters, Init of g, AUG",
            settings,
            header,
            [("ours", ours, {}), ("published", ulda_values(4, "psnr"), {})],
            notes=[
                "rows: no adapter/no Init/no AUG = the LDA row (pooled-source LDA fine-tuned on the target); "
                "adapter/Init/AUG = U-LDA as in Tables 1-3",
                "columns: cross-anatomy Prostate, cross-sampling 15 %, cross-modality fastMRI (the paper's); "
                "other targets as extra columns",
                *(note for transfer in self.transfers for note in self.data_notes(transfer)),
                self.profile.description,
                PAPER_NOTE,
                self.timing_note(),
            ],
        )
        return rows, text

    # ------------------------------------------------------------------ tables 5-6
    def sweep(self, table: int) -> tuple[list[dict], str]:
        transfer = self.transfers[0]
        sources = transfer.sources(self.offline)
        index = [c.name for c in sources].index(transfer.study_column)
        column = sources[index]
        name, values = (
            ("ssim_weight", self.profile.alphas) if table == 5 else ("relu_delta", self.profile.deltas)
        )
        default = DEFAULT_ALPHA if table == 5 else recipes.ulda_config(".").network.relu_delta
        rows = []
        for value in values:
            overrides = {} if value == default else {name: value}
            network = outputs.load_model(self.universal(transfer, **overrides))
            method = Method.of_network(f"{value:g}", network, domain=index)
            column_rows, _ = self.score(transfer, column, [method])
            rows += column_rows
        ours = {"U-LDA": {row["method"]: row["psnr"] for row in _means(rows, "method")}}
        symbol = "alpha (SSIM weight)" if table == 5 else "delta (smoothed ReLU)"
        settings = [f"{v:g}" for v in values]
        published = {
            m: {f"{float(k):g}": v for k, v in by.items()} for m, by in ulda_values(table, "psnr").items()
        }
        text = grid(
            f"Table {table}: PSNR (dB) of U-LDA's Step 1 on the {column.header} source for each {symbol}",
            list(dict.fromkeys(settings + list(published["U-LDA"]))),
            [f"{symbol.split()[0]}={s}" for s in dict.fromkeys(settings + list(published["U-LDA"]))],
            [("ours", ours, {}), ("published", published, {})],
            notes=[
                f"ours: {transfer.title}, source {column.header} (the paper: the cross-anatomy brain column, "
                "which Table 1's U-LDA Brain value equals)",
                *self.data_notes(transfer),
                self.profile.description,
                PAPER_NOTE,
                self.timing_note(),
            ],
        )
        return rows, text

    # ------------------------------------------------------------------ figure 6
    def phase_similarity(self) -> tuple[list[dict], str, tuple[Path, ...]]:
        transfer = self.transfers[0]
        sources = transfer.sources(self.offline)
        universal = self.universal(transfer, stair=True)
        chain = universal.parent.parent
        universal_stages = stage_models(universal.parent / "stages")
        rows = []
        for index, column in enumerate(sources):
            lda_stages = stage_models(chain / f"lda_domain{index + 1}" / "stages")
            test = self.images(self.domain_set(transfer, column), "test")
            for phases in sorted(set(universal_stages) & set(lda_stages)):
                with self.timed("evaluation"):
                    lda_features = _features(outputs.load_model(lda_stages[phases]), test, column.task, 0)
                    universal_features = _features(
                        outputs.load_model(universal_stages[phases]), test, column.task, index
                    )
                rows.append(
                    dict(
                        column=column.name,
                        phases=phases,
                        cka=linear_cka(lda_features, universal_features),
                        ncc=ncc(lda_features, universal_features),
                    )
                )
        curves = {
            measure: {
                f"{measure.upper()} {c.header}": {
                    r["phases"]: r[measure] for r in rows if r["column"] == c.name
                }
                for c in sources
            }
            for measure in ("cka", "ncc")
        }
        paths = tuple(
            figures.psnr_versus_phases(
                curves[measure],
                f"Figure 6: {measure.upper()} between g_i (LDA) and g (U-LDA), {transfer.name}",
                self.folder / f"figure6_{measure}.png",
                ylabel=f"linear {measure.upper()}" if measure == "cka" else "NCC",
            )
            for measure in ("cka", "ncc")
        )
        phases = sorted({r["phases"] for r in rows})
        values = {
            label: {str(k): v for k, v in curve.items()}
            for m in curves.values()
            for label, curve in m.items()
        }
        text = grid(
            "Figure 6: similarity of g_i (LDA on source i) and g (U-LDA) versus the phase count T",
            [str(k) for k in phases],
            [f"T={k}" for k in phases],
            [("ours", values, {})],
            digits=4,
            notes=[
                "features |g(x_T)| at each network's output on the source's test images (linear CKA over "
                "images, NCC per image averaged); the paper plots these without numbers and chooses T = 15",
                *self.data_notes(transfer),
                self.profile.description,
                self.timing_note(),
            ],
        )
        return rows, text, paths

    # ------------------------------------------------------------------ figure 7
    def sample_sizes(self) -> tuple[list[dict], str, tuple[Path, ...]]:
        rows = []
        for transfer in self.transfers:
            sources = transfer.sources(self.offline)
            targets = transfer.targets(self.offline)
            column = next(c for c in targets if c.name == transfer.ablation_column)
            universal = self.universal(transfer)
            for count in self.profile.figure7_sizes:
                for draw in range(self.profile.figure7_draws):
                    subset, seed = (count, draw), self.seed + draw
                    ulda = self.transfer_step(
                        transfer, universal, aug=True, targets=[column], subset=subset, seed=seed
                    )
                    methods = {  # in the paper's order (LEARNED)
                        name: Method.of_network(
                            name, outputs.load_model(self.finetuned(transfer, column, name, subset, seed))
                        )
                        for name in POOLED
                    }
                    methods["U-LDA"] = Method.of_network(
                        "U-LDA", outputs.load_model(ulda), domain=len(sources)
                    )
                    meta = self.meta_runs(transfer, targets=[column], subset=subset, seed=seed)
                    if meta is not None:
                        methods["Meta"] = Method.of_network("Meta", outputs.load_model(meta[1]), domain=0)
                    methods = [methods[name] for name in LEARNED if name in methods]
                    column_rows, _ = self.score(transfer, column, methods)
                    rows += [{**row, "images": count, "draw": draw} for row in column_rows]
        summary: dict = {}
        for row in rows:
            key = (row["experiment"], row["method"], row["images"], row["draw"])
            summary.setdefault(key, []).append(row["psnr"])
        bars: dict = {}
        for (experiment, method, count, _), values in summary.items():
            bars.setdefault(experiment, {}).setdefault(method, {}).setdefault(f"{count} images", []).append(
                float(np.mean(values))
            )
        paths, blocks = [], []
        for experiment, by_method in bars.items():
            stats = {
                m: {s: (float(np.mean(v)), float(np.std(v))) for s, v in by.items()}
                for m, by in by_method.items()
            }
            column = TRANSFERS[experiment].ablation_column
            paths.append(
                figures.grouped_bars(
                    stats,
                    f"Figure 7: {experiment}, target {column}: PSNR versus target images",
                    self.folder / f"figure7_{experiment}.png",
                    "PSNR (dB)",
                )
            )
            blocks.append(
                (
                    f"{experiment} {column}",
                    {
                        m: {s: f"{mean:.2f} ± {std:.2f}" for s, (mean, std) in by.items()}
                        for m, by in stats.items()
                    },
                )
            )
        settings = [f"{n} images" for n in self.profile.figure7_sizes]
        lines = ["### Figure 7: PSNR (dB) versus the target training images, mean ± std over draws", ""]
        lines += [
            "| experiment | method | " + " | ".join(settings) + " |",
            "|---|---|" + "---|" * len(settings),
        ]
        for label, by_method in blocks:
            for method, cells in by_method.items():
                lines.append(
                    f"| {label} | {method} | " + " | ".join(cells.get(s, "-") for s in settings) + " |"
                )
        notes = [
            f"{self.profile.figure7_draws} draws a size (random target subsets and training seeds); the "
            "paper: five, 5 / 40 / 100 images, bars without printed numbers",
            *(note for transfer in self.transfers for note in self.data_notes(transfer)),
            self.profile.description,
            self.timing_note(),
        ]
        text = "\n".join(lines + [""] + [f"- {n}" for n in notes]) + "\n"
        return rows, text, tuple(paths)

    # ------------------------------------------------------------------ the experiment
    def reproduce(self) -> common.Result:
        figures_written: tuple[Path, ...] = ()
        if self.experiment in ("table1", "table2", "table3"):
            rows, text, figures_written = self.transfer_table(self.transfers[0])
        elif self.experiment == "table4":
            rows, text = self.ablation()
        elif self.experiment in ("table5", "table6"):
            rows, text = self.sweep(int(self.experiment[-1]))
        elif self.experiment == "figure6":
            rows, text, figures_written = self.phase_similarity()
        else:
            rows, text, figures_written = self.sample_sizes()
        per_image = self.write_per_image(rows)
        markdown_path, _ = write_table(text, self.folder, self.experiment)
        return common.Result(text, markdown_path, per_image, self.runs, figures=figures_written)

    @property
    def result_folder(self) -> Path:
        return self.output / f"ulda_{self.experiment}{'_overlap' if self.target_overlap else ''}"

    @property
    def runs(self) -> Path:
        """Runs with overlapping target sets train on other data: they live apart."""
        return self.output / ("runs_overlap" if self.target_overlap else "runs")


METHOD_NOTES = [
    "DnCn (cascades of a residual CNN and data consistency) and UNet (fastMRI's, on the magnitude): "
    "trained on the pooled sources, fine-tuned on each target (lda_tf.cnn; sizes per profile)",
    "LDA: on a source the LDA trained on it (Init's g_i runs); on a target the LDA trained on the pooled "
    "sources, fine-tuned on the target",
    "Meta: the meta paper's network meta-trained on the source ratios, adapted to the target ratios",
    "U-LDA: Step 1 with Init, Step 2 with AUG; each column with its domain's adapter and steps",
]


def _means(rows: list[dict], key: str) -> list[dict]:
    groups: dict = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row["psnr"])
    return [{key: name, "psnr": float(np.mean(values))} for name, values in groups.items()]


def _cells(rows: list[dict], key: str) -> dict[str, dict[str, float]]:
    """``{method: {"<column>:psnr": mean, "<column>:ssim": mean in percent}}``."""
    groups: dict = {}
    for row in rows:
        groups.setdefault((row["method"], row[key]), []).append(row)
    cells: dict = {}
    for (method, column), members in groups.items():
        cells.setdefault(method, {})[f"{column}:psnr"] = float(np.mean([m["psnr"] for m in members]))
        cells[method][f"{column}:ssim"] = 100.0 * float(np.mean([m["ssim"] for m in members]))
    return cells


def _ablation_header(setting: str) -> str:
    labels = {"anatomy": "Cross-Anatomy", "sampling": "Cross-Sampling-Rate", "modality": "Cross-Modality"}
    name, _, column = setting.partition(" ")
    return labels[name] + (f" ({column}%)" if column.isdigit() else f" ({column})" if column else "")


def _features(network: keras.Model, images: np.ndarray, task: Task, domain: int) -> np.ndarray:
    """``|g(x_T)|`` of ``network`` at its reconstructions of ``images`` (Figure 6), ``[N, ...]``."""
    recons = reconstruct_all(network_reconstructor(network), images, task, domain)
    features = network.features(recons.astype(np.complex64))
    return np.abs(np.asarray(features)).reshape(len(images), -1)
