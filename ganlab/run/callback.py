"""The hooks the training loop reports through (progress bars, logs, evaluation, tests). Free of
torch, so front ends can subclass it without loading the trainer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ganlab.run.trainer import Trainer


class Callback:
    """Hooks the loop calls; override what you need (progress bars, logs, tests)."""

    def on_start(self, trainer: "Trainer") -> None: ...
    def on_step(self, trainer: "Trainer", stats: dict[str, Any]) -> None:
        """Every step. `stats` holds 0-dim tensors still on the training device: reading one (float,
        format, comparison) waits for the GPU, so per-step readers belong in on_log."""

    def on_log(self, trainer: "Trainer", stats: dict[str, float]) -> None:
        """Logging steps only (--log-every N, and the last step): the statistics as host numbers."""

    def on_end(self, trainer: "Trainer", timing: dict[str, Any]) -> None:
        """After the last step of a completed segment; `timing` holds wall_time_s and steps."""
