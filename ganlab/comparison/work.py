"""One study run, wherever it executes (this process, a local worker process, a Ray task): bring
it to its planned steps, evaluate it, and say in one line how it ended."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ganlab.config import RunConfig
from ganlab.errors import DivergenceError, GanlabError, Interrupted
from ganlab.run.lock import RunLock
from ganlab.run.rundir import RunDir

if TYPE_CHECKING:  # the trainer imports torch; a task is described without it
    from ganlab.run.callback import Callback

# How a run of a study ended. "failed" runs are tried again by the next identical command;
# a "diverged" run is not (the same seed would diverge again), but both count as failures.
ENDINGS = ("complete", "diverged", "failed", "interrupted")
FAILED = ("diverged", "failed")


@dataclass(frozen=True)
class RunTask:
    """What an executor hands to whoever trains a run: plain data, so it pickles to any process."""

    config: dict[str, Any]  # RunConfig.to_dict(), name and runs_dir included
    action: str  # study.PlannedRun.action: "train", "restart", "resume" or "reuse" (evaluate only)
    evaluate: dict[str, Any] | None = None  # keywords for evaluate_run (metrics, n, dims, ...); None: no evaluation

    @property
    def name(self) -> str:
        return self.config["name"]

    @property
    def path(self) -> Path:
        return Path(self.config["runs_dir"]) / self.config["name"]

    def moved(self, runs_dir: str | Path) -> RunTask:
        """The same run trained under another folder (a Ray worker's scratch space)."""
        return replace(self, config=self.config | {"runs_dir": str(runs_dir)})


@dataclass(frozen=True)
class RunOutcome:
    name: str
    status: str  # one of ENDINGS
    reason: str | None = None  # one line, for diverged, failed and interrupted runs
    eval_error: str | None = None  # the run trained, but its evaluation failed (a warning, not a failure)

    @property
    def failed(self) -> bool:
        return self.status in FAILED


def replan(task: RunTask) -> RunTask:
    """The action that continues `task` from what its folder holds now: after a worker died
    mid-run, its checkpoint is resumed (same steps, same weights: resume is bit-identical)."""
    run = RunDir(task.path)
    if task.action == "reuse" or not task.path.exists():
        return task if task.action == "reuse" else replace(task, action="train")
    if run.is_run and run.summary().get("status") == "complete":
        return replace(task, action="reuse")
    return replace(task, action="resume" if run.is_run and run.has_checkpoint() else "restart")


def perform(
    task: RunTask,
    callbacks: Iterable[Callback] = (),
    evaluate: Callable[..., Any] | None = None,
    on_evaluate: Callable[[], None] = lambda: None,
) -> RunOutcome:
    """Trains (or resumes) the run, then evaluates it when asked and needed. A run that diverges
    or fails with a GanlabError gets an outcome, not an exception, so the other runs go on;
    Interrupted (Ctrl-C, checkpoint saved) propagates."""
    try:
        _train(task, list(callbacks))
    except Interrupted:
        raise
    except DivergenceError as exc:
        record_failure(task, "diverged", str(exc))
        return RunOutcome(task.name, "diverged", str(exc))
    except GanlabError as exc:
        record_failure(task, "failed", str(exc))
        return RunOutcome(task.name, "failed", str(exc))
    run = RunDir(task.path)
    status = run.summary().get("status", "complete")
    if status in FAILED:  # a reused run that diverged (or failed) before
        return RunOutcome(task.name, status, run.summary().get("error"))
    if task.evaluate is None or not needs_eval(run, **_eval_wants(task.evaluate)):
        return RunOutcome(task.name, "complete")
    on_evaluate()
    evaluate = evaluate or _evaluate_run()
    try:
        evaluate(task.path, **task.evaluate)
    except Interrupted:
        raise
    except GanlabError as exc:
        return RunOutcome(task.name, "complete", eval_error=str(exc))
    return RunOutcome(task.name, "complete")


def _train(task: RunTask, callbacks: list[Callback]) -> None:
    if task.action == "reuse":
        return
    from ganlab.run import runner  # torch, only where a run trains

    config = RunConfig.from_dict(task.config, source="study")
    if task.action == "resume":
        runner.resume(task.path, {"steps": config.steps}, callbacks)
        return
    if task.action == "restart":
        with RunLock(task.path):  # it may not be dead but starting, in another process
            shutil.rmtree(task.path)
    runner.start(config, callbacks)


def _evaluate_run() -> Callable[..., Any]:
    from ganlab.metrics.evaluate import evaluate_run

    return evaluate_run


def _eval_wants(keywords: dict[str, Any]) -> dict[str, Any]:
    return {"metrics": keywords.get("metrics"), "n": keywords.get("n"), "dims": keywords.get("dims")}


def record_failure(task: RunTask, status: str, reason: str) -> None:
    """Leaves the run's folder saying how it ended ("failed" or "diverged", and why), for the table
    and for the next command (which retries a failed run and keeps a diverged one). runner.start
    removes a run that stopped before its first checkpoint; the folder is recreated with its
    config so compare can show it."""
    run = RunDir(task.path)
    try:
        if not run.is_run:
            run.path.mkdir(parents=True, exist_ok=True)
            run.write_config(RunConfig.from_dict(task.config, source="study"))
        run.update_summary(status=status, error=reason, config=run.summary().get("config", task.config))
    except (OSError, GanlabError):  # nowhere to write it: the outcome still carries the reason
        pass


def needs_eval(run: RunDir, metrics: list[str] | None, n: int | None, dims: int | None) -> bool:
    """True unless the run already holds every wanted metric at the asked n (and feature dims)."""
    summary = run.summary()
    if summary.get("status") != "complete":
        return False  # a diverged generator has nothing worth measuring
    have = summary.get("metrics") or {}
    if not have:
        return True
    wanted = metrics or list(have)
    if any(m not in have for m in wanted):
        return True
    if n is not None and any(have[m].get("n") != n for m in wanted):
        return True
    return dims is not None and any(have[m].get("dims") not in (None, dims) for m in wanted)


# --- a run folder through a pipe: Ray tasks on machines that share no filesystem with the driver ----
def pack(folder: Path) -> bytes:
    """The folder as an uncompressed tar archive in memory (checkpoints do not compress)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(folder, arcname=".")
    return buffer.getvalue()


def unpack(data: bytes, folder: Path) -> None:
    """Writes an archive from pack() as `folder`, all or nothing: extracted beside it first, then
    renamed into place, so a crash leaves the old folder or the new one, never a mix."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    incoming = Path(tempfile.mkdtemp(prefix=f".{folder.name}.incoming-", dir=folder.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
            tar.extractall(incoming, filter="data")  # refuses absolute paths and links out of the folder
        old = None
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
            os.replace(folder, old / folder.name)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(incoming, 0o777 & ~mask)  # mkdtemp made it private; a run folder is not
        os.replace(incoming, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
