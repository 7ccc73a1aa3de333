"""Densities known in closed form, quadrature grids over them, and the divergences the theory names.

Everything here is float64 and works on log densities, so the tails (where p_data and p_g are
1e-30 and their ratio still matters) neither underflow nor divide by zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class Gaussian:
    """N(mean, std^2) in 1D, or an isotropic Gaussian in len(mean) dimensions."""

    mean: tuple[float, ...]
    std: float

    @property
    def dim(self) -> int:
        return len(self.mean)

    def log_prob(self, x: Tensor) -> Tensor:
        """x (N, dim) -> (N,)."""
        mu = torch.tensor(self.mean, dtype=torch.float64)
        sq = ((x.double() - mu) ** 2).sum(dim=1) / self.std**2
        return -0.5 * sq - self.dim * (math.log(self.std) + 0.5 * LOG_2PI)

    def sample(self, n: int, gen: torch.Generator) -> Tensor:
        mu = torch.tensor(self.mean, dtype=torch.float64)
        return mu + self.std * torch.randn(n, self.dim, generator=gen, dtype=torch.float64)


def gaussian1d(mean: float, std: float) -> Gaussian:
    return Gaussian((float(mean),), float(std))


@dataclass(frozen=True)
class Mixture:
    """Equal-weight mixture of isotropic Gaussians."""

    parts: tuple[Gaussian, ...]

    @property
    def dim(self) -> int:
        return self.parts[0].dim

    def log_prob(self, x: Tensor) -> Tensor:
        logs = torch.stack([p.log_prob(x) for p in self.parts])  # (K, N)
        return torch.logsumexp(logs, dim=0) - math.log(len(self.parts))

    def sample(self, n: int, gen: torch.Generator) -> Tensor:
        which = torch.randint(len(self.parts), (n,), generator=gen)
        draws = torch.stack([p.sample(n, gen) for p in self.parts])  # (K, N, dim)
        return draws[which, torch.arange(n)]


Density = Gaussian | Mixture


@dataclass(frozen=True)
class Grid:
    """Points and trapezoid weights: sum(weights * f(points)) approximates the integral of f."""

    points: Tensor  # (N, dim), float64
    weights: Tensor  # (N,), float64

    def integrate(self, values: Tensor) -> float:
        return float((self.weights * values).sum())


def _trapezoid(lo: float, hi: float, n: int) -> tuple[Tensor, Tensor]:
    x = torch.linspace(lo, hi, n, dtype=torch.float64)
    w = torch.full((n,), (hi - lo) / (n - 1), dtype=torch.float64)
    w[0] = w[-1] = w[0] / 2
    return x, w


def grid1d(lo: float, hi: float, n: int = 4001) -> Grid:
    x, w = _trapezoid(lo, hi, n)
    return Grid(x[:, None], w)


def grid2d(lo: float, hi: float, n: int = 301) -> Grid:
    x, w = _trapezoid(lo, hi, n)
    xx, yy = torch.meshgrid(x, x, indexing="ij")
    ww = (w[:, None] * w[None, :]).reshape(-1)
    return Grid(torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1), ww)


def covering_grid1d(*densities: Gaussian, n: int = 4001, stds: float = 12.0) -> Grid:
    """A 1D grid wide enough that both densities' mass outside it is below 1e-30."""
    lo = min(d.mean[0] - stds * d.std for d in densities)
    hi = max(d.mean[0] + stds * d.std for d in densities)
    return grid1d(lo, hi, n)


def log_dstar(log_p_data: Tensor, log_p_g: Tensor) -> tuple[Tensor, Tensor]:
    """(log D*, log(1 - D*)) for D* = p_data / (p_data + p_g) (Goodfellow et al. 2014, Prop. 1)."""
    log_sum = torch.logaddexp(log_p_data, log_p_g)
    return log_p_data - log_sum, log_p_g - log_sum


def dstar(log_p_data: Tensor, log_p_g: Tensor) -> Tensor:
    return torch.sigmoid(log_p_data - log_p_g)  # p_d / (p_d + p_g), without forming either


def jsd(p: Density, q: Density, grid: Grid) -> float:
    """Jensen-Shannon divergence in nats: 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2."""
    lp, lq = p.log_prob(grid.points), q.log_prob(grid.points)
    lm = torch.logaddexp(lp, lq) - math.log(2)
    integrand = 0.5 * (lp.exp() * (lp - lm) + lq.exp() * (lq - lm))
    return max(grid.integrate(integrand), 0.0)  # quadrature can give -1e-17 at p = q


def value_at_dstar(p_data: Density, p_g: Density, grid: Grid) -> float:
    """V(D*, G) = E_pdata[log D*] + E_pg[log(1 - D*)] by quadrature, straight from its definition."""
    lp, lq = p_data.log_prob(grid.points), p_g.log_prob(grid.points)
    log_d, log_1md = log_dstar(lp, lq)
    return grid.integrate(lp.exp() * log_d + lq.exp() * log_1md)


def pearson_chi2(p: Tensor, q: Tensor, grid: Grid) -> float:
    """Pearson chi^2(p || q) = integral of (q - p)^2 / p, in the convention of Mao et al. 2017 and
    Nowozin et al. 2016 (f-GAN, table 1); p and q are density values on the grid, need not sum to 1."""
    return grid.integrate(torch.where(p > 0, (q - p) ** 2 / p, torch.zeros_like(p)))


def lsgan_dstar(log_p_data: Tensor, log_p_g: Tensor, a: float, b: float) -> Tensor:
    """D*_LS = (b p_data + a p_g) / (p_data + p_g) (Mao et al. 2017, eq. 5), via D* to stay finite."""
    w = dstar(log_p_data, log_p_g)
    return b * w + a * (1 - w)
