"""What every paper's reproduction shares: the experiment's output folder and its ``config.json``,
profiles, train-or-reuse of the training runs, timings, and the :class:`Result` the binary prints.

A paper is a :class:`Reproduction` subclass (``papers/meta.py``, ``papers/lda/``) that names its
experiments (``table1``, ``figure7``, ...), its profiles (a :class:`Registry` of frozen
:class:`Profile` dataclasses) and the data options it takes, and implements :meth:`reproduce`.
``experiments/reproduce.py`` dispatches through :data:`lda_tf.papers.registry.PAPERS`.

Output directory of every paper::

    runs/<run>/                  each training run (config, checkpoints, TensorBoard logs, model),
                                 shared by the paper's experiments
    <experiment folder>/         config.json (settings, version, commit), per_image.csv, the table
                                 (.md, and .csv where the paper has one), figures

``overwrite`` rebuilds the experiment folder beside the old one and swaps it in only when the
experiment is complete (:mod:`lda_tf.outputs`): a failed overwrite leaves the old results; a
folder this package did not write, or a file in its place, is never replaced.

A finished run is reused only when its stored settings equal the ones the experiment asks for,
an unfinished one resumes; :func:`lda_tf.recipes.train` compares them, and
:meth:`Reproduction.train_or_reuse` is the one place a reproduction trains.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

from lda_tf import determinism, outputs, recipes, runtime
from lda_tf.atomic import atomic_file, check_not_file, remove_stale, staging, swap
from lda_tf.checks import check_choice
from lda_tf.evaluation import write_rows
from lda_tf.provenance import run_record
from lda_tf.recipes import RunConfig

T = TypeVar("T")
TOOL = "experiments/reproduce.py"


@dataclasses.dataclass(frozen=True)
class Profile:
    """A named set of a paper's settings (``paper``, ``quick``, ``smoke``); papers add fields."""

    name: str
    description: str  # printed with every table: how far the settings are from the paper's


class Registry(Mapping[str, T], Generic[T]):
    """Named choices of one kind (profiles, papers): a read-only mapping whose :meth:`choose`
    checks the name with :func:`lda_tf.checks.check_choice`."""

    def __init__(self, kind: str, items: Mapping[str, T]):
        self.kind, self._items = kind, dict(items)

    @classmethod
    def of_profiles(cls, *profiles: Profile) -> Registry:
        return cls("profile", {profile.name: profile for profile in profiles})

    def choose(self, name: str) -> T:
        return self._items[check_choice(name, self._items, self.kind)]

    def __getitem__(self, name: str) -> T:
        return self._items[name]

    def __iter__(self):
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@dataclasses.dataclass(frozen=True)
class Result:
    """What one experiment wrote."""

    markdown: str  # the table (or the figure's summary) as printed
    table_markdown: Path
    per_image: Path  # every test image's numbers
    logs: Path  # TensorBoard logs of the training runs
    table_csv: Path | None = None
    figures: tuple[Path, ...] = ()

    def summary(self) -> str:
        """The table and where everything is, as the binary prints it."""
        table = f"table:  {self.table_markdown}" + (f" (and {self.table_csv.name})" if self.table_csv else "")
        lines = [self.markdown, table]
        lines += [f"figure: {figure}" for figure in self.figures]
        lines += [
            f"per-image results: {self.per_image}",
            f"TensorBoard logs: {self.logs}  (make tensorboard LOGDIR={self.logs})",
        ]
        return "\n".join(lines)


class Reproduction:
    """One experiment of a paper by one profile into ``output_dir``.

    Subclasses set :attr:`paper`, :attr:`experiments` (name -> title), :attr:`profiles`,
    :attr:`data_options` (the keyword arguments, also flag names, naming their data) and
    implement :meth:`reproduce`; :meth:`run` prepares the folder, writes ``config.json``, times.
    """

    paper: ClassVar[str]
    description: ClassVar[str]
    experiments: ClassVar[Mapping[str, str]]
    default_experiment: ClassVar[str | None] = None
    profiles: ClassVar[Registry[Profile]]
    data_options: ClassVar[tuple[str, ...]] = ()
    supports_seeds: ClassVar[bool] = False  # may train with several seeds (``seeds``)

    def __init__(
        self,
        experiment: str,
        profile: str,
        output_dir: str,
        seed: int = 0,
        overwrite: bool = False,
        verbose: int = 2,
        deterministic: bool = True,
        seeds: int = 1,
        log=print,
        **data,
    ):
        self.experiment = check_choice(experiment, self.experiments, "experiment")
        self.profile = self.profiles.choose(profile)
        for name in data:
            check_choice(name, self.data_options, "data option")
        self.data = {name: data.get(name) for name in self.data_options}
        self.output = Path(output_dir)
        self.seed, self.overwrite, self.verbose, self.log = seed, overwrite, verbose, log
        self.deterministic = deterministic
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1; got {seeds}")
        if seeds > 1 and not self.supports_seeds:
            raise ValueError(f"seeds > 1 (mean +- std over seeds) is not supported by --paper={self.paper}")
        self.seeds = int(seeds)
        self.timings: dict[str, float] = {}
        self._staging: Path | None = None  # where an overwrite builds the new result folder

    # ------------------------------------------------------------------ outputs
    @property
    def result_folder(self) -> Path:
        """The experiment's result folder (``<output>/<experiment>``; papers may rename it)."""
        return self.output / self.experiment

    @property
    def folder(self) -> Path:
        """Where the experiment writes its results: :attr:`result_folder`, or with ``overwrite``
        of an existing one the staging folder beside it (swapped in by :meth:`run`)."""
        return self._staging or self.result_folder

    @property
    def seed_values(self) -> range:
        """The seeds the learned methods are trained with: ``seed``, ``seed + 1``, ..."""
        return range(self.seed, self.seed + self.seeds)

    @property
    def runs(self) -> Path:
        return self.output / "runs"

    def settings(self) -> dict:
        """What ``config.json`` records: the experiment, the profile and its values, the data."""
        return dict(
            paper=self.paper,
            experiment=self.experiment,
            profile=self.profile.name,
            profile_settings=dataclasses.asdict(self.profile),
            **self.data,
            seed=self.seed,
            deterministic=self.deterministic,
            seeds=self.seeds,
            overwrite=self.overwrite,
        )

    def prepare(self) -> Path:
        """The folder the experiment writes (:attr:`folder`: with ``overwrite`` of an existing
        result folder a fresh one beside it) with its ``config.json`` (atomic). Raises
        :class:`FileExistsError` for an output that is a file or a result folder not ours."""
        check_not_file(self.output)
        remove_stale(self.result_folder)
        exists = outputs.check_output_dir(self.result_folder)
        if exists and self.overwrite:
            self._staging = staging(self.result_folder)
        folder = self.folder
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_file(folder / "config.json") as handle:
            handle.write(json.dumps(run_record(f"{TOOL} --paper={self.paper}", self.settings()), indent=2))
            handle.write("\n")
        return folder

    def write_per_image(self, rows: list[dict]) -> Path:
        path = self.folder / "per_image.csv"
        write_rows(rows, path)
        return path

    # ------------------------------------------------------------------ training and timing
    def train_or_reuse(self, name: str, config: Callable[[Path], RunConfig], what: str = "") -> Path:
        """``runs/<name>/model.keras``, trained by :func:`lda_tf.recipes.train` with the settings
        ``config(directory)`` (``what`` describes the run in the log), timed as ``train <name>``.
        The one place a reproduction trains: a finished run is reused only when it was trained
        under these settings (else :class:`~lda_tf.training.config.SettingsMismatch` says which
        differ), an unfinished one resumes, ``overwrite`` retrains."""
        directory = self.runs / name
        with self.timed(f"train {name}"):
            if self.overwrite or not (directory / "model.keras").is_file():
                self.log(f"training {name}" + (f" ({what})" if what else "") + " ...")
            settings = dict(overwrite=self.overwrite, deterministic=self.deterministic)
            return recipes.train(config(directory).replace(**settings))

    @contextlib.contextmanager
    def timed(self, label: str) -> Iterator[None]:
        """Add the block's wall time to ``label``'s (a label timed again, e.g. the evaluation of
        each seed, sums)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[label] = self.timings.get(label, 0.0) + time.perf_counter() - start

    def timing_note(self) -> str:
        return "wall time: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in self.timings.items())

    # ------------------------------------------------------------------ the experiment
    def run(self) -> Result:
        """Prepare the folder, then :meth:`reproduce` (deterministic by default, so the same
        command gives the same table: :mod:`lda_tf.determinism`)."""
        runtime.set_graph_optimization(  # its runs' default
            RunConfig.function_constant_folding, RunConfig.all_grappler_passes
        )
        determinism.configure(self.deterministic, self.seed)
        self.prepare()
        staged = self._staging
        if staged is None:
            return self.reproduce()
        try:
            result = self.reproduce()
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)  # the old results stay as they were
            raise
        finally:
            self._staging = None
        swap(staged, self.result_folder)
        return self._moved(result, staged)

    def _moved(self, result: Result, staged: Path) -> Result:
        """``result`` with its paths in the staging folder pointing into :attr:`result_folder`."""

        def moved(path):
            if path is None or not Path(path).is_relative_to(staged):
                return path
            return self.result_folder / Path(path).relative_to(staged)

        return dataclasses.replace(
            result,
            table_markdown=moved(result.table_markdown),
            per_image=moved(result.per_image),
            logs=moved(result.logs),
            table_csv=moved(result.table_csv),
            figures=tuple(moved(figure) for figure in result.figures),
        )

    def reproduce(self) -> Result:
        raise NotImplementedError
