"""The MRI recipes check their dataset when a run starts (issue 13 item 6); the release's recipe
trains as the TF1 script does."""

import shutil

import pytest

from lda_tf import outputs
from lda_tf.data import CorruptDatasetError
from lda_tf.data.sample import sample_dir
from lda_tf.loa import ReleaseUnrolled
from lda_tf.mri import ReleaseSampling
from lda_tf.recipes import RECIPES, conventional_config, meta_release_config, train, ulda_config
from lda_tf.training import BilevelConfig


def test_a_run_on_a_bit_flipped_shard_stops_before_training_naming_it(tmp_path):
    dataset = tmp_path / "dataset"
    shutil.copytree(sample_dir(), dataset)
    shard = next(dataset.glob("val-*.tfrecord"))
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size: only the checksum can tell
    shard.write_bytes(bytes(data))
    run = tmp_path / "run"
    config = conventional_config(
        str(run),
        dataset_dir=str(dataset),
        epochs=1,
        steps_per_epoch=1,
        batch_size=2,
        max_images=2,
        downsample=10,
        num_phases=1,
        verbose=0,
    )
    with pytest.raises(CorruptDatasetError, match=rf"{shard.name}.*checksum differs"):
        train(config)
    assert not run.exists()


def test_stair_lr_factor_lowers_the_rate_at_every_stage(tmp_path):
    """``stair_lr_factor`` (docs/convergence.md): 1 phase, then 2 and 3, one epoch each, at
    1e-3 * 0.5**stage; history.csv records the rate each epoch trained with."""
    run = tmp_path / "run"
    config = conventional_config(
        str(run),
        epochs=3,
        steps_per_epoch=1,
        batch_size=2,
        max_images=2,
        downsample=10,
        num_phases=3,
        stair_initial_phases=1,
        stair_epochs_per_stage=1,
        stair_lr_factor=0.5,
        verbose=0,
    )
    train(config)
    rows = (run / "history.csv").read_text().splitlines()
    column = rows[0].split(",").index("learning_rate")
    assert [float(row.split(",")[column]) for row in rows[1:]] == pytest.approx([1e-3, 5e-4, 2.5e-4])
    with pytest.raises(ValueError, match="stair_lr_factor"):
        RECIPES["ulda"](ulda_config(str(tmp_path / "u"), stair_initial_phases=1, stair_lr_factor=0.5))


def test_meta_release_is_the_release_trained_as_its_script_trains(tmp_path):
    """Recipe meta_release: the release's network and measurement, 5 theta steps then one on theta
    and omega every batch (no delta test), the per-pixel MSE, Adam (epsilon 1e-8) whose rate decays
    by 0.9 per 10^4 global steps; a finished run is reused."""
    config = meta_release_config(
        str(tmp_path / "run"),
        epochs=1,
        steps_per_epoch=1,
        max_images=2,
        downsample=10,
        num_phases=1,
        verbose=0,
    )
    assert config.bilevel == BilevelConfig(theta_steps=5, delta0=0.0, omega_step_updates_theta=True)
    recipe = RECIPES["meta_release"](config)
    assert recipe.trainer_options() == {"loss_reduction": "mean"}
    for optimizer, decay_steps in zip(recipe.optimizers(), (10_000, 10_000 / 6)):
        schedule = optimizer.get_config()["learning_rate"]["config"]
        assert optimizer.epsilon == 1e-8
        assert (schedule["initial_learning_rate"], schedule["decay_steps"], schedule["decay_rate"]) == (
            1e-3,
            decay_steps,
            0.9,
        )
    path = train(config)
    network = outputs.load_model(path)
    assert isinstance(network, ReleaseUnrolled) and isinstance(network.measurement, ReleaseSampling)
    assert (network.step, network.eps_rule, network.num_phases, network.num_tasks) == ("v", True, 1, 4)
    history = (path.parent / "history.csv").read_text().splitlines()
    row = dict(zip(history[0].split(","), history[1].split(",")))
    assert float(row["rounds"]) == 1.0 and float(row["delta"]) == 0.0  # gate open, no schedule
    modified = path.stat().st_mtime_ns
    assert train(config) == path and path.stat().st_mtime_ns == modified  # reused
    with pytest.raises(ValueError, match="stair training"):
        RECIPES["meta_release"](config.replace(stair_initial_phases=1))
