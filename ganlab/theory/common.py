"""What the claims share: the result record (Check, ClaimResult), a small MLP D and the loop that
trains it, and an affine G. Settings lives in settings.py (torch-free) and is re-exported here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor, nn

from ganlab.losses.base import Loss
from ganlab.theory.settings import Settings

__all__ = ["Settings", "Check", "ClaimResult", "AffineG", "mlp_discriminator", "train_discriminator"]

RELATIONS = {
    "close": "|measured - expected| <= tolerance",
    "at_least": "measured >= expected - tolerance",
    "at_most": "measured <= expected + tolerance",
}


@dataclass
class Check:
    """One number held against what the theory predicts."""

    name: str
    measured: float
    expected: float
    tolerance: float
    relation: str = "close"  # a key of RELATIONS

    @property
    def passed(self) -> bool:
        m, e, t = self.measured, self.expected, self.tolerance
        if m != m:  # NaN never passes
            return False
        if self.relation == "at_least":
            return m >= e - t
        if self.relation == "at_most":
            return m <= e + t
        return abs(m - e) <= t

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "measured": self.measured,
            "expected": self.expected,
            "tolerance": self.tolerance,
            "criterion": RELATIONS[self.relation],
            "passed": self.passed,
        }


@dataclass
class ClaimResult:
    """A claim's verdict. The first check is the headline (the table's row); the claim passes
    when every check passes. `details` holds JSON-ready numbers; `tables` are lists of rows the
    CLI may show under the main table; `plots` are the files written."""

    id: str
    statement: str
    checks: list[Check]
    details: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    plots: list[str] = field(default_factory=list)

    @property
    def headline(self) -> Check:
        return self.checks[0]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        h = self.headline
        details = {
            "criterion": RELATIONS[h.relation],
            "checks": [c.to_dict() for c in self.checks],
            **self.details,
            **self.tables,
            "plots": list(self.plots),
        }
        return {
            "id": self.id,
            "statement": self.statement,
            "measured": h.measured,
            "expected": h.expected,
            "tolerance": h.tolerance,
            "passed": self.passed,
            "details": details,
        }


def apply_tolerance(result: ClaimResult, settings: Settings) -> ClaimResult:
    """Replaces the headline tolerance when the settings name one for this claim."""
    if result.id in settings.tolerances:
        result.checks[0].tolerance = float(settings.tolerances[result.id])
    return result


def mlp_discriminator(dim: int, hidden: int = 64, depth: int = 2) -> nn.Module:
    """x (N, dim) -> logits (N,), float64. Smooth (SiLU) units: D* of two Gaussians is smooth, and
    a smooth net fits it in fewer steps than a piecewise-linear one (SiLU, not tanh: float64 tanh
    is 3x slower on the CPU, and these nets are all elementwise cost)."""
    layers: list[nn.Module] = []
    width = dim
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.SiLU()]
        width = hidden
    layers += [nn.Linear(width, 1), nn.Flatten(0)]
    return nn.Sequential(*layers).double()


class AffineG(nn.Module):
    """G(z) = mean + std * z: p_g = N(mean, std^2) for z ~ N(0, 1)."""

    def __init__(self, mean: float, std: float):
        super().__init__()
        self.mean = nn.Parameter(torch.tensor(mean, dtype=torch.float64))
        self.std = nn.Parameter(torch.tensor(std, dtype=torch.float64))

    def forward(self, z: Tensor) -> Tensor:
        return self.mean + self.std * z

    def sample(self, n: int, gen: torch.Generator) -> Tensor:
        with torch.no_grad():
            return self(torch.randn(n, 1, generator=gen, dtype=torch.float64))


Sampler = Callable[[int, torch.Generator], Tensor]


def train_discriminator(
    D: nn.Module,
    loss: Loss,
    real: Sampler,
    fake: Sampler,
    steps: int,
    gen: torch.Generator,
    batch: int = 256,
    lr: float = 1e-2,
    decay: bool = True,
) -> list[float]:
    """`steps` Adam updates of D on `loss.d_loss` (plus its penalty), each on fresh samples of
    both distributions. With `decay` the learning rate falls linearly to 0, so D settles on its
    optimum instead of jittering around it with every minibatch. Returns every step's D loss."""
    opt = torch.optim.Adam(D.parameters(), lr=lr, foreach=True)  # one kernel per op, not per tensor
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1 - i / max(steps, 1) if decay else 1.0)
    history = []
    for _ in range(steps):
        x, y = real(batch, gen), fake(batch, gen)
        real_logits, fake_logits = D(torch.cat([x, y])).split(batch)  # one pass: D has no batch statistics
        d_loss = loss.d_loss(real_logits, fake_logits)
        penalty = loss.penalty(D, x, y)
        total = d_loss if penalty is None else d_loss + penalty
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        sched.step()
        history.append(total.detach())
    return torch.stack(history).tolist() if history else []


def weighted_mean_abs(a: Tensor, b: Tensor, weight: Tensor, grid) -> float:
    """integral of weight * |a - b| / integral of weight: the mean gap where the mass is."""
    return grid.integrate(weight * (a - b).abs()) / grid.integrate(weight)


@torch.no_grad()
def logits_on(D: nn.Module, x: Tensor, chunk: int = 65536) -> Tensor:
    return torch.cat([D(part) for part in x.split(chunk)])
