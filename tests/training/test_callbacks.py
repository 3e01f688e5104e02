"""Callbacks on a stub model: StairTraining's handling of its monitored metric."""

import warnings

import pytest

from lda_tf.training.callbacks import StairTraining


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
