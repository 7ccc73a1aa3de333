"""Runs the selected loggers (`--log`) beside the training loop: makes them before a run folder
exists (so a bad name leaves nothing behind), feeds them each step's scalars, each sample grid
and evaluation, and the final summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from ganlab.loggers.base import Logger
from ganlab.run.callback import Callback

if TYPE_CHECKING:
    from pathlib import Path

    from ganlab.run.rundir import RunDir
    from ganlab.run.trainer import Trainer

ALWAYS = "jsonl"  # the Recorder writes metrics.jsonl for every run; naming it in --log changes nothing


def make_loggers(names: Iterable[str]) -> list[Logger]:
    """One instance per distinct name, through the `ganlab.loggers` entry points; none on ranks
    other than 0 of a distributed run (rank 0 alone writes the run folder)."""
    from ganlab import plugins

    if _rank() != 0:
        return []
    out = []
    for name in dict.fromkeys(names):
        if name == ALWAYS:
            plugins.find("logger", name)  # still a known name
            continue
        logger, _spec = plugins.create("logger", name)
        out.append(logger)
    return out


def _rank() -> int:
    import torch.distributed as dist

    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


class LoggerCallback(Callback):
    """Installed last by the runner, after the Recorder (whose grid it forwards) and the evaluation."""

    def __init__(self, run: "RunDir", loggers: list[Logger]):
        self.run, self.loggers = run, loggers
        self.last_image_step: int | None = None

    def on_start(self, trainer: "Trainer") -> None:
        for logger in self.loggers:
            logger.on_start(self.run.path, trainer.config.to_dict(), trainer.step)

    def on_log(self, trainer: "Trainer", stats: dict[str, float]) -> None:
        """Logging steps only (--log-every): the numbers are host floats there."""
        scalars = {k: float(v) for k, v in stats.items() if k != "step"}
        for logger in self.loggers:
            logger.log_scalars(trainer.step, scalars)

    def on_step(self, trainer: "Trainer", stats: dict) -> None:
        if not self.loggers:
            return
        step, c = trainer.step, trainer.config
        if step % c.sample_every == 0:
            self.images(step, self.run.samples_dir / f"step_{step:06d}.png")
        if c.eval_every and (step % c.eval_every == 0 or step == c.steps):
            self.evaluation(step)

    def images(self, step: int, path: "Path") -> None:
        if path.is_file() and step != self.last_image_step:
            for logger in self.loggers:
                logger.log_images(step, path)
            self.last_image_step = step

    def evaluation(self, step: int) -> None:
        """The metrics an EvalCallback just wrote into summary.json, as eval/<name> scalars."""
        metrics = self.run.summary().get("metrics", {})
        values = {f"eval/{name}": float(e["value"]) for name, e in metrics.items() if e.get("step") == step}
        if values:
            for logger in self.loggers:
                logger.log_scalars(step, values)

    def finish(self, summary: dict[str, Any], final_samples: "Path") -> None:
        """After summary.json is written: the last grid, then each logger's on_end."""
        self.images(int(summary["step"]), final_samples)
        for logger in self.loggers:
            logger.on_end(summary)
        self.loggers = []

    def close(self) -> None:
        """The run stopped early (error, Ctrl-C): release what the loggers hold."""
        for logger in self.loggers:
            logger.close()
        self.loggers = []
