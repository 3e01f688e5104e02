import numpy as np
import pytest

from lda_tf import solve
from tests.loa.helpers import four_task_batch, small_model


@pytest.mark.parametrize("policy", ["meta", "lda", "elda"])
def test_solve_descends_and_its_lyapunov_sequence_never_increases(policy):
    inputs, _ = four_task_batch()
    model = small_model(policy, num_phases=2, smoothing="huber" if policy == "lda" else "sqrt")
    # ||grad phi|| starts near 11 here; sigma = 1e5 makes the eps rule fire within a few steps.
    result = solve(model, inputs, eps_tol=1e-9, max_iterations=25, sigma=1e5, gamma=0.5)
    assert result.energy.shape == (2 + 25 + 1, 4)
    assert np.all(result.descent <= 1e-6 * np.abs(result.energy[:-1]))
    assert np.all(np.diff(result.lyapunov, axis=0) <= 1e-6 * np.abs(result.lyapunov[:-1]))
    assert np.all(result.eps[-1] < result.eps[0])


def test_solve_stops_at_the_tolerance():
    inputs, _ = four_task_batch()
    model = small_model("meta", num_phases=2)
    # sigma eps0 = 1e-3 < 1: every sample has converged after the trained phases.
    result = solve(model, inputs, eps_tol=1.0, max_iterations=10)
    assert np.all(result.iterations == 0) and result.converged.all()
    assert result.energy.shape == (3, 4)
    # With a large sigma, iteration continues until sigma eps < eps_tol for every sample.
    result = solve(model, inputs, eps_tol=20.0, max_iterations=200, sigma=1e5, gamma=0.5)
    assert result.converged.all()
    assert np.all(1e5 * result.eps[-1] < 20.0) and np.all(result.iterations > 0)
    assert np.all(1e5 * result.eps[-2][result.iterations == result.iterations.max()] >= 20.0)


def test_residual_model_continues_with_the_meta_safeguard():
    inputs, _ = four_task_batch()
    model = small_model("residual", num_phases=1, alpha_init=3.0, tau_init=5.0)
    result = solve(model, inputs, eps_tol=1e-5, max_iterations=10, tau=5.0)
    past_trained = result.descent[result.trained_phases :]
    assert np.all(past_trained <= 1e-6 * np.abs(result.energy[result.trained_phases : -1]))


def test_lda_paper_settings_on_block_cs_keep_phi_non_increasing_and_observe_each_iterate():
    # Figure 7's run in miniature: a real-valued block-CS LDA, the paper's test-time settings.
    from lda_tf import UnrolledLOA
    from lda_tf.cs import BlockSampling
    from lda_tf.loa.solve import LDA_PAPER_SETTINGS

    network = UnrolledLOA.lda_paper(
        BlockSampling(0.5, block_size=8, seed=0), num_phases=3, num_filters=4, num_layers=2
    )
    images = np.random.default_rng(0).random((1, 16, 16)).astype(np.float32)
    result = solve(
        network,
        images,
        max_iterations=30,
        observe=lambda x: np.array([float(np.mean(x.numpy()))]),
        **LDA_PAPER_SETTINGS,
    )
    assert result.observations.shape == result.energy.shape == (3 + result.iterations[0] + 1, 1)
    assert np.all(result.descent <= 1e-6 * np.abs(result.energy[:-1]))
    assert np.all(np.diff(result.lyapunov, axis=0) <= 1e-6 * np.abs(result.lyapunov[:-1]))
    np.testing.assert_allclose(result.observations[-1, 0], float(np.mean(result.image.numpy())), rtol=1e-6)
