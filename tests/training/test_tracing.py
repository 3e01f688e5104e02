"""Graphs compile once per shape and phase count: steps, epochs and stair growth do not retrace
beyond one trace per phase count (tracing is counted as Python executions of ``unroll``)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.autograph.impl import api as autograph_api

from lda_tf.data import single_task_batches
from lda_tf.training import BilevelConfig
from lda_tf.training.callbacks import StairTraining
from tests.training.helpers import (
    TASKS,
    count_phase_iterations,
    displacement,
    images,
    meta_batches,
    trainer,
    values,
)


def _count_unrolls(model):
    calls = []
    original = model.network.unroll

    def counting(*args, **kwargs):
        calls.append(model.network.active_phases)
        return original(*args, **kwargs)

    model.network.unroll = counting
    return calls


def test_training_steps_and_epochs_trace_once():
    model = trainer("meta", num_phases=1)
    calls = _count_unrolls(model)
    model.fit(meta_batches(), epochs=1, steps_per_epoch=1, verbose=0)
    per_trace = len(calls)
    assert per_trace > 0
    model.fit(meta_batches(), epochs=3, steps_per_epoch=3, verbose=0)
    assert len(calls) == per_trace  # 9 more steps, no new trace


def test_stair_growth_traces_once_per_phase_count():
    model = trainer(
        "conventional", num_phases=3
    )  # growth recompiles every mode alike; this one traces fastest
    calls = _count_unrolls(model)
    stair = StairTraining(initial_phases=1, phases_per_stage=1, max_phases=3, epochs_per_stage=2)
    model.fit(
        single_task_batches(images("train"), TASKS[0], 2, repeat=True),
        epochs=6,
        steps_per_epoch=2,
        verbose=0,
        callbacks=[stair],
    )
    traced_counts = sorted(set(calls))
    assert traced_counts == [1, 2, 3]
    per_count = [calls.count(count) for count in traced_counts]
    assert per_count[0] == per_count[1] == per_count[2]  # the same number of unrolls per trace at each count


def test_forward_function_traces_once_per_shape():
    model = trainer("conventional", num_phases=1).network
    forward = tf.function(lambda inputs: model(inputs))
    batch = next(iter(meta_batches()))["train"][0]
    for _ in range(3):
        forward(batch)
    assert forward.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("theta_steps, max_rounds", [(1, 1), (3, 2)])
def test_bilevel_step_traces_the_penalty_evaluation_once(theta_steps, max_rounds):
    # Algorithm 2 evaluates (17) max_rounds * (K + 1) times per batch (2 unrolls each, B_tr and
    # B_val); traced inline that would be 4 and 16 unrolls, as a nested tf.function it is 2.
    model = trainer(
        bilevel=BilevelConfig(delta0=1e-12, delta_tol=0.0, theta_steps=theta_steps, max_rounds=max_rounds)
    )
    calls = _count_unrolls(model)
    model.fit(meta_batches(), epochs=1, steps_per_epoch=2, verbose=0)
    assert len(calls) == 2
    assert int(model.theta_optimizer.iterations.numpy()) == 2 * theta_steps * max_rounds


def test_bilevel_step_traces_no_package_function_through_autograph(monkeypatch):
    # Keras compiles its train step without AutoGraph; the nested penalty evaluation must not turn it
    # back on for the second-order graph (3-20 % of the Python tracing, benchmarks/README.md).
    model = trainer(bilevel=BilevelConfig(delta0=1e-12, delta_tol=0.0, theta_steps=2))
    batch = tf.data.Dataset.from_tensors(next(iter(meta_batches())))  # (tf.data converts its own maps)
    converted = []
    original = autograph_api.converted_call

    def counting(function, *args, **kwargs):
        converted.append(getattr(function, "__module__", None) or "")
        return original(function, *args, **kwargs)

    monkeypatch.setattr(autograph_api, "converted_call", counting)
    model.fit(batch, epochs=1, verbose=0)
    assert int(model.theta_optimizer.iterations.numpy()) == 2  # the step ran
    assert [module for module in converted if module.startswith("lda_tf")] == []


def test_looped_phases_put_one_phase_in_the_bilevel_graph(monkeypatch):
    # With loop_phases the phase iteration is traced once per unroll whatever the phase count: the
    # bilevel step's graph (and its second-order derivative) holds one phase, not T.
    calls = count_phase_iterations(monkeypatch)
    per_count = []
    for num_phases in (1, 3):
        model = trainer(num_phases=num_phases, loop_phases=True)
        calls.clear()
        model.fit(meta_batches(), epochs=1, steps_per_epoch=1, verbose=0)
        per_count.append(len(calls))
    assert per_count[0] > 0 and per_count[1] == per_count[0]


def test_traced_once_evaluation_sees_the_updated_weights():
    # Each of the 8 evaluations of a step (K = 3, 2 rounds) must read the weights as the steps
    # before it left them; an evaluation frozen at the step's start moves omega 60-70 % off.
    # Graph and eager runs differ in the last digits, which 2 steps amplify to under 1 %.
    moved = []
    for run_eagerly in (False, True):
        model = trainer(bilevel=BilevelConfig(delta0=1e-12, delta_tol=0.0, theta_steps=3, max_rounds=2))
        start = values(model.network.omega_variables)
        model.compile(keras.optimizers.SGD(1e-2), keras.optimizers.SGD(1e-2), run_eagerly=run_eagerly)
        model.fit(meta_batches(), epochs=1, steps_per_epoch=2, verbose=0)
        moved.append(displacement(model.network.omega_variables, start))
    assert np.all(np.abs(moved[1]) > 0)
    np.testing.assert_allclose(moved[0], moved[1], rtol=2e-2)
