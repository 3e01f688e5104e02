import numpy as np
import pytest

from lda_tf.data import Task, cross_task_batches, parse_tasks, single_task_batches, steps_per_epoch
from lda_tf.mri import MRIInputs, fft2c

SHAPE = (12, 14)
TASKS = parse_tasks("radial:10,radial:20,cartesian:30,variable_density:40")


def _images(count, offset):
    rng = np.random.default_rng(offset)
    images = rng.random((count,) + SHAPE).astype(np.float32)
    images[:, 0, 0] = offset + np.arange(count)  # an id per image
    return images


def _expected_kspace(target, mask):
    return fft2c(target.astype(np.complex64)).numpy() * mask


def test_cross_task_batch_layout_and_kspace():
    train, val = _images(5, 0), _images(3, 100)
    dataset = cross_task_batches(train, val, TASKS, train_per_task=2, val_per_task=1, seed=3)
    batch = next(iter(dataset))
    for half, per_task, pool in (("train", 2, train), ("val", 1, val)):
        inputs, target = batch[half]
        assert isinstance(inputs, MRIInputs)
        kspace, mask, task_index = inputs.kspace, inputs.mask, inputs.task_index
        assert kspace.shape == (4 * per_task,) + SHAPE and kspace.dtype == "complex64"
        np.testing.assert_array_equal(task_index.numpy(), np.repeat(np.arange(4), per_task))
        for row in range(4 * per_task):
            np.testing.assert_array_equal(mask[row].numpy(), TASKS[row // per_task].mask(SHAPE))
            assert target[row, 0, 0].numpy() in pool[:, 0, 0]  # drawn from its own split
        np.testing.assert_allclose(kspace.numpy(), _expected_kspace(target.numpy(), mask.numpy()), atol=1e-5)


def test_every_task_sees_every_image_once_per_pass_and_masks_never_change():
    train, val = _images(5, 0), _images(3, 100)
    iterator = iter(cross_task_batches(train, val, TASKS, seed=1))
    for _ in range(2):  # two passes
        seen = {task: [] for task in range(4)}
        for _ in range(steps_per_epoch(5, 1)):
            batch = next(iterator)
            inputs, target = batch["train"]
            for row, task in enumerate(inputs.task_index.numpy()):
                seen[task].append(int(target[row, 0, 0]))
                np.testing.assert_array_equal(inputs.mask[row].numpy(), TASKS[task].mask(SHAPE))
        assert all(sorted(ids) == [0, 1, 2, 3, 4] for ids in seen.values())


def test_deterministic_for_a_seed():
    train, val = _images(5, 0), _images(3, 100)

    def first_targets(seed):
        dataset = cross_task_batches(train, val, TASKS, seed=seed).take(6)
        return np.stack([batch["train"][1].numpy()[:, 0, 0] for batch in dataset])

    np.testing.assert_array_equal(first_targets(7), first_targets(7))
    assert not np.array_equal(first_targets(7), first_targets(8))


def test_single_task_batches_cover_the_split():
    images = _images(7, 0)
    task = Task("radial", 0.2)
    batches = list(single_task_batches(images, task, batch_size=3, task_index=2, seed=0))
    assert [b[1].shape[0] for b in batches] == [3, 3, 1]
    ids = sorted(int(i) for b in batches for i in b[1].numpy()[:, 0, 0])
    assert ids == list(range(7))
    inputs, target = batches[0]
    assert isinstance(inputs, MRIInputs) and set(inputs.task_index.numpy()) == {2}
    np.testing.assert_allclose(
        inputs.kspace.numpy(), _expected_kspace(target.numpy(), inputs.mask.numpy()), atol=1e-5
    )


def test_noise_is_seeded_and_on_the_mask():
    images = _images(4, 0)
    task = Task("cartesian", 0.3)
    clean = next(iter(single_task_batches(images, task, 4, shuffle=False)))
    noisy = next(iter(single_task_batches(images, task, 4, shuffle=False, noise_snr_db=20.0)))
    again = next(iter(single_task_batches(images, task, 4, shuffle=False, noise_snr_db=20.0)))
    difference = (noisy[0].kspace - clean[0].kspace).numpy()
    assert np.abs(difference).max() > 0 and np.all(difference[:, task.mask(SHAPE) == 0] == 0)
    np.testing.assert_array_equal(noisy[0].kspace.numpy(), again[0].kspace.numpy())


def test_task_parsing_and_names():
    assert [task.name for task in TASKS] == ["radial_10", "radial_20", "cartesian_30", "variable_density_40"]
    assert parse_tasks("radial:15:2")[0] == Task("radial", 0.15, 2)
    with pytest.raises(ValueError, match="TYPE:PERCENT"):
        parse_tasks("radial")
    with pytest.raises(ValueError, match="argument `mask_type` must be one of"):
        parse_tasks("spiral:10")
