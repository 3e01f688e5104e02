import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import config as tf_config  # op determinism's state: not exported

from lda_tf.data import single_task_batches
from lda_tf.training import LOATrainer
from lda_tf.training.callbacks import NonFiniteError, NonFiniteGuard, StairTraining
from tests.training.helpers import TASKS, displacement, images, meta_batches, trainer, values


def _single_task(count=6, batch_size=3):
    return single_task_batches(images("train", count), TASKS[0], batch_size, repeat=True)


def test_conventional_mode_trains_theta_with_kappa_one():
    model = trainer("conventional", theta_lr=3e-3)
    assert model.network.num_tasks == 0 and model.network.omega_variables[0].shape == (0,)
    # Six crops overfit quickly (and the sample's val slices are other anatomy), so this checks
    # the objective being minimised: the loss on the training images.
    training_images = single_task_batches(images("train"), TASKS[0], 3, shuffle=False)
    before = model.evaluate(training_images, verbose=0, return_dict=True)["loss"]
    model.fit(_single_task(), epochs=2, steps_per_epoch=4, verbose=0)
    assert model.evaluate(training_images, verbose=0, return_dict=True)["loss"] < 0.95 * before


def test_adaptation_changes_only_the_new_task_weights():
    meta = trainer("meta")
    meta.network.omega.assign([1.5, -0.5])
    adapted_network = meta.network.for_new_tasks(3)
    assert adapted_network.num_tasks == 3 and np.all(adapted_network.omega.numpy() == 0)
    for source, copy in zip(meta.network.theta_variables, adapted_network.theta_variables):
        np.testing.assert_array_equal(source.numpy(), copy.numpy())
    model = LOATrainer(adapted_network, "adaptation")
    model.compile(tf.keras.optimizers.Adam(1e-2), tf.keras.optimizers.Adam(1e-1))
    theta_before = values(adapted_network.theta_variables)
    data = single_task_batches(images("train"), TASKS[1], 3, task_index=2, repeat=True)
    model.fit(data, epochs=1, steps_per_epoch=3, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(theta_before, values(adapted_network.theta_variables)))
    omega = adapted_network.omega.numpy()
    assert omega[2] != 0 and omega[0] == 0 and omega[1] == 0  # only the task that was trained
    np.testing.assert_array_equal(meta.network.omega.numpy(), [1.5, -0.5])  # the meta model is untouched


def test_modes_check_their_network():
    with pytest.raises(ValueError, match="num_tasks > 0"):
        LOATrainer(trainer("conventional").network, "adaptation")
    with pytest.raises(ValueError, match="argument `mode` must be one of"):
        LOATrainer(trainer().network, "transfer")


def _poisoned(dataset):
    def poison(inputs, target):
        return inputs, target * np.nan

    return dataset.map(poison)


def test_non_finite_steps_are_skipped_and_counted():
    model = trainer("conventional")
    before = values(model.network.trainable_variables)
    model.fit(_poisoned(_single_task()), epochs=1, steps_per_epoch=3, verbose=0)
    assert int(model.skipped_steps.numpy()) == 3 and int(model.consecutive_skips.numpy()) == 3
    assert all(np.array_equal(a, b) for a, b in zip(before, values(model.network.trainable_variables)))
    assert int(model.theta_optimizer.iterations.numpy()) == 0  # optimizer state untouched too
    model.fit(_single_task(), epochs=1, steps_per_epoch=1, verbose=0)
    assert int(model.consecutive_skips.numpy()) == 0 and int(model.skipped_steps.numpy()) == 3


def test_meta_step_with_non_finite_batch_is_skipped():
    model = trainer("meta")
    before = values(model.network.trainable_variables)
    poisoned = meta_batches().map(
        lambda batch: {"train": batch["train"], "val": (batch["val"][0], batch["val"][1] * np.nan)}
    )
    model.fit(poisoned, epochs=1, steps_per_epoch=1, verbose=0)
    assert int(model.skipped_steps.numpy()) == 1 and int(model.rounds.numpy()) == 0
    assert all(np.array_equal(a, b) for a, b in zip(before, values(model.network.trainable_variables)))


def test_guard_stops_after_consecutive_skips():
    model = trainer("conventional")
    with pytest.raises(NonFiniteError, match="2 consecutive training steps"):
        model.fit(
            _poisoned(_single_task()), epochs=1, steps_per_epoch=5, verbose=0, callbacks=[NonFiniteGuard(2)]
        )


def test_stair_growth_keeps_weights_and_copies_the_last_step_sizes():
    model = trainer("meta", num_phases=3, theta_lr=1e-2)
    stair = StairTraining(initial_phases=1, phases_per_stage=1, max_phases=3, epochs_per_stage=1)
    snapshots = []

    class Snapshot(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):  # runs after StairTraining's growth
            network = self.model.network
            snapshots.append(
                (
                    network.active_phases,
                    [float(p.alpha) for p in network.phases],
                    values(network.features.weights),
                )
            )

    model.fit(meta_batches(), epochs=3, steps_per_epoch=2, verbose=0, callbacks=[stair, Snapshot()])
    assert [s[0] for s in snapshots] == [2, 3, 3]
    assert [h["to_phases"] for h in stair.history] == [2, 3]
    alphas_after_first_growth = snapshots[0][1]
    assert alphas_after_first_growth[1] == pytest.approx(alphas_after_first_growth[0])  # phase 2 from phase 1
    assert alphas_after_first_growth[0] != pytest.approx(0.5)  # phase 1 was trained in stage 1
    assert alphas_after_first_growth[2] == pytest.approx(0.5)  # phase 3 not yet grown: initial value


@pytest.fixture
def op_determinism_off():
    """Keras compiles with XLA only where op determinism is off (``model_supports_jit``), and a test
    earlier in the process may have turned it on (``lda_tf.determinism.configure``)."""
    was_on = tf_config.is_op_determinism_enabled()
    tf_config.disable_op_determinism()
    yield
    if was_on:
        tf.config.experimental.enable_op_determinism()


def test_bilevel_step_compiles_with_xla_and_steps_as_without(op_determinism_off):
    # Keras's jit_compile="auto" turns XLA on with a GPU; XLA refuses some ops TensorFlow runs
    # (a complex Bitcast), so the whole second-order step must compile. XLA fuses and reorders
    # floating-point work, hence a tolerance.
    moved = []
    for jit_compile in (False, True):
        model = trainer(num_phases=1)
        start = values(model.network.trainable_variables)
        model.compile(keras.optimizers.SGD(1e-2), keras.optimizers.SGD(1e-2), jit_compile=jit_compile)
        assert model.jit_compile is jit_compile  # Keras falls back to no XLA with a warning only
        model.fit(meta_batches(), epochs=1, steps_per_epoch=1, verbose=0)
        moved.append(displacement(model.network.trainable_variables, start))
    assert np.linalg.norm(moved[0]) > 0
    np.testing.assert_allclose(moved[1], moved[0], rtol=1e-3, atol=1e-4 * np.abs(moved[0]).max())
