"""Callbacks: StairTraining's handling of its monitored metric and of a resume (on a stub model), and the
TensorBoard images coming from the measurement, whatever it is."""

import glob
import json
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from lda_tf.cs import BlockSampling
from lda_tf.loa import UnrolledLOA
from lda_tf.training import LOATrainer
from lda_tf.training.callbacks import LOATensorBoard, StairTraining


class _Network:
    def __init__(self, phases):
        self.active_phases = phases

    def set_active_phases(self, count, copy_steps_from_last=False):
        self.active_phases = count


class _Trainer:
    def __init__(self, phases=1):
        self.network = _Network(phases)

    def make_train_function(self, force=False):
        pass

    def make_test_function(self, force=False):
        pass


def _stair(**kwargs):
    callback = StairTraining(initial_phases=1, phases_per_stage=1, max_phases=3, **kwargs)
    callback.set_model(_Trainer())
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    return callback


def test_missing_monitored_metric_warns_once_listing_the_available_ones():
    callback = _stair(patience=1, monitor="val_psnr")
    with pytest.warns(UserWarning, match=r"`val_psnr`.*available metrics are: loss, psnr"):
        callback.on_epoch_end(0, {"loss": 1.0, "psnr": 20.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second miss stays quiet
        callback.on_epoch_end(1, {"loss": 1.0, "psnr": 20.0})
    assert callback.model.network.active_phases == 1  # a missing value is no stall


def test_patience_grows_the_phases_when_the_monitored_value_stalls():
    callback = _stair(patience=2, monitor="loss")
    for epoch, loss in enumerate([1.0, 0.5, 0.6, 0.7]):
        callback.on_epoch_end(epoch, {"loss": loss})
    assert callback.model.network.active_phases == 2
    assert callback.history[0]["reason"] == "stalled" and callback.history[0]["epoch"] == 4


def test_a_resumed_run_continues_its_stage_and_keeps_the_earlier_stages(tmp_path):
    """Interrupted after epoch 4 (stage 2 began at epoch 3, 2 epochs a stage) and resumed at epoch
    5 at the checkpoint's 2 phases: stage 2 ends after epoch 4 as it would have without the
    interruption, not 2 epochs after the resume, and the file still holds stage 1's growth."""
    path = tmp_path / "stair_history.json"
    first = StairTraining(initial_phases=1, phases_per_stage=1, max_phases=3, epochs_per_stage=3,
                          history_path=str(path))  # fmt: skip
    first.set_model(_Trainer())
    first.on_train_begin()
    for epoch in range(4):  # grows to 2 phases at the end of epoch 2
        first.on_epoch_begin(epoch)
        first.on_epoch_end(epoch, {"loss": 1.0})
    assert [stage["epoch"] for stage in first.history] == [3]
    resumed = StairTraining(initial_phases=1, phases_per_stage=1, max_phases=3, epochs_per_stage=3,
                            history_path=str(path))  # fmt: skip
    resumed.set_model(_Trainer(phases=2))
    resumed.on_train_begin()
    resumed.on_epoch_begin(4)
    resumed.on_epoch_end(4, {"loss": 1.0})
    assert resumed.model.network.active_phases == 2  # stage 2: epochs 3, 4, 5
    resumed.on_epoch_begin(5)
    resumed.on_epoch_end(5, {"loss": 1.0})
    assert resumed.model.network.active_phases == 3
    saved = json.loads(path.read_text())
    assert [(stage["epoch"], stage["to_phases"]) for stage in saved] == [(3, 2), (6, 3)]


def test_a_resume_with_an_unreadable_stair_history_names_the_file(tmp_path):
    path = tmp_path / "stair_history.json"
    path.write_text('[{"epoch": 3, "from_ph')  # half a file
    resumed = StairTraining(initial_phases=1, phases_per_stage=1, max_phases=3, epochs_per_stage=3,
                            history_path=str(path))  # fmt: skip
    resumed.set_model(_Trainer(phases=2))
    resumed.on_train_begin()
    with pytest.raises(ValueError, match=r"stair_history\.json: not the stair history"):
        resumed.on_epoch_begin(4)


def _image_tags(directory) -> set[str]:
    tags = set()
    for path in glob.glob(f"{directory}/**/events.out.tfevents.*", recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value if value.tag.startswith("images/"))
    return tags


def test_tensorboard_images_come_from_the_measurement_not_from_mri(tmp_path):
    keras.utils.set_random_seed(0)
    network = UnrolledLOA.lda_paper(
        BlockSampling(0.5, block_size=8), num_phases=1, num_filters=2, num_layers=2
    )
    images = tf.constant(np.random.default_rng(0).random((2, 16, 16)), tf.float32)
    callback = LOATensorBoard(str(tmp_path), (images, images))
    callback.set_model(LOATrainer(network, "conventional"))
    callback.on_epoch_end(0)
    assert _image_tags(tmp_path) == {"images/initial", "images/reconstruction", "images/error"}
