"""Evaluation during training (`ganlab train --eval-every N`): scores the generator every N steps and
at the last step, keeps the best value of each metric, and saves the best checkpoint. GAN quality
often peaks and then collapses, so the best step and the last step are both recorded."""

from __future__ import annotations

import warnings
from typing import Any

from ganlab import files
from ganlab.errors import GanlabNotice, RunError
from ganlab.metrics.evaluate import EvalOptions, default_metrics, evaluate, small_n_notes
from ganlab.metrics.registry import METRICS, primary_metric
from ganlab.metrics.subject import Subject
from ganlab.run import checkpoint
from ganlab.run.rundir import RunDir
from ganlab.run.trainer import Callback, Trainer


class EvalCallback(Callback):
    """Writes summary["metrics"] (latest evaluation) and summary["metrics_best"] (best value per
    metric with its step), and checkpoints/best.pt whenever the primary metric improves."""

    def __init__(
        self, run: RunDir | None, every: int, metrics: list[str] | None = None, options: EvalOptions | None = None
    ):
        """`run` None: a rank other than 0 under DDP, which samples its share and writes nothing."""
        self.run, self.every = run, every
        self.names = metrics
        self.options = options or EvalOptions()
        self.primary: str | None = None
        self.best_score: tuple | None = None
        self.noted = False  # the small-n note was given

    def on_start(self, trainer: Trainer) -> None:
        """Resolves the metrics before the first step, so an unavailable metric fails early."""
        self.options.device = str(trainer.device)
        if self.options.n is None:  # --eval-n (issue 18: it used to be ignored here)
            self.options.n = trainer.config.eval_n
        self.names = self.names or default_metrics(Subject.from_trainer(trainer), self.options)
        self.primary = primary_metric(self.names)
        previous = self.run.summary().get("metrics_best", {}) if self.run is not None else {}
        if self.primary in previous:  # a resumed run keeps the best it had
            self.best_score = score({self.primary: previous[self.primary]}, self.primary)

    def on_step(self, trainer: Trainer, stats: dict[str, float]) -> None:
        if trainer.step % self.every == 0 or trainer.step == trainer.config.steps:
            self.evaluate(trainer)

    def evaluate(self, trainer: Trainer) -> dict[str, dict[str, Any]]:
        assert self.names is not None and self.primary is not None, "on_start resolves the metrics"
        results = evaluate(Subject.from_trainer(trainer), self.names, self.options)
        results = {name: {**entry, "weights": trainer.weights} for name, entry in results.items()}
        if self.run is None:  # a rank other than 0 under DDP: it sampled its share, rank 0 records
            return results
        if not self.noted:  # once per run, not at every evaluation
            self.noted = True
            for note in small_n_notes(results):
                warnings.warn(GanlabNotice(note), stacklevel=2)
        summary = self.run.summary()
        best = dict(summary.get("metrics_best", {}))
        for name, entry in results.items():
            if name not in best or improves(entry, best[name]):
                best[name] = entry
        # every evaluation, for metric-vs-step curves (`ganlab compare --plot`); a resumed run
        # drops the entries past the step it resumed from
        history = [h for h in summary.get("metrics_history", []) if h["step"] < trainer.step]
        history.append({"step": trainer.step, **{name: e["value"] for name, e in results.items()}})
        self.run.update_summary(
            metrics={**summary.get("metrics", {}), **results}, metrics_best=best, metrics_history=history
        )
        new_score = score(results, self.primary)
        if self.best_score is None or new_score > self.best_score:
            self.best_score = new_score
            try:
                checkpoint.save(self.run.best_checkpoint, trainer.state_dict())
            except OSError as exc:
                raise RunError(
                    f"cannot write {str(self.run.best_checkpoint)!r} at step {trainer.step} ({files.reason(exc)}); "
                    f"free space or fix permissions, then ganlab train --resume {self.run.path}"
                ) from exc
        return results


def improves(new: dict[str, Any], old: dict[str, Any]) -> bool:
    if new.get("better", "lower") == "higher":
        return new["value"] > old["value"]
    return new["value"] < old["value"]


def score(results: dict[str, dict[str, Any]], primary: str) -> tuple[float, ...]:
    """Larger is better. Modes covered is an integer that ties often; the high-quality share
    breaks ties (more modes first, then cleaner samples)."""
    sign = 1.0 if METRICS[primary].better == "higher" else -1.0
    key: tuple[float, ...] = (sign * results[primary]["value"],)
    if primary == "modes_covered" and "high_quality_pct" in results:
        key += (results["high_quality_pct"]["value"],)
    return key
