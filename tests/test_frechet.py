"""The Fréchet distance: closed forms, pytorch-fid's own function as the reference, no sqrtm."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from ganlab.errors import MetricError
from ganlab.metrics.frechet import (
    frechet_distance,
    frechet_distance_features,
    statistics,
)

pytest_plugins = ["tests.fid_standin"]  # one-thread fixture (and the stand-in FID weights)
pytestmark = pytest.mark.usefixtures("one_thread_module")  # see tests/fid_standin.py


def reference(mu1, s1, mu2, s2) -> float:
    """pytorch-fid's calculate_frechet_distance (scipy sqrtm); SciPy 1.17 warns about `disp`."""
    from pytorch_fid.fid_score import calculate_frechet_distance

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(calculate_frechet_distance(mu1, s1, mu2, s2))


def gaussian_stats(rng, n: int, d: int, shift: float = 0.0, scale: float = 1.0):
    mix = rng.standard_normal((d, d)) / np.sqrt(d)  # correlated features, like real activations
    x = (rng.standard_normal((n, d)) @ mix) * scale + shift
    return statistics(x)


@pytest.mark.parametrize("d, n, shift, scale", [(8, 100, 0.3, 1.0), (64, 500, 0.0, 1.5), (120, 300, 0.1, 0.7)])
def test_matches_pytorch_fid_on_random_covariances(d, n, shift, scale):
    rng = np.random.default_rng(d)
    a, b = gaussian_stats(rng, n, d), gaussian_stats(rng, n, d, shift, scale)
    assert frechet_distance(*a, *b) == pytest.approx(reference(*a, *b), rel=1e-6)


@pytest.mark.parametrize("d, n", [(64, 20), (96, 10), (32, 3)])
def test_matches_pytorch_fid_on_singular_sample_covariances(d, n):
    """Fewer samples than dimensions: rank n - 1 covariances, as FID of small sets at 2048 dims."""
    rng = np.random.default_rng(n)
    a, b = gaussian_stats(rng, n, d), gaussian_stats(rng, n, d, shift=0.2)
    assert frechet_distance(*a, *b) == pytest.approx(reference(*a, *b), rel=1e-6)


def test_matches_pytorch_fid_on_ill_conditioned_covariances():
    """Eigenvalues from 1 down to 1e-12 in random directions."""
    rng = np.random.default_rng(7)
    d = 50
    q1, _ = np.linalg.qr(rng.standard_normal((d, d)))
    q2, _ = np.linalg.qr(rng.standard_normal((d, d)))
    s1 = (q1 * np.logspace(0, -12, d)) @ q1.T
    s2 = (q2 * np.logspace(-1, -12, d)) @ q2.T
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference(mu1, s1, mu2, s2), rel=1e-6)


@pytest.mark.parametrize("d, n1, n2", [(64, 20, 30), (64, 3, 50), (150, 40, 25), (16, 100, 80)])
def test_from_features_equals_from_statistics_and_pytorch_fid(d, n1, n2):
    """The singular-value route (n < D) and the eigenvalue route give one number, pytorch-fid's."""
    rng = np.random.default_rng(d + n1)
    x = rng.standard_normal((n1, d)) @ rng.standard_normal((d, d)) / np.sqrt(d)
    y = rng.standard_normal((n2, d)) * 1.2 + 0.1
    from_stats = frechet_distance(*statistics(x), *statistics(y))
    assert frechet_distance_features(x, y) == pytest.approx(from_stats, rel=1e-12)
    assert frechet_distance_features(x, y) == pytest.approx(reference(*statistics(x), *statistics(y)), rel=1e-6)
    assert abs(frechet_distance_features(x, x)) < 1e-9 * from_stats


def test_equal_covariances_give_the_squared_mean_distance():
    rng = np.random.default_rng(1)
    _, sigma = gaussian_stats(rng, 300, 40)
    mu1, mu2 = rng.standard_normal(40), rng.standard_normal(40)
    assert frechet_distance(mu1, sigma, mu2, sigma) == pytest.approx(float(((mu1 - mu2) ** 2).sum()), rel=1e-9)


def test_diagonal_covariances_closed_form():
    """Commuting covariances: d^2 = |mu1 - mu2|^2 + sum (sqrt(a_i) - sqrt(b_i))^2."""
    a, b = np.array([1.0, 4.0, 9.0, 0.25]), np.array([4.0, 1.0, 9.0, 1e-6])
    mu1, mu2 = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 1.0, 0.0, 3.0])
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("n", [1000, 30])  # full rank and rank-deficient
def test_identical_statistics_give_zero(n):
    mu, sigma = gaussian_stats(np.random.default_rng(n), n, 100)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-9 * np.trace(sigma)


def test_does_not_use_scipy_sqrtm(monkeypatch):
    """SciPy 1.18 removed sqrtm(..., disp=False), which pytorch-fid's function passes."""
    from scipy import linalg

    def removed(*args, **kwargs):
        raise AssertionError("sqrtm called")

    monkeypatch.setattr(linalg, "sqrtm", removed)
    rng = np.random.default_rng(3)
    a, b = gaussian_stats(rng, 50, 10), gaussian_stats(rng, 50, 10, shift=1.0)
    assert frechet_distance(*a, *b) > 1.0


def test_statistics_are_pytorch_fids():
    x = np.random.default_rng(0).standard_normal((20, 5)).astype(np.float32)
    mu, sigma = statistics(x)
    np.testing.assert_allclose(mu, np.mean(x.astype(np.float64), axis=0), rtol=0, atol=0)
    np.testing.assert_allclose(sigma, np.cov(x.astype(np.float64), rowvar=False), rtol=0, atol=0)


def test_bad_statistics_are_one_line_errors():
    with pytest.raises(MetricError, match="at least 2 feature vectors"):
        statistics(np.zeros((1, 4)))
    with pytest.raises(MetricError, match="same --dims"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(MetricError, match="NaN or Inf"):
        frechet_distance(np.array([np.nan, 0.0]), np.eye(2), np.zeros(2), np.eye(2))
