"""The run directory: where a run's config, checkpoints, metrics, samples and summary live.

runs/<name>/
  config.toml          resolved config; `ganlab train --config` reads it back
  metrics.jsonl        one JSON object per generator step
  samples/             fixed-noise grids (images) or scatter plots (2D points), step_NNNNNN.png
  checkpoints/last.pt  full training state (models, optimizers, step, RNG states)
  loss_curve.png       losses and D outputs against step, drawn at the end
  summary.json         final numbers, wall time, versions; written last, status says complete
  .lock                the one-writer lock (run/lock.py), naming the command that holds it
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganlab import files
from ganlab.config import RunConfig, dump_toml, load_toml
from ganlab.errors import ConfigError, RunError


@dataclass
class RunDir:
    path: Path

    @property
    def config_file(self) -> Path:
        return self.path / "config.toml"

    @property
    def metrics_file(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints_dir / "last.pt"

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoints_dir / "best.pt"

    @property
    def summary_file(self) -> Path:
        return self.path / "summary.json"

    @property
    def loss_curve(self) -> Path:
        return self.path / "loss_curve.png"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def is_run(self) -> bool:
        """A folder made by `ganlab train`: it holds the run's config.toml (written before step 1)."""
        return self.config_file.is_file()

    # --- reading --------------------------------------------------------------------------
    def config(self) -> RunConfig:
        return RunConfig.from_dict(load_toml(self.config_file), source=str(self.config_file))

    def summary(self) -> dict[str, Any]:
        if not self.summary_file.is_file():
            return {}
        try:
            return json.loads(self.summary_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise RunError(
                f"{str(self.summary_file)!r} is not valid JSON ({exc}); "
                "delete it and run `ganlab eval` to rebuild the numbers"
            ) from exc

    def metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_file.is_file():
            return []
        rows = []
        for line in self.metrics_file.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line torn by a crash ends the log; everything before it is good
        return rows

    def _checkpoint_path(self, which: str) -> Path:
        return {"last": self.last_checkpoint, "best": self.best_checkpoint}.get(which, Path(which))

    def has_checkpoint(self, which: str = "last") -> bool:
        """The checkpoint or the previous one kept beside it (either can be loaded)."""
        path = self._checkpoint_path(which)
        return path.is_file() or files.previous_path(path).is_file()

    def checkpoint(self, which: str = "last") -> dict[str, Any]:
        """`which` is "last", "best" or a path to a checkpoint file."""
        path = self._checkpoint_path(which)
        if not self.has_checkpoint(which):
            hint = "train it first" if which == "last" else "pass --checkpoint last"
            raise RunError(f"run {str(self.path)!r} has no checkpoint {which!r} ({path}); {hint}")
        from ganlab.run import checkpoint  # torch, only when a checkpoint is read

        return checkpoint.load_or_previous(path)

    # --- writing --------------------------------------------------------------------------
    def write_config(self, config: RunConfig) -> None:
        try:
            files.atomic_write_text(self.config_file, dump_toml(config.to_dict()))
        except OSError as exc:
            raise RunError(
                f"cannot write {str(self.config_file)!r} ({files.reason(exc)}); free space or fix permissions"
            ) from exc

    def write_summary(self, summary: dict[str, Any]) -> None:
        try:
            files.atomic_write_text(self.summary_file, json.dumps(summary, indent=2, sort_keys=False) + "\n")
        except OSError as exc:
            raise RunError(
                f"cannot write {str(self.summary_file)!r} ({files.reason(exc)}); free space or fix permissions"
            ) from exc

    def update_summary(self, **sections: Any) -> dict[str, Any]:
        summary = self.summary()
        summary.update(sections)
        self.write_summary(summary)
        return summary

    def truncate_metrics(self, after_step: int) -> None:
        """Drops log lines past `after_step` (written after the checkpoint a resume starts from)."""
        rows = [r for r in self.metrics() if r.get("step", 0) <= after_step]
        try:
            files.atomic_write_text(self.metrics_file, "".join(json.dumps(r) + "\n" for r in rows))
        except OSError as exc:
            raise RunError(
                f"cannot write {str(self.metrics_file)!r} ({files.reason(exc)}); free space or fix permissions"
            ) from exc


def open_run(path: str | Path) -> RunDir:
    """An existing run; anything else is a one-line RunError saying what is missing."""
    run = RunDir(Path(path))
    if not run.path.is_dir():
        raise RunError(f"run {str(path)!r} does not exist; pass a folder under runs/ made by `ganlab train`")
    if not run.is_run:
        raise RunError(f"{str(path)!r} is not a ganlab run (no config.toml); pass a folder made by `ganlab train`")
    return run


def free_name(runs_dir: str, name: str) -> str:
    """`name`, or `name-2`, `name-3`, ... : the first that is not a folder under runs_dir yet."""
    candidate, n = name, 1
    while (Path(runs_dir) / candidate).exists():
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def default_name(config: RunConfig) -> str:
    """<loss>-<arch>-<data>-<time>: the folder name of a run started without --name."""
    return f"{config.loss}-{config.arch}-{config.data}-{time.strftime('%Y%m%d-%H%M%S')}"


def new_run(config: RunConfig) -> RunDir:
    """Creates runs/<name>/; refuses to reuse an existing folder (nothing is overwritten)."""
    if config.name is not None and (Path(config.name).name != config.name or config.name in ("", ".", "..")):
        raise ConfigError(
            f"--name {config.name!r} is not a plain folder name; runs go under --runs-dir "
            f"{config.runs_dir!r}, so pass e.g. --name {Path(config.name).name or 'my-run'}"
        )
    name = config.name or default_name(config)
    path = Path(config.runs_dir) / name
    if path.exists():
        if config.name is None:  # two auto-named runs in the same second
            path = Path(config.runs_dir) / f"{name}-{time.time_ns() % 10**6:06d}"
        else:
            raise RunError(
                f"run {str(path)!r} already exists; continue it with --resume {path} or choose another --name"
            )
    try:
        path.mkdir(parents=True)
        (path / "samples").mkdir()
        (path / "checkpoints").mkdir()
    except OSError as exc:
        raise RunError(f"cannot create run folder {str(path)!r} ({exc.strerror}); pass a writable --runs-dir") from exc
    return RunDir(path)
