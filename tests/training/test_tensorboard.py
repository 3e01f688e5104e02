"""Keras's TensorBoard callback reads the trainer's step count (issue 13 item 9)."""

import numpy as np
import tensorflow as tf

from lda_tf.recipes import conventional_config, train


def _scalars(log_dir, tag):
    """``[(step, value)]`` of ``tag`` in the event files of ``log_dir``."""
    found = []
    for path in sorted(log_dir.glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            found += [
                (event.step, float(tf.make_ndarray(value.tensor)))
                for value in event.summary.value
                if value.tag == tag
            ]
    return found


def test_evaluation_scalars_are_logged_at_the_training_step(tmp_path):
    run = tmp_path / "run"
    config = conventional_config(
        str(run),
        epochs=3,
        steps_per_epoch=2,
        batch_size=2,
        max_images=2,
        downsample=10,
        num_phases=1,
        verbose=0,
        learning_rate=3e-4,
    )
    train(config)
    evaluations = _scalars(run / "logs" / "validation", "evaluation_loss_vs_iterations")
    assert [step for step, _ in evaluations] == [2, 4, 6]  # after each epoch's 2 theta steps (before: 0)
    learning_rates = _scalars(run / "logs" / "train", "epoch_learning_rate")
    np.testing.assert_allclose([rate for _, rate in learning_rates], [config.optimizer.learning_rate] * 3)
