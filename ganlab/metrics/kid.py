"""Kernel Inception Distance (Binkowski et al. 2018, "Demystifying MMD GANs", section 4 and
appendix B): the unbiased estimate of squared MMD with the cubic polynomial kernel
k(x, y) = (x . y / d + 1)^3, averaged over random subsets of both feature sets."""

from __future__ import annotations

import numpy as np

from ganlab.errors import MetricError

SUBSETS = 100  # torch-fidelity's default (mbinkowski/MMD-GAN gan/compute_scores.py used 50)
SUBSET_SIZE = 1000  # both references


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(m, d), (m, d) -> (m, m) Gram matrix of k(x, y) = (x . y / d + 1)^3."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 of two equal-size samples: the diagonals of k(x, x) and k(y, y) (a point
    compared with itself) are left out of their means; every pair of k(x, y) counts."""
    m = len(x)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    off = m * (m - 1)
    return float((k_xx.sum() - np.trace(k_xx)) / off + (k_yy.sum() - np.trace(k_yy)) / off - 2.0 * k_xy.sum() / (m * m))


def check_counts(n1: int, n2: int, subsets: int = SUBSETS, subset_size: int = SUBSET_SIZE) -> None:
    """Fails before any features are computed when the sets are too small for the subsets."""
    if subset_size < 2:
        raise MetricError(f"KID subset size must be at least 2, got {subset_size}; pass --kid-subset-size 2 or more")
    if min(n1, n2) < subset_size:
        raise MetricError(
            f"KID needs at least {subset_size} samples per set (its subset size), got {min(n1, n2)}; "
            f"pass --n {subset_size} or more, or a smaller --kid-subset-size"
        )
    if subsets < 1:
        raise MetricError(f"KID needs at least 1 subset, got {subsets}; pass --kid-subsets 1 or more")


def kid(
    features1: np.ndarray, features2: np.ndarray, subsets: int = SUBSETS, subset_size: int = SUBSET_SIZE, seed: int = 0
) -> tuple[float, float]:
    """Mean and standard deviation of MMD^2 over `subsets` pairs of random subsets of
    `subset_size` from each set (drawn without replacement within a subset)."""
    x = np.asarray(features1, dtype=np.float64)
    y = np.asarray(features2, dtype=np.float64)
    if x.shape[1:] != y.shape[1:]:
        raise MetricError(f"KID feature sizes differ ({x.shape[1:]} vs {y.shape[1:]}); use the same --dims for both")
    check_counts(len(x), len(y), subsets, subset_size)
    rng = np.random.default_rng(seed)
    values = np.array(
        [
            mmd2_unbiased(
                x[rng.choice(len(x), subset_size, replace=False)], y[rng.choice(len(y), subset_size, replace=False)]
            )
            for _ in range(subsets)
        ]
    )
    return float(values.mean()), float(values.std())
