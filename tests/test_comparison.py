"""The shared method loop: rows against the metric functions on an independent zero filling and
TV, task indices and task weights of a network with task weights."""

import numpy as np
import pytest

from lda_tf import metrics
from lda_tf.baselines import tv_reconstruction
from lda_tf.comparison import ZERO_FILLING, Method, compare, tv_method
from lda_tf.data.tasks import Task
from lda_tf.mri import MRIOperator, simulate_kspace
from tests.training.helpers import images

TASKS = [Task("radial", 0.3), Task("radial", 0.5)]


def test_rows_per_task_and_method_match_independent_reconstructions():
    test_images = images("test", 3)
    tv, chosen = tv_method(None, weight=0.01)
    rows, weights, kept = compare([ZERO_FILLING, tv], test_images, TASKS, batch_size=2, keep_image=1)
    assert [(row["task"], row["method"]) for row in rows[::3]] == [
        ("radial_30", "zero_filling"),
        ("radial_30", "tv"),
        ("radial_50", "zero_filling"),
        ("radial_50", "tv"),
    ]
    assert weights == {} and chosen == {"radial_30": 0.01, "radial_50": 0.01}
    for task_number, task in enumerate(TASKS):
        mask = task.mask(test_images.shape[1:])
        kspace = simulate_kspace(test_images, mask)
        expected = {
            "zero_filling": MRIOperator.create(kspace, mask).zero_filled().numpy(),
            "tv": tv_reconstruction(kspace, mask, 0.01).numpy(),
        }
        for method_number, (method, recons) in enumerate(expected.items()):
            start = (2 * task_number + method_number) * 3
            psnr = [row["psnr"] for row in rows[start : start + 3]]
            np.testing.assert_allclose(
                psnr, [metrics.psnr(t, r) for t, r in zip(test_images, recons)], rtol=1e-5
            )
            np.testing.assert_allclose(kept[method][task.ratio * 100], recons[1], atol=1e-5)


class _TaskNetwork:
    """A stand-in network with task weights: reconstructs zero filling times (task index + 1)."""

    num_tasks = 2
    omega = np.array([0.0, 1.0], np.float32)

    def task_weight_values(self):
        return 1 / (1 + np.exp(-self.omega))


def test_network_methods_get_task_index_i_and_report_sigma_omega(monkeypatch):
    import lda_tf.comparison as comparison

    monkeypatch.setattr(
        comparison,
        "network_reconstructor",
        lambda network: (
            lambda inputs: (
                MRIOperator.create(inputs[0], inputs[1]).zero_filled()
                * (1.0 + np.asarray(inputs[2], np.float32)[:, None, None])
            )
        ),
    )
    test_images = images("test", 2)
    rows, weights, _ = compare([Method.of_network("meta", _TaskNetwork())], test_images, TASKS)
    assert weights == {
        ("radial_30", "meta"): pytest.approx(0.5),
        ("radial_50", "meta"): pytest.approx(1 / (1 + np.exp(-1.0))),
    }
    zero = [row["psnr"] for row in compare([ZERO_FILLING], test_images, TASKS)[0]]
    assert rows[0]["psnr"] == pytest.approx(zero[0]) and rows[2]["psnr"] != pytest.approx(zero[2])
