"""Tables 1-5 of the meta paper, end to end: data check (and BraTS conversion), meta training once
per contrast, adaptation where the table needs it, conventional training per task, the
zero-filling and TV anchors, test-set evaluation, the table beside the published one, a figure.

Tables (section 5 of the meta paper):

====== ======== ==================================== ==========================================
table  contrast tasks evaluated                      meta row from
====== ======== ==================================== ==========================================
1      T1       radial 10/20/30/40 %                 the meta-trained network
2      T1       radial 15/25/35 % (unseen)           adaptation of the T1 meta network (5.4)
3      T2       radial 10/20/30/40 %                 the meta-trained network
4      T2       radial 15/25/35 % (unseen)           adaptation of the T2 meta network
5      T2       Cartesian 10/20/30/40 % (unseen)     adaptation of the T2 meta network
====== ======== ==================================== ==========================================

The conventional rows are trained per task on that task (section 5.2). Tables 1 and 3 add a row
"Release as run": the authors' TF1 release as its training script computes and trains
(``lda_tf.recipes.MetaRelease``; docs/decisions.md), with the meta row's training budget
(:data:`RELEASE_BUDGET`) and network size, so the published algorithm (the paper's numbers), the
released computation and ours stand side by side.

Profiles: ``paper`` uses SPEC 4's values; ``quick`` scales resolution, phases, epochs and data
down for a CPU (the values are in :data:`PROFILES` and printed with the table); ``smoke`` only
checks that the chain runs.

Decision (quick profile, sized so that ``make demo`` ends within 20 minutes on a 2-core CPU): the
160x180 slices are downsampled to 80x90 (the whole brain at half resolution) rather than cropped;
3 phases instead of 11; meta 4 epochs (240 bilevel steps of 4 + 4 images); conventional 15 epochs
of batch 8 per task on train + val (180 steps, 1440 image passes of its own task against meta's
240 per task; the paper's ratio is 900k to 30k); adaptation 4 epochs. Everything else (Adam 1e-3,
the bilevel schedule, the network's l = 3, d = 4) is the paper's.

Output directory::

    data/brats_<contrast>/          converted BraTS (when --brats_dir is given)
    runs/<run>/                     each training run (config, checkpoints, TensorBoard logs, model)
    table<N>/config.json            the reproduction's settings, version, commit
    table<N>/per_image.csv          every test image's metrics for every method and task
    table<N>/table<N>.{md,csv}      the table, the published values, the gains
    table<N>/figure<N>.png          Figure-1-style comparison on one test slice

All tables can share one output directory, so that tables 1-2 (and 3-5) train their contrast's
meta network once. Re-running resumes: finished training runs are reused, unfinished ones resume
from their last checkpoint; evaluation and reporting are redone. ``overwrite`` retrains the runs
this table uses from scratch (converted data and other tables' runs are kept).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np

from lda_tf import outputs
from lda_tf.comparison import ZERO_FILLING, Method, compare, tv_method
from lda_tf.data import load_images, parse_tasks
from lda_tf.data.brats import DATASET_URL, BratsProtocol, convert_brats
from lda_tf.data.sample import sample_dir
from lda_tf.data.shards import read_manifest
from lda_tf.data.tasks import META_TRAINING_TASK_SPEC, Task
from lda_tf.evaluation import network_reconstructor, summarize
from lda_tf.papers import common
from lda_tf.papers.figures import comparison_figure
from lda_tf.papers.published import meta_table
from lda_tf.papers.report import gain_over_seeds, markdown, table_rows, write_table
from lda_tf.recipes import adaptation_config, conventional_config, meta_config, meta_release_config

PRESETS = {
    "meta": meta_config,
    "release": meta_release_config,
    "conventional": conventional_config,
    "adaptation": adaptation_config,
}
# The settings of the profile's meta row that the release row shares: its budget (and cadences),
# not its training procedure (stair growth, rates, Algorithm 2's constants are the script's own).
RELEASE_BUDGET = (
    "epochs",
    "steps_per_epoch",
    "max_images",
    "train_per_task",
    "val_per_task",
    "validation_every",
    "checkpoint_every",
    "image_every",
)


@dataclasses.dataclass(frozen=True)
class TableSpec:
    number: int
    contrast: str  # BraTS modality: t1 or t2
    tasks: str  # the tasks the table evaluates
    adapted: bool  # meta row from adapting the meta network to these (unseen) tasks
    title: str


TABLES = {
    1: TableSpec(1, "t1", META_TRAINING_TASK_SPEC, False, "T1, radial masks"),
    2: TableSpec(
        2, "t1", "radial:15,radial:25,radial:35", True, "T1, radial masks, unseen ratios (adaptation)"
    ),
    3: TableSpec(3, "t2", META_TRAINING_TASK_SPEC, False, "T2, radial masks"),
    4: TableSpec(
        4, "t2", "radial:15,radial:25,radial:35", True, "T2, radial masks, unseen ratios (adaptation)"
    ),
    5: TableSpec(
        5,
        "t2",
        "cartesian:10,cartesian:20,cartesian:30,cartesian:40",
        True,
        "T2, random Cartesian masks, unseen pattern (adaptation)",
    ),
}


@dataclasses.dataclass(frozen=True)
class MetaProfile(common.Profile):
    network: dict  # UnrolledLOA overrides of meta and conventional networks
    meta: dict  # settings of each mode's preset (lda_tf.recipes), by flat name
    conventional: dict
    adaptation: dict
    downsample: int


PROFILES = common.Registry.of_profiles(
    MetaProfile(
        "paper",
        network={},
        meta=dict(epochs=100),
        conventional=dict(epochs=2000, batch_size=25),
        adaptation=dict(epochs=50, max_images=100, batch_size=25),
        downsample=1,
        description="paper profile: SPEC 4 (11 phases, meta 100 epochs at batch 4+4, conventional "
        "2000 epochs at "
        "batch 25 on train+val, adaptation 50 epochs on 100 images)",
    ),
    MetaProfile(
        "quick",
        network=dict(num_phases=3),
        meta=dict(epochs=4),
        conventional=dict(epochs=15, batch_size=8, validation_every=5, checkpoint_every=5),
        adaptation=dict(epochs=4, max_images=100, batch_size=8),
        downsample=2,
        description="QUICK profile, scaled down for a CPU: images downsampled 2x (80x90 from "
        "160x180), 3 phases "
        "instead of 11, meta 4 epochs instead of 100, conventional 15 instead of 2000 (batch 8), "
        "adaptation 4 instead of 50; numbers are not comparable to the paper's",
    ),
    MetaProfile(
        "smoke",
        network=dict(num_phases=1),
        meta=dict(epochs=1, steps_per_epoch=2, max_images=4),
        conventional=dict(epochs=1, steps_per_epoch=2, batch_size=4, max_images=4),
        adaptation=dict(epochs=1, steps_per_epoch=2, batch_size=4, max_images=4),
        downsample=10,
        description="SMOKE profile: checks the whole chain in about a minute (16x18 images, 1 "
        "phase, 2 steps per "
        "run); its numbers mean nothing",
    ),
)


def locate_brats_releases(brats_dir: str) -> tuple[Path, Path]:
    """The training and validation releases inside ``brats_dir``: the folders whose names contain
    ``Training`` (holding ``HGG/``) and ``Validation`` (as unpacked from the BraTS 2018 archives:
    ``MICCAI_BraTS_2018_Data_Training``, ``MICCAI_BraTS_2018_Data_Validation``)."""
    root = Path(brats_dir)
    expected = (
        f"expected {root}/MICCAI_BraTS_2018_Data_Training/HGG/<case>/<case>_t1.nii.gz (and _t2) and "
        f"{root}/MICCAI_BraTS_2018_Data_Validation/<case>/<case>_t1.nii.gz, as unpacked from the BraTS 2018 "
        f"archives (registration and download: {DATASET_URL})"
    )
    if not root.is_dir():
        raise FileNotFoundError(f"BRATS_DIR {root} is not a directory; {expected}")
    folders = [path for path in root.iterdir() if path.is_dir()]
    training = [path for path in folders if "training" in path.name.lower() and (path / "HGG").is_dir()]
    validation = [path for path in folders if "validation" in path.name.lower()]
    if len(training) != 1 or len(validation) != 1:
        raise ValueError(
            f"BRATS_DIR {root} is not in the BraTS 2018 layout: found {len(training)} training release(s) "
            f"with HGG/ and {len(validation)} validation release(s); {expected}"
        )
    return training[0], validation[0]


class MetaReproduction(common.Reproduction):
    """One table (:data:`TABLES`) by one profile (:data:`PROFILES`) into ``output_dir``.

    Data: ``brats_dir`` (raw BraTS 2018, converted here by the paper's protocol), else
    ``dataset_dir`` (an already converted dataset of the table's contrast), else the embedded
    sample (single-contrast MNI152 slices, labelled as such).
    """

    paper = "meta"
    description = "the meta-learning paper's Tables 1-5 (BraTS)"
    experiments = {f"table{number}": spec.title for number, spec in TABLES.items()}
    default_experiment = "table1"
    profiles = PROFILES
    data_options = ("brats_dir", "dataset_dir")
    supports_seeds = True

    def __init__(self, experiment: str, profile: str, output_dir: str, **options):
        super().__init__(experiment, profile, output_dir, **options)
        self.spec = TABLES[int(self.experiment.removeprefix("table"))]
        brats_dir, dataset_dir = self.data["brats_dir"], self.data["dataset_dir"]
        if brats_dir and dataset_dir:
            raise ValueError("give brats_dir (raw BraTS) or dataset_dir (converted), not both")
        self.brats_releases = locate_brats_releases(brats_dir) if brats_dir else None  # fail fast
        if dataset_dir:  # fail fast on a directory that is not a converted dataset, or of another contrast
            modality = read_manifest(dataset_dir).get("protocol", {}).get("modality")
            if modality and modality != self.spec.contrast:
                raise ValueError(
                    f"dataset_dir {dataset_dir} holds {modality.upper()} images; Table {self.spec.number} "
                    f"is {self.spec.contrast.upper()}"
                )

    def settings(self) -> dict:
        return {**super().settings(), "brats_releases": [str(p) for p in self.brats_releases or ()]}

    # ------------------------------------------------------------------ data
    def data_source(self) -> tuple[str, str]:
        """(converted dataset directory, a label for the report)."""
        contrast = self.spec.contrast
        if self.brats_releases:
            converted = self.output / "data" / f"brats_{contrast}"
            if not (converted / "manifest.json").is_file():
                self.log(f"converting BraTS 2018 {contrast.upper()} into {converted} ...")
                convert_brats(*self.brats_releases, converted, BratsProtocol(modality=contrast))
            return str(converted), f"BraTS 2018 {contrast.upper()} (converted by the paper's protocol)"
        if self.data["dataset_dir"]:
            return self.data["dataset_dir"], f"converted dataset {self.data['dataset_dir']}"
        return str(sample_dir()), (
            "embedded sample: MNI152 template slices (one contrast, T1-weighted), "
            "NOT BraTS; 60/30/20 train/val/test images"
        )

    def images(self, dataset_dir: str, split: str) -> np.ndarray:
        return load_images(dataset_dir, split, downsample=self.profile.downsample)

    # ------------------------------------------------------------------ training
    def train(
        self, name: str, mode: str, dataset_dir: str, tasks: str, seed: int | None = None, **overrides
    ) -> keras.Model:
        """One training run under ``runs/name`` (reused when finished, resumed otherwise) with
        ``seed`` (default the reproduction's); mode ``release`` takes the meta row's
        :data:`RELEASE_BUDGET`."""
        if mode == "release":
            settings = {k: v for k, v in self.profile.meta.items() if k in RELEASE_BUDGET} | overrides
        else:
            settings = {**getattr(self.profile, mode), **overrides}
        if mode != "adaptation":
            settings.update(self.profile.network)

        def config(directory: Path):
            return PRESETS[mode](
                str(directory),
                dataset_dir=dataset_dir,
                tasks=tasks,
                downsample=self.profile.downsample,
                seed=self.seed if seed is None else seed,
                verbose=self.verbose,
                **settings,
            )

        return outputs.load_model(self.train_or_reuse(name, config, f"{mode}, tasks {tasks}"))

    # ------------------------------------------------------------------ evaluation
    def evaluate(
        self,
        dataset_dir: str,
        test: np.ndarray,
        tasks: list[Task],
        meta: keras.Model,
        conventional: dict[Task, keras.Model],
        release: keras.Model | None = None,
        baselines: tuple[Method, ...] = (),
    ) -> tuple[list[dict], dict, dict]:
        """``baselines`` and the learned methods on every task's test images
        (:func:`lda_tf.comparison.compare`): per-image rows, sigma(omega_i) per task, and the
        reconstructions of the middle test image (for the figure) as ``{method: {ratio: image}}``."""
        per_task = {task: network_reconstructor(network) for task, network in conventional.items()}
        methods = [*baselines, Method("conventional", per_task.get), Method.of_network("meta", meta)]
        if release is not None:
            methods.append(Method.of_network("release", release))
        with self.timed("evaluation"):
            return compare(methods, test, tasks, keep_image=len(test) // 2)

    # ------------------------------------------------------------------ the whole table
    @property
    def result_folder(self) -> Path:
        return self.output / f"table{self.spec.number}"

    def learned(
        self, dataset_dir: str, tasks: list[Task], seed: int
    ) -> tuple[keras.Model, keras.Model | None, dict[Task, keras.Model]]:
        """The meta (or adapted), release and per-task conventional networks trained with ``seed``;
        runs of seeds other than 0 are named ``<run>_seed<seed>`` (so seed 0 reuses the demo's)."""
        contrast, suffix = self.spec.contrast, "" if seed == 0 else f"_seed{seed}"
        meta = self.train(f"meta_{contrast}{suffix}", "meta", dataset_dir, META_TRAINING_TASK_SPEC, seed)
        release = (  # its own tasks only: the script adapts to none
            None
            if self.spec.adapted
            else self.train(
                f"release_{contrast}{suffix}", "release", dataset_dir, META_TRAINING_TASK_SPEC, seed
            )
        )
        if self.spec.adapted:
            mask_name = "_".join(task.name for task in tasks)
            meta = self.train(
                f"adapt_{contrast}_{mask_name}{suffix}",
                "adaptation",
                dataset_dir,
                self.spec.tasks,
                seed,
                init_model=str(self.runs / f"meta_{contrast}{suffix}" / "model.keras"),
            )
        conventional = {
            task: self.train(
                f"conventional_{contrast}_{task.name}{suffix}",
                "conventional",
                dataset_dir,
                _task_spec(task),
                seed,
            )
            for task in tasks
        }
        return meta, release, conventional

    def reproduce(self) -> common.Result:
        """Data, training (per seed), evaluation, the table and the figure (of the first seed)."""
        folder, number, contrast = self.folder, self.spec.number, self.spec.contrast
        dataset_dir, data_label = self.data_source()
        tasks = parse_tasks(self.spec.tasks)
        test = self.images(dataset_dir, "test")
        tv, tv_weights = tv_method(self.images(dataset_dir, "val"))
        rows, weight_lists, figure_recons = [], {}, {}
        for seed in self.seed_values:
            meta, release, conventional = self.learned(dataset_dir, tasks, seed)
            seed_rows, seed_weights, recons = self.evaluate(
                dataset_dir,
                test,
                tasks,
                meta,
                conventional,
                release,
                baselines=() if rows else (ZERO_FILLING, tv),  # they need no seed
            )
            rows += [{**row, "seed": seed} for row in seed_rows]
            for key, value in seed_weights.items():
                weight_lists.setdefault(key, []).append(value)
            figure_recons = figure_recons or recons
        weights = {  # sigma(omega_i): the mean over seeds
            key: None if None in values else float(np.mean(values)) for key, values in weight_lists.items()
        }

        per_image = self.write_per_image(rows)
        result_rows = table_rows(summarize(rows, weights), meta_table(number))
        notes = [
            f"data: {data_label}; {len(test)} test images per task",
            *self.seed_notes(rows),
            self.profile.description,
            "TV weight per task (best validation PSNR): "
            + ", ".join(f"{name} {w:g}" for name, w in tv_weights.items()),
            f"published values: journal version, Table {number} (BraTS 2018 {contrast.upper()}, 160x180, "
            "11 phases)",
            self.timing_note(),
        ]
        title = f"Table {number}: {self.spec.title}"
        text = markdown(title, result_rows, notes)
        markdown_path, csv_path = write_table(text, folder, f"table{number}", result_rows)
        masks = {task.ratio * 100: task.mask(test.shape[1:]) for task in tasks}
        figure_index = len(test) // 2
        figure = comparison_figure(
            test[figure_index],
            {m: figure_recons[m] for m in ("conventional", "meta")},
            masks,
            folder / f"figure{number}.png",
            title=f"{title} — test image {figure_index}",
        )
        return common.Result(text, markdown_path, per_image, self.runs, csv_path, (figure,))

    def seed_notes(self, rows: list[dict]) -> list[str]:
        """With several seeds: what the table's ``±`` means, and the gain's spread over seeds."""
        if self.seeds == 1:
            return []
        return [
            f"seeds {self.seed}-{self.seed + self.seeds - 1}: each cell is the mean over seeds of each "
            "seed's mean over the test images, ± the std over seeds (0 for zero filling and TV, which "
            "need no seed)",
            gain_over_seeds(rows),
        ]


def _task_spec(task: Task) -> str:
    return f"{task.mask_type}:{task.ratio * 100:g}:{task.seed}"
