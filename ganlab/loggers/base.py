"""The logger contract: a plugin in the `ganlab.loggers` entry-point group subclasses Logger.

The runner calls on_start once per training segment (a resumed run starts a new segment at the
step it resumed from), log_scalars with what each step reports, log_images with each fixed-noise
grid as it is written, then on_end with the run's summary, or close alone when the run fails.
Only rank 0 of a distributed run logs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Logger:
    """Override what you need; every hook defaults to doing nothing."""

    def on_start(self, run_path: Path, config: dict[str, Any], step: int) -> None:
        """`run_path`: the run folder (a logger may keep its files there); `config`: the resolved
        RunConfig as a dict; `step`: 0 for a new run, the checkpoint's step for a resumed one."""

    def log_scalars(self, step: int, scalars: dict[str, float]) -> None:
        """One training step's numbers, e.g. {"step": 10, "d_loss": 1.3, "g_loss": 0.7, ...}."""

    def log_images(self, step: int, image: Path, tag: str = "samples") -> None:
        """A picture written at `step`: the fixed-noise grid (images) or scatter plot (points)."""

    def on_end(self, summary: dict[str, Any]) -> None:
        """The run finished; `summary` is what summary.json holds (final losses, eval metrics,
        which weights the grids used). Release files here."""
        self.close()

    def close(self) -> None:
        """Release files and connections; called alone when the run stops early."""


def flat_scalars(values: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Numbers from a nested dict as {"a/b": 1.0}; strings, lists and None are left out."""
    out: dict[str, float] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_scalars(value, name + "/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
    return out


def final_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """The numbers a run ends with: eval metrics ("metric/fid") and the mean losses and D outputs
    of the last 100 steps ("final/d_loss")."""
    out = {f"metric/{name}": float(e["value"]) for name, e in summary.get("metrics", {}).items() if "value" in e}
    out.update({f"final/{k}": float(v) for k, v in summary.get("final_mean_last_100", {}).items()})
    return out
