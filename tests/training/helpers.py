"""Tiny training problems: sample-image crops, two radial tasks, one or two phases."""

import keras
import numpy as np

from lda_tf import UnrolledLOA
from lda_tf.data import cross_task_batches, parse_tasks
from lda_tf.data.sample import load_sample
from lda_tf.loa import phase, phase_loop
from lda_tf.mri import MRISampling
from lda_tf.training import BilevelConfig, LOATrainer

TASKS = parse_tasks("radial:20,radial:40")
CROP = (slice(60, 76), slice(70, 88))  # 16 x 18 crops of the brain


def images(split: str, count: int = 6) -> np.ndarray:
    return load_sample(split)[:count, CROP[0], CROP[1]]


def meta_batches(seed: int = 0):
    return cross_task_batches(images("train"), images("val"), TASKS, seed=seed)


def trainer(mode="meta", num_phases=1, theta_lr=1e-3, omega_lr=1e-3, bilevel=None, **network) -> LOATrainer:
    keras.utils.set_random_seed(0)
    num_tasks = 0 if mode == "conventional" else len(TASKS)
    net = UnrolledLOA(MRISampling(name="measurement"), num_phases=num_phases, num_tasks=num_tasks, **network)
    result = LOATrainer(net, mode, bilevel or BilevelConfig(delta0=1e-12, delta_tol=0.0))
    result.compile(keras.optimizers.Adam(theta_lr), keras.optimizers.Adam(omega_lr))
    return result


def values(variables) -> list[np.ndarray]:
    return [np.array(variable.numpy()) for variable in variables]


def displacement(variables, start: list[np.ndarray]) -> np.ndarray:
    """How far ``variables`` moved from ``start`` (their :func:`values` earlier), as one vector."""
    return np.concatenate([(now - then).ravel() for now, then in zip(values(variables), start)])


def count_phase_iterations(monkeypatch) -> list:
    """A list that grows by one on every run of ``phase_iteration``, unrolled or looped."""
    calls = []
    original = phase.phase_iteration

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(phase_loop, "phase_iteration", counting)
    monkeypatch.setattr(phase, "phase_iteration", counting)  # where the unrolled and replayed phases call it
    return calls
