"""The hooks the training loop reports through (progress bars, logs, evaluation, tests). Free of
torch, so front ends can subclass it without loading the trainer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ganlab.run.trainer import Trainer


class Callback:
    """Hooks the loop calls; override what you need (progress bars, logs, tests)."""

    def on_start(self, trainer: "Trainer") -> None: ...
    def on_step(self, trainer: "Trainer", stats: dict[str, float]) -> None: ...
    def on_end(self, trainer: "Trainer", timing: dict[str, Any]) -> None:
        """After the last step of a completed segment; `timing` holds wall_time_s and steps."""
