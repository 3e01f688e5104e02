import numpy as np
import pytest

from lda_tf.mri import load_mask, make_mask, sampling_ratio, save_mask, save_mask_png
from lda_tf.mri.masks import MASK_TYPES, CartesianMask

RATIOS = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5]


@pytest.mark.parametrize("shape", [(160, 180), (256, 256)])
@pytest.mark.parametrize("mask_type", sorted(MASK_TYPES))
def test_achieved_ratio_within_half_a_point(mask_type, shape):
    for ratio in RATIOS:
        for seed in (0, 1):
            mask = make_mask(mask_type, shape, ratio, seed)
            assert mask.shape == shape and mask.dtype == np.float32
            assert abs(sampling_ratio(mask) - ratio) <= 0.005, (mask_type, shape, ratio, seed)


@pytest.mark.parametrize("mask_type", sorted(MASK_TYPES))
def test_deterministic_in_seed(mask_type):
    first = make_mask(mask_type, (40, 50), 0.3, seed=7)
    np.testing.assert_array_equal(first, make_mask(mask_type, (40, 50), 0.3, seed=7))
    assert not np.array_equal(first, make_mask(mask_type, (40, 50), 0.3, seed=8))
    assert set(np.unique(first)) == {0.0, 1.0}


@pytest.mark.parametrize("mask_type", sorted(MASK_TYPES))
def test_dc_is_sampled(mask_type):
    for shape in [(40, 50), (41, 51)]:
        assert make_mask(mask_type, shape, 0.1, seed=3)[shape[0] // 2, shape[1] // 2] == 1.0


def test_cartesian_masks_are_full_lines_with_a_full_centre_band():
    mask = make_mask("cartesian", (64, 100), 0.2, seed=0)
    assert np.all((mask.sum(axis=0) == 0) | (mask.sum(axis=0) == 64))
    assert np.all(mask[:, 48:52] == 1)  # 4 % of 100 lines around column 50
    gaussian = make_mask("cartesian_gaussian", (64, 100), 0.2, seed=0)
    assert np.all(gaussian[:, 48:53] == 1)  # lowest 5 %


def test_gaussian_cartesian_prefers_low_frequencies():
    columns = np.stack([make_mask("cartesian_gaussian", (8, 200), 0.3, seed=s)[0] for s in range(40)])
    distance = np.abs(np.arange(200) - 100)
    assert columns[:, distance < 40].mean() > 2 * columns[:, distance > 60].mean()


def test_ktfocuss_cartesian_draws_a_line_with_the_release_density():
    """With one line to draw beside the 5 % centre band (11 of 200 lines), the drawn line's
    distribution is the normalised density ``exp(-k^2 / (2 (W/10)^2)) + r/2`` exactly; 3000 seeds
    estimate it within a few binomial standard errors."""
    width, ratio, draws = 200, 0.055, 3000
    centre = set(range(95, 105))
    counts = np.zeros(width)
    for seed in range(draws):
        lines = np.flatnonzero(make_mask("cartesian_ktfocuss", (2, width), ratio, seed)[0])
        assert centre <= set(lines) and len(lines) == 11
        counts[sorted(set(lines) - centre)] += 1
    others = np.array(sorted(set(range(width)) - centre))
    density = np.exp(-0.5 * ((others - 100) / 20.0) ** 2) + ratio / 2
    expected = density / density.sum()
    error = np.sqrt(expected * (1 - expected) / draws)
    assert np.all(np.abs(counts[others] / draws - expected) < 5 * error)
    assert counts[others].sum() == draws


def test_radial_mask_is_spokes_through_the_centre():
    mask = make_mask("radial", (101, 101), 0.1, seed=0)
    # Every sampled point lies on a line through the centre: the mask is nearly point-symmetric.
    symmetric = mask * mask[::-1, ::-1]
    assert symmetric.sum() / mask.sum() > 0.9
    # Density falls off with the radius, as for spokes.
    rows, cols = np.mgrid[:101, :101]
    radius = np.hypot(rows - 50, cols - 50)
    assert mask[radius < 10].mean() > 3 * mask[(radius > 35) & (radius < 50)].mean()


def test_save_and_load_round_trip(tmp_path):
    mask = make_mask("radial", (30, 40), 0.25, seed=1)
    save_mask(tmp_path / "mask.npy", mask)
    np.testing.assert_array_equal(load_mask(tmp_path / "mask.npy"), mask)
    save_mask_png(tmp_path / "mask.png", mask)
    np.testing.assert_array_equal(load_mask(tmp_path / "mask.png"), mask)


def test_bad_requests_and_files_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="argument `mask_type` must be one of 'cartesian', .*; got 'spiral'"):
        make_mask("spiral", (10, 10), 0.2)
    with pytest.raises(ValueError, match="argument `density` must be one of 'uniform', 'gaussian'"):
        CartesianMask(0.2, density="poisson")((10, 10))
    with pytest.raises(ValueError, match="ratio"):
        make_mask("radial", (10, 10), 1.5)
    np.save(tmp_path / "bad.npy", np.full((4, 4), 0.5))
    with pytest.raises(ValueError, match="bad.npy.*zeros and ones"):
        load_mask(tmp_path / "bad.npy")


@pytest.mark.parametrize("ratio, shape", [(0.2, (256, 256)), (0.15, (64, 72)), (0.1, (160, 180))])
def test_aug_submasks_are_disjoint_halves_inside_the_mask(ratio, shape):
    """U-LDA's AUG (002, 5.1): each sub-mask = the centre band + half of the other lines, inside P,
    disjoint outside the centre, each with round(L / 2) of P's L lines."""
    from lda_tf.data.tasks import Task
    from lda_tf.mri.masks import CartesianMask, aug_submasks

    mask = make_mask("cartesian_gaussian", shape, ratio, seed=3)
    center = CartesianMask(ratio, 3, center_fraction=0.05).center_lines(shape[1])
    first, second = aug_submasks(mask, center, seed=3)
    lines = np.flatnonzero(mask.any(axis=0))
    for half in (first, second):
        assert np.all(half <= mask)  # inside the original mask
        assert np.all(half[:, center] == 1)  # the centre band kept
        assert np.all(half == half[:1])  # whole lines
        assert half.any(axis=0).sum() == round(len(lines) / 2)
    outside = np.ones(shape[1], bool)
    outside[center] = False
    assert not np.any(first[:, outside] * second[:, outside])
    np.testing.assert_array_equal(Task("cartesian_gaussian", ratio, 3, part=2).mask(shape), second)
