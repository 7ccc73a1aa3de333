"""Rebuilds a trained generator from a run directory or a checkpoint file, for eval, export and
sampling. The networks come back through the same plugins that built them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganlab import plugins
from ganlab.archs.base import build_networks
from ganlab.config import RunConfig
from ganlab.errors import ConfigError, RunError
from ganlab.plugins import guard
from ganlab.run import checkpoint
from ganlab.run.latent import latents
from ganlab.run.rundir import RunDir, open_run


@dataclass
class Restored:
    G: nn.Module  # in eval mode, on `device`
    D: nn.Module
    config: RunConfig
    step: int
    data_kind: str  # "image" or "points"
    data_shape: tuple[int, ...]  # (C, H, W) or (D,)
    data_meta: dict[str, Any]
    plugins: dict[str, dict[str, str]]  # provenance of loss, arch, dataset
    run: RunDir | None
    weights: str = "raw"  # "ema" (the --ema-decay average) or "raw" (the trained G): which G holds

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def owners(self) -> list[guard.Owner]:
        """The run's plugins as recorded, for naming one whose code raises (guard.translating)."""
        return [guard.Owner.of_provenance(kind, recorded) for kind, recorded in self.plugins.items()]

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """n samples on the CPU from z ~ N(0, I) drawn with `seed` (ganlab.run.latent)."""
        device = next(self.G.parameters()).device
        return torch.cat([self.G(z.to(device)).cpu() for z in latents(n, self.latent_dim, seed)])


WEIGHTS = ("ema", "raw")


def check_weights(weights: str | None) -> None:
    if weights is not None and weights not in WEIGHTS:
        raise ConfigError(f"--weights {weights!r} is unknown; choose ema or raw")


def pick_weights(state: dict[str, Any], weights: str | None, source: Path) -> str:
    """None: the EMA generator when the checkpoint has one, else the raw one."""
    check_weights(weights)
    has_ema = "G_ema" in state
    if weights == "ema" and not has_ema:
        raise ConfigError(
            f"{str(source)!r} has no EMA generator (trained without --ema-decay); pass --weights raw or leave it out"
        )
    return weights or ("ema" if has_ema else "raw")


def restore(source: str | Path, which: str = "last", device: str = "cpu", weights: str | None = None) -> Restored:
    """`source` is a run directory (then `which` is last, best or a file) or a .pt file. `weights`:
    "ema", "raw", or None for the EMA generator when the run kept one."""
    check_weights(weights)  # before any file is read
    source = Path(source)
    if source.is_file():
        run, state = None, checkpoint.load(source)
    else:
        run = open_run(source)
        state = run.checkpoint(which)
    chosen = pick_weights(state, weights, source)
    config = RunConfig.from_dict(state["config"], source=f"checkpoint of {source}")
    recorded = state.get("plugins", {}).get("arch", {})
    arch, spec = plugins.create("arch", config.arch, config.arch_options, recorded=recorded)
    shape = tuple(state["data"]["shape"])
    with guard.calling(guard.Owner.of_spec(spec), "build"):
        G, D = build_networks(arch, shape, config.latent_dim, config.pack)
    try:
        G.load_state_dict(state["G_ema" if chosen == "ema" else "G"])
        D.load_state_dict(state["D"])
    except RuntimeError as exc:
        raise RunError(
            f"checkpoint of {str(source)!r} does not fit arch {config.arch!r} "
            f"({str(exc).splitlines()[0]}); was the plugin changed since training?"
        ) from exc
    G.to(device).eval()
    D.to(device).eval()
    return Restored(
        G,
        D,
        config,
        int(state["step"]),
        state["data"]["kind"],
        shape,
        state["data"].get("meta", {}),
        state.get("plugins", {}),
        run,
        chosen,
    )
