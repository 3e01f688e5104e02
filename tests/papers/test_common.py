"""The reproduction base: profile choice, config.json, train-or-reuse, timings, Result."""

import dataclasses
import json

import pytest

from lda_tf.atomic import UnsafeOutputError
from lda_tf.papers.common import Profile, Registry, Reproduction, Result
from lda_tf.papers.registry import PAPERS
from lda_tf.recipes import conventional_config
from lda_tf.training.config import SettingsMismatch

# A training run of a few seconds: 1 phase, 1 step of 2 tiny images.
TINY_RUN = dict(epochs=1, steps_per_epoch=1, batch_size=2, max_images=2, downsample=10, num_phases=1)


@dataclasses.dataclass(frozen=True)
class _Profile(Profile):
    steps: int


class _Paper(Reproduction):
    paper = "toy"
    description = "a toy paper"
    experiments = {"table1": "one table"}
    profiles = Registry.of_profiles(_Profile("smoke", "SMOKE: nothing", steps=1))
    data_options = ("dataset_dir",)

    def reproduce(self) -> Result:
        def config(directory):
            return conventional_config(str(directory), verbose=0, **TINY_RUN)

        first = self.train_or_reuse("run_a", config)
        trained_at = first.stat().st_mtime_ns
        again = self.train_or_reuse("run_a", config)
        assert first == again == self.runs / "run_a" / "model.keras"
        reused = again.stat().st_mtime_ns == trained_at
        text = f"reused {reused}; {self.timing_note()}"
        return Result(text, self.folder / "table1.md", self.write_per_image([dict(a=1)]), self.runs)


def test_run_writes_config_and_reuses_a_finished_run(tmp_path):
    result = _Paper("table1", "smoke", str(tmp_path), dataset_dir="/data", log=lambda *_: None).run()
    assert result.markdown.startswith("reused True;") and "train run_a" in result.markdown
    record = json.loads((tmp_path / "table1" / "config.json").read_text())
    assert record["tool"] == "experiments/reproduce.py --paper=toy" and "git_commit" in record
    settings = record["settings"]
    assert settings["experiment"] == "table1" and settings["profile"] == "smoke"
    assert settings["profile_settings"] == {"name": "smoke", "description": "SMOKE: nothing", "steps": 1}
    assert settings["dataset_dir"] == "/data" and result.per_image.read_text() == "a\n1\n"
    assert "per-image results:" in result.summary() and "figure:" not in result.summary()


def test_overwrite_retrains_and_empties_the_folder(tmp_path):
    _Paper("table1", "smoke", str(tmp_path), log=lambda *_: None).run()
    (tmp_path / "table1" / "stale.txt").write_text("x")
    result = _Paper("table1", "smoke", str(tmp_path), overwrite=True, log=lambda *_: None).run()
    assert result.markdown.startswith("reused False;")  # overwrite: both calls train
    assert not (tmp_path / "table1" / "stale.txt").exists()


def test_a_failed_overwrite_leaves_the_old_results_intact(tmp_path):
    _Paper("table1", "smoke", str(tmp_path), log=lambda *_: None).run()
    folder = tmp_path / "table1"
    before = {path.name: path.read_bytes() for path in folder.iterdir()}

    class _Failing(_Paper):
        def reproduce(self) -> Result:
            self.write_per_image([dict(a=2)])
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        _Failing("table1", "smoke", str(tmp_path), overwrite=True, log=lambda *_: None).run()
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["runs", "table1"]


def test_overwrite_result_paths_point_into_the_result_folder(tmp_path):
    _Paper("table1", "smoke", str(tmp_path), log=lambda *_: None).run()
    result = _Paper("table1", "smoke", str(tmp_path), overwrite=True, log=lambda *_: None).run()
    assert result.per_image == tmp_path / "table1" / "per_image.csv" and result.per_image.is_file()


def test_a_folder_not_ours_or_a_file_is_never_replaced(tmp_path):
    (tmp_path / "table1").mkdir()
    (tmp_path / "table1" / "thesis.tex").write_text("precious")
    with pytest.raises(FileExistsError, match="not written by lda_tf"):
        _Paper("table1", "smoke", str(tmp_path), overwrite=True, log=lambda *_: None).run()
    assert (tmp_path / "table1" / "thesis.tex").read_text() == "precious"
    (tmp_path / "file").write_text("precious")
    with pytest.raises(UnsafeOutputError, match="which is a file"):
        _Paper("table1", "smoke", str(tmp_path / "file" / "out"), overwrite=True, log=lambda *_: None).run()
    assert (tmp_path / "file").read_text() == "precious"


def test_a_run_trained_under_other_settings_is_not_reused(tmp_path):
    _Paper("table1", "smoke", str(tmp_path), log=lambda *_: None).run()

    class _OtherPhases(_Paper):
        def reproduce(self) -> Result:
            settings = {**TINY_RUN, "num_phases": 2}
            self.train_or_reuse("run_a", lambda directory: conventional_config(str(directory), **settings))

    with pytest.raises(SettingsMismatch, match="num_phases: 1 -> 2"):
        _OtherPhases("table1", "smoke", str(tmp_path), log=lambda *_: None).run()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(experiment="table2"), "argument `experiment` must be one of 'table1'; got 'table2'"),
        (dict(profile="quick"), "argument `profile` must be one of 'smoke'; got 'quick'"),
        (dict(train_dir="/x"), "argument `data option` must be one of 'dataset_dir'; got 'train_dir'"),
    ],
)
def test_choices_are_checked_with_one_message_shape(tmp_path, arguments, message):
    with pytest.raises(ValueError) as error:
        _Paper(**{"experiment": "table1", "profile": "smoke", "output_dir": str(tmp_path), **arguments})
    assert str(error.value) == message


def test_registry_lists_the_papers_and_their_profiles():
    assert list(PAPERS) == ["meta", "lda", "ulda", "task_correlation"]
    for paper in PAPERS.values():
        assert set(paper.profiles) == {"paper", "quick", "smoke"}
        assert all(isinstance(profile, Profile) for profile in paper.profiles.values())
    with pytest.raises(
        ValueError, match="argument `paper` must be one of 'meta', 'lda', 'ulda', 'task_correlation'; got 'x'"
    ):
        PAPERS.choose("x")
