"""The energy distance between generated and real points (Szekely & Rizzo 2004, 2013): a metric
for every points dataset, needing nothing but the source's `sample()`.

    E(P, Q) = 2 E|X - Y| - E|X - X'| - E|Y - Y'|,   X, X' ~ P and Y, Y' ~ Q independent

with |.| the Euclidean norm. E >= 0, and E = 0 exactly when P = Q (for distributions with finite
means); it is the squared MMD with the distance-induced kernel k(x, y) = |x| + |y| - |x - y|
(Sejdinovic et al. 2013), so it has no bandwidth to choose, and it scales linearly with the data
(twice the data's scale, twice the distance). The within-set terms are the unbiased means over
distinct pairs, so two samples of one distribution score about 0, either side of it.
"""

from __future__ import annotations

import torch
from torch import Tensor


def energy_distance(x: Tensor, y: Tensor) -> float:
    """x (N, D), y (M, D), N, M >= 2 -> the unbiased estimate of E(P, Q) in the data's units."""
    x, y = x.double().flatten(1), y.double().flatten(1)
    between = torch.cdist(x, y).mean()
    return float(2 * between - _within(x) - _within(y))


def _within(x: Tensor) -> Tensor:
    """E|X - X'| over distinct pairs (the diagonal's zeros are left out of the mean)."""
    n = len(x)
    return torch.cdist(x, x).sum() / (n * (n - 1))


def repeated(fake_draw, real_draw, repeats: int) -> tuple[float, float]:
    """Mean and sample std (n - 1) of the energy distance over `repeats` independent pairs of
    draws; fake_draw(r) and real_draw(r) give the r-th (N, D) sample of each side."""
    values = torch.tensor([energy_distance(fake_draw(r), real_draw(r)) for r in range(repeats)], dtype=torch.float64)
    std = float(values.std()) if repeats > 1 else float("nan")
    return float(values.mean()), std
