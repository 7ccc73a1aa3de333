"""The settings of one `ganlab theory` request. Light on purpose (torch is imported only when a
claim draws), so a bad request is refused without loading torch."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    import torch


@dataclass
class Settings:
    """One `ganlab theory` invocation, as the claims see it."""

    quick: bool = False  # fewer steps and samples: the whole set in about 30 s on 2 CPU cores
    seed: int = 0  # every weight init and every draw derives from it
    loss: str | None = None  # a loss plugin for the claims that take one (dstar, saturation)
    out: Path | None = None  # where plots go; None: no plots
    # claim id -> a tolerance replacing the claim's own headline tolerance (regression checks, tests)
    tolerances: dict[str, float] = field(default_factory=dict)

    def generator(self, salt: int) -> torch.Generator:
        """An independent stream per use, so adding a draw in one place moves no other number."""
        import torch

        return torch.Generator().manual_seed(self.seed * 1000 + salt)

    @contextlib.contextmanager
    def init_seed(self, salt: int) -> Iterator[None]:
        """Weight init draws from torch's global generator: seed it here and restore it after,
        so running the claims leaves the caller's random state as it was."""
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed * 1000 + salt)
            yield

    def plot_path(self, name: str) -> Path | None:
        return None if self.out is None else self.out / f"{name}.png"
