"""TaskSpecificUnrolled (the matrix model's networks theta_j): every sample is reconstructed by its
task's member, exactly as that member alone reconstructs it; the container saves and loads as one
model; replicas start as copies; phase changes reach every member."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from lda_tf import UnrolledLOA
from lda_tf.atomic import save_model
from lda_tf.data import cross_task_batches, parse_tasks
from lda_tf.data.sample import load_sample
from lda_tf.loa.task_specific import TaskSpecificUnrolled
from lda_tf.mri import MRIInputs, MRISampling
from lda_tf.outputs import load_model

TASKS = parse_tasks("radial:20,radial:30,radial:40")


def _members(count=3, num_phases=2):
    keras.utils.set_random_seed(0)
    return [
        UnrolledLOA(MRISampling(name="measurement"), num_phases=num_phases, name=f"member_{index}")
        for index in range(count)
    ]


def _batch():
    crop = load_sample("val")[:4, 60:76, 70:88]
    return next(iter(cross_task_batches(crop, crop, TASKS, 2, 2, seed=3)))["val"]  # 2 pairs per task


def test_each_sample_is_reconstructed_by_its_tasks_member():
    members = _members()
    network = TaskSpecificUnrolled(members)
    inputs, _ = _batch()
    order = tf.constant([2, 0, 1, 1, 0, 2])  # tasks mixed within the batch
    shuffled = MRIInputs(*(tf.gather(tensor, order) for tensor in inputs))
    recon, diagnostics = network(shuffled, return_diagnostics=True)
    for member_index, member in enumerate(members):
        alone, alone_diagnostics = member(shuffled, return_diagnostics=True)
        mine = (shuffled.task_index.numpy() == member_index).nonzero()[0]
        np.testing.assert_array_equal(recon.numpy()[mine], alone.numpy()[mine])
        for name, values in alone_diagnostics.items():
            np.testing.assert_array_equal(diagnostics[name].numpy()[:, mine], values.numpy()[:, mine])
    assert (
        network.num_tasks == 3
        and network.num_phases == 2
        and network.task_weight_values().numpy().tolist() == [1, 1, 1]
    )
    assert len(network.theta_variables) == sum(len(m.theta_variables) for m in members)


def test_save_and_load_give_the_same_reconstructions(tmp_path):
    network = TaskSpecificUnrolled(_members())
    network.set_active_phases(1)
    inputs, _ = _batch()
    path = tmp_path / "model.keras"
    save_model(network, path)
    loaded = load_model(path)
    assert isinstance(loaded, TaskSpecificUnrolled) and loaded.active_phases == 1
    np.testing.assert_array_equal(loaded(inputs).numpy(), network(inputs).numpy())


def test_replicas_are_copies_and_phase_changes_reach_every_member():
    source = _members(1, num_phases=3)[0]
    source.set_active_phases(2)
    source.phases[1].log_alpha.assign(0.3)
    network = TaskSpecificUnrolled.replicate(source, 2)
    inputs, _ = _batch()
    single = MRIInputs(inputs.kspace, inputs.mask, tf.zeros_like(inputs.task_index))
    for member in network.members:
        assert member is not source and member.active_phases == 2
        np.testing.assert_array_equal(member(single).numpy(), source(single).numpy())
    network.set_active_phases(3, copy_steps_from_last=True)
    assert [m.active_phases for m in network.members] == [3, 3]
    assert float(network.members[1].phases[2].log_alpha.numpy()) == pytest.approx(0.3)
    assert set(network.learned_scalars()) >= {"task0/smoothing/eps0", "task1/step_sizes/alpha_phase3"}


def test_members_must_be_plain_networks_of_one_phase_count():
    with pytest.raises(ValueError, match="num_tasks = 0"):
        TaskSpecificUnrolled([UnrolledLOA(MRISampling(), num_phases=1, num_tasks=2)])
    with pytest.raises(ValueError, match="one phase count"):
        TaskSpecificUnrolled(
            [UnrolledLOA(MRISampling(), num_phases=1), UnrolledLOA(MRISampling(), num_phases=2)]
        )
    with pytest.raises(ValueError, match="at least one member"):
        TaskSpecificUnrolled([])
