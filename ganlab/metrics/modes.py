"""Mode metrics for the 2D mixtures `ring` and `grid` (Metz et al. 2017, unrolled GANs;
Srivastava et al. 2017, VEEGAN; Lin et al. 2018, PacGAN): modes covered, high-quality share, and
the KL divergence of the mode histogram from uniform."""

from __future__ import annotations

import math

import torch
from torch import Tensor

QUALITY_STDS = 3.0  # "high quality": within three standard deviations of the nearest mode


def mode_metrics(points: Tensor, means: Tensor, std: float) -> dict[str, float]:
    """points (N, 2), means (K, 2) -> modes_covered (modes with at least one high-quality sample),
    high_quality_pct (share of samples within 3 std of their nearest mode, in percent) and mode_kl
    (KL(p || uniform) of the histogram of nearest modes over ALL samples, in nats: 0 for a balanced
    sampler, log K when every sample sits at one mode).

    mode_kl_hq is the same KL over the high-quality samples only (the histogram PacGAN's code
    logs): it ignores samples between modes, which mode_kl counts at their nearest mode. With no
    high-quality sample it is log K, the value of a sampler on one mode.

    For a perfect sampler the high-quality share is P(chi_2 <= 9) = 1 - exp(-9/2) = 98.89 %."""
    points = torch.as_tensor(points, dtype=torch.float64)
    means = torch.as_tensor(means, dtype=torch.float64)
    dist = torch.cdist(points, means)  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist <= QUALITY_STDS * std
    k = len(means)
    covered = torch.unique(nearest[good]).numel()
    return {
        "modes_covered": float(covered),
        "high_quality_pct": 100.0 * float(good.double().mean()),
        "mode_kl": kl_from_uniform(nearest, k),
        "mode_kl_hq": kl_from_uniform(nearest[good], k) if bool(good.any()) else math.log(k),
    }


def kl_from_uniform(nearest: Tensor, k: int) -> float:
    """KL(p || uniform over k modes) of the histogram of mode indices `nearest`, in nats."""
    hist = torch.bincount(nearest, minlength=k).double() / len(nearest)
    nonzero = hist[hist > 0]
    kl = float((nonzero * (nonzero * k).log()).sum())  # sum p log(p / (1/K)); 0 log 0 = 0
    return max(kl, 0.0)  # rounding can give -1e-17 for an exactly uniform histogram


def perfect_high_quality_pct() -> float:
    """The expected high-quality share of a sampler that draws from the true mixture."""
    return 100.0 * (1.0 - math.exp(-(QUALITY_STDS**2) / 2))
