"""The CNN baselines' recipe (lda_tf.recipes.cnn): pooled training, fine-tuning, reuse."""

import subprocess
import sys

import numpy as np
import pytest

from lda_tf import outputs
from lda_tf.cnn import DnCn, UNet
from lda_tf.recipes import RunConfig, cnn_config, train

TINY = dict(
    epochs=1,
    steps_per_epoch=2,
    max_images=2,
    crop=(64, 72),
    downsample=4,
    verbose=0,
    validation_every=1,
    learning_rate=1e-3,
)


def test_the_preset_is_the_papers_dncn_and_round_trips_through_json():
    config = cnn_config(
        "runs/x", domains="cartesian_gaussian:10,cartesian_gaussian:30", cnn_architecture="unet"
    )
    assert RunConfig.from_dict(config.to_dict()) == config
    assert (config.epochs, config.optimizer.learning_rate, config.network) == (200, 1e-4, None)
    dncn = cnn_config("runs/x").cnn
    assert (dncn.cascades, dncn.conv_layers, dncn.filters) == (5, 5, 16)
    with pytest.raises(ValueError, match="domain_groups"):
        train(cnn_config("runs/x", domain_groups=True))


@pytest.mark.parametrize("architecture, kind", [("dncn", DnCn), ("unet", UNet)])
def test_pooled_training_then_fine_tuning_and_reuse(tmp_path, architecture, kind):
    sizes = dict(cnn_cascades=2, cnn_conv_layers=2, cnn_filters=4, cnn_channels=4, cnn_pools=2)
    settings = dict(TINY, cnn_architecture=architecture, **sizes)
    pooled = cnn_config(
        str(tmp_path / "pooled"), domains="cartesian_gaussian:10,cartesian_gaussian:30", **settings
    )
    path = train(pooled)
    network = outputs.load_model(path)
    assert isinstance(network, kind)
    stamp = path.stat().st_mtime
    assert train(pooled) == path and path.stat().st_mtime == stamp  # a finished run is reused
    tuned = cnn_config(
        str(tmp_path / "tuned"),
        domains="cartesian_gaussian:20",
        step="transfer",
        init_model=str(path),
        **{**settings, "learning_rate": 1e-4},
    )
    fine = outputs.load_model(train(tuned))
    assert isinstance(fine, kind)
    changed = [not np.array_equal(a.numpy(), b.numpy()) for a, b in zip(network.weights, fine.weights)]
    assert any(changed)  # fine-tuning moved the pooled network's weights


def test_the_binary_trains_a_unet_and_has_no_flags_of_u_lda(tmp_path):
    flags = ["--max_images=2", "--steps_per_epoch=1", "--epochs=1", "--crop=64,72", "--downsample=4"]
    flags += ["--cnn_architecture=unet", "--cnn_channels=2", "--cnn_pools=1", "--verbose=0"]
    done = subprocess.run(
        [sys.executable, "experiments/train_cnn.py", *flags, f"--output_dir={tmp_path / 'run'}"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert isinstance(outputs.load_model(tmp_path / "run" / "model.keras"), UNet)
    refused = subprocess.run(
        [sys.executable, "experiments/train_cnn.py", "--aug", f"--output_dir={tmp_path / 'x'}"],
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "Unknown command line flag 'aug'" in refused.stderr
