"""KID against an independent reference and closed forms; mode metrics on perfect, collapsed and
hand-placed samplers of the ring and grid mixtures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganlab.errors import MetricError
from ganlab.metrics import kid as kid_mod
from ganlab.metrics.modes import mode_metrics, perfect_high_quality_pct


def reference_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Binkowski et al.'s estimator written out with scikit-learn's polynomial kernel
    (degree 3, gamma = 1/d, coef0 = 1) and explicit i != j sums."""
    from sklearn.metrics.pairwise import polynomial_kernel

    m = len(x)
    k_xx, k_yy = polynomial_kernel(x, x, degree=3, coef0=1), polynomial_kernel(y, y, degree=3, coef0=1)
    k_xy = polynomial_kernel(x, y, degree=3, coef0=1)
    xx = sum(k_xx[i, j] for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k_yy[i, j] for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    return xx + yy - 2 * k_xy.mean()


def test_mmd2_matches_the_reference_estimator():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 16)), rng.standard_normal((40, 16)) * 1.3 + 0.2
    assert kid_mod.mmd2_unbiased(x, y) == pytest.approx(reference_mmd2(x, y), rel=1e-10)


def test_mmd2_of_two_point_masses_is_the_kernel_distance():
    """Every sample of X is a, every sample of Y is b: MMD^2 = k(a,a) + k(b,b) - 2 k(a,b) exactly."""
    a, b = np.array([1.0, 2.0, 0.0]), np.array([0.0, -1.0, 1.0])
    k = lambda u, v: (u @ v / 3 + 1) ** 3  # noqa: E731
    value = kid_mod.mmd2_unbiased(np.tile(a, (5, 1)), np.tile(b, (5, 1)))
    assert value == pytest.approx(k(a, a) + k(b, b) - 2 * k(a, b), rel=1e-12)


def test_kid_mean_and_std_over_subsets():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((60, 8)), rng.standard_normal((70, 8)) + 0.5
    mean, std = kid_mod.kid(x, y, subsets=5, subset_size=30, seed=4)
    draws = np.random.default_rng(4)
    values = [
        reference_mmd2(x[draws.choice(60, 30, replace=False)], y[draws.choice(70, 30, replace=False)]) for _ in range(5)
    ]
    assert mean == pytest.approx(np.mean(values), rel=1e-10)
    assert std == pytest.approx(np.std(values), rel=1e-8)


def test_kid_separates_distributions_and_is_unbiased_for_equal_ones():
    rng = np.random.default_rng(2)
    x, x2 = rng.standard_normal((400, 8)), rng.standard_normal((400, 8))
    same_mean, same_std = kid_mod.kid(x, x2, subsets=20, subset_size=200)
    shifted_mean, _ = kid_mod.kid(x, x2 + 1.0, subsets=20, subset_size=200)
    assert abs(same_mean) < 3 * same_std + 1e-3  # unbiased: centred on 0, may be negative
    assert shifted_mean > 100 * (abs(same_mean) + same_std)


def test_kid_with_fewer_samples_than_the_subset_size_is_a_clear_error():
    x = np.zeros((50, 4))
    with pytest.raises(MetricError, match=r"KID needs at least 1000 samples per set .* got 50; pass --n 1000"):
        kid_mod.kid(x, np.zeros((2000, 4)))


# --- mode metrics ------------------------------------------------------------------------------
def mixture(name: str):
    from ganlab import plugins

    return plugins.create("dataset", name, {})[0].load(None, None)


@pytest.mark.parametrize("name, k", [("ring", 8), ("grid", 25)])
def test_a_perfect_sampler_covers_every_mode_with_98_9_percent_high_quality(name, k):
    source = mixture(name)
    points = source.sample(2500, torch.Generator().manual_seed(0))
    m = mode_metrics(points, source.means, source.std)
    assert m["modes_covered"] == k
    # 1 - exp(-9/2) = 98.89 %; binomial sd over 2,500 samples is 0.21 points
    assert perfect_high_quality_pct() == pytest.approx(98.889, abs=1e-3)
    assert m["high_quality_pct"] == pytest.approx(perfect_high_quality_pct(), abs=0.7)
    assert 0.0 <= m["mode_kl"] < 0.02  # sampling noise alone: about (K - 1) / (2 N)


@pytest.mark.parametrize("name, k", [("ring", 8), ("grid", 25)])
def test_a_collapsed_sampler_covers_one_mode(name, k):
    source = mixture(name)
    gen = torch.Generator().manual_seed(1)
    points = source.means[3] + source.std * torch.randn(2500, 2, generator=gen)
    m = mode_metrics(points, source.means, source.std)
    assert m["modes_covered"] == 1
    assert m["mode_kl"] == pytest.approx(math.log(k), rel=1e-12)
    assert m["high_quality_pct"] == pytest.approx(perfect_high_quality_pct(), abs=0.7)


def test_mode_metrics_on_hand_placed_points():
    means = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    points = torch.tensor([[0.5, 0.0], [2.9, 0.0], [3.1, 0.0], [9.0, 0.0]])  # 3.1 is past 3 std
    m = mode_metrics(points, means, std=1.0)
    assert m["modes_covered"] == 2
    assert m["high_quality_pct"] == pytest.approx(75.0)
    assert m["mode_kl"] == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5), rel=1e-12)


def test_mode_kl_counts_every_sample_and_mode_kl_hq_only_high_quality_ones():
    """Issue 15: 800 high-quality samples on each of 8 modes, plus 800 poor ones (5 std away)
    nearest mode 0. All samples: p0 = 2/9, the rest 1/9; high-quality ones: uniform."""
    source = mixture("ring")
    poor = source.means[0] + torch.tensor([5 * source.std, 0.0])
    points = torch.cat([source.means.repeat_interleave(800, dim=0), poor.expand(800, 2)])
    m = mode_metrics(points, source.means, source.std)
    assert m["mode_kl"] == pytest.approx(2 / 9 * math.log(16 / 9) + 7 / 9 * math.log(8 / 9), rel=1e-12)
    assert m["mode_kl_hq"] == pytest.approx(0.0, abs=1e-15)
    nothing_good = mode_metrics(poor.expand(10, 2), source.means, source.std)
    assert nothing_good["mode_kl_hq"] == pytest.approx(math.log(8), rel=1e-12)  # as if on one mode
    assert nothing_good["mode_kl"] == pytest.approx(math.log(8), rel=1e-12)


def test_samples_far_from_every_mode_cover_none():
    source = mixture("ring")
    m = mode_metrics(torch.zeros(2500, 2), source.means, source.std)  # the ring's centre
    assert m["modes_covered"] == 0
    assert m["high_quality_pct"] == 0.0
