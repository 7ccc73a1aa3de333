"""The Fréchet distance between two Gaussians fitted to features, without scipy's sqrtm.

d^2 = ||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2))    (Fréchet 1957; Dowson & Landau 1982)

pytorch-fid computes the last trace with `scipy.linalg.sqrtm(S1 @ S2, disp=False)`; SciPy 1.18
removed `disp`, and sqrtm of a non-symmetric product is slow (complex Schur form) and can leave an
imaginary part on near-singular products. Here the trace comes from symmetric eigenvalue problems:
S1 S2 is similar to R S2 R with R = S1^(1/2) (R^-1 (R S2 R) R = S1 S2 wherever R is invertible, and
by continuity otherwise), and R S2 R is symmetric positive semi-definite, so
Tr((S1 S2)^(1/2)) = sum_i sqrt(lambda_i(R S2 R)).
"""

from __future__ import annotations

import numpy as np

from ganlab.errors import MetricError


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) features -> mean (D,) and covariance (D, D) in float64, as pytorch-fid computes them
    (np.mean, np.cov with N - 1 in the denominator)."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise MetricError(
            f"need at least 2 feature vectors for a covariance, got {len(features)}; "
            "pass 2 or more images (--n 2 or more)"
        )
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Squared Fréchet distance of N(mu1, sigma1) and N(mu2, sigma2); agrees with pytorch-fid's
    `calculate_frechet_distance` (tests: 1e-6 relative) and needs no sqrtm."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise MetricError(
            f"statistics do not match: mean {mu1.shape} / {mu2.shape}, covariance "
            f"{sigma1.shape} / {sigma2.shape}; compute both with the same --dims"
        )
    if not (
        np.isfinite(mu1).all() and np.isfinite(mu2).all() and np.isfinite(sigma1).all() and np.isfinite(sigma2).all()
    ):
        raise MetricError(
            "statistics contain NaN or Inf; the generator or the feature network produced non-finite values"
        )
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2))


def frechet_distance_features(features1: np.ndarray, features2: np.ndarray) -> float:
    """frechet_distance(*statistics(features1), *statistics(features2)), computed from the features.

    With centred, scaled features A = (X - mu1) / sqrt(n1 - 1) and B likewise, S1 = A^T A and
    S2 = B^T B, so the non-zero eigenvalues of S1 S2 = A^T (A B^T) B are those of (A B^T)(A B^T)^T:
    Tr((S1 S2)^(1/2)) is the sum of the singular values of the (n1, n2) matrix A B^T. With fewer
    samples than dimensions (500 images at 2048) that is much less work than two D x D eigenproblems.
    """
    x, y = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    if x.ndim != 2 or y.ndim != 2 or min(len(x), len(y)) >= x.shape[1] or x.shape[1:] != y.shape[1:]:
        return frechet_distance(*statistics(x), *statistics(y))  # also raises the one-line errors
    if len(x) < 2 or len(y) < 2:
        statistics(x if len(x) < 2 else y)  # raises: a covariance needs two samples
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise MetricError(
            "features contain NaN or Inf; the generator or the feature network produced non-finite values"
        )
    mu1, mu2 = x.mean(axis=0), y.mean(axis=0)
    a, b = (x - mu1) / np.sqrt(len(x) - 1), (y - mu2) / np.sqrt(len(y) - 1)  # (n1, D), (n2, D)
    diff = mu1 - mu2
    nuclear = np.linalg.svd(a @ b.T, compute_uv=False).sum()
    return float(diff @ diff + (a * a).sum() + (b * b).sum() - 2.0 * nuclear)


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr((S1 S2)^(1/2)) for symmetric PSD S1, S2 via two symmetric eigenproblems."""
    w, v = np.linalg.eigh((sigma1 + sigma1.T) / 2)  # symmetrise: np.cov is symmetric only to rounding
    keep = w > _noise_floor(w)
    # Directions where S1 is zero (to rounding) add nothing to the trace; dropping them shrinks the
    # second problem to rank(S1) x rank(S1): with n < D samples (the usual case for small sets at
    # 2048 dims) that is n - 1, not D.
    root = v[:, keep] * np.sqrt(w[keep])  # (D, k): R restricted to S1's range, R = root @ v_k.T
    inner = root.T @ sigma2 @ root  # (k, k), same non-zero eigenvalues as R S2 R
    lam = np.linalg.eigvalsh((inner + inner.T) / 2)
    lam = lam[lam > _noise_floor(lam)]  # rounding leaves tiny negative or positive values in the null space
    return float(np.sqrt(lam).sum())


def _noise_floor(eigenvalues: np.ndarray) -> float:
    """Eigenvalues below this are rounding noise of a symmetric eigensolver (LAPACK's error bound
    is about n * eps * ||A||)."""
    if eigenvalues.size == 0:
        return 0.0
    top = float(np.abs(eigenvalues).max())
    return max(top * eigenvalues.size * np.finfo(np.float64).eps, 0.0)
