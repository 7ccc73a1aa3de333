"""Where a study's runs execute: one after another in this process, or in local worker processes
(each with its share of the cores and a GPU of its own). Ray tasks are in compare.ray_executor.

An executor takes RunTasks and reports through a Reporter (started, progress, evaluating,
finished); every run ends as a RunOutcome, so one failed run never stops the others."""

from __future__ import annotations

import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from ganlab.comparison.work import RunOutcome, RunTask, perform, replan
from ganlab.errors import ConfigError, Interrupted
from ganlab.run.callback import Callback

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from ganlab.run.trainer import Trainer

EXECUTORS = ("local", "ray")
RETRIES = 2  # a run whose worker dies is resumed from its checkpoint this many times, then fails
PROGRESS_EVERY_S = 0.25  # how often a worker reports its run's step (a pipe message per step is waste)
STOP_WAIT_S = 60.0  # after Ctrl-C, how long workers get to save their checkpoints


@dataclass
class Execution:
    """How a study runs; not part of what it computes (same seeds give the same rows either way)."""

    executor: str = "local"  # local: processes on this machine; ray: Ray tasks on a cluster
    workers: int = 1  # runs at once; 1 trains them one after another in this process
    threads: int | None = None  # torch threads per run (None: the cores divided among the workers)
    ray_address: str | None = None  # auto, HOST:PORT or ray://HOST:PORT (None: start a local Ray cluster)
    shared_fs: bool = False  # Ray workers see the driver's runs folder at the same path: write in place

    def check(self) -> None:
        if self.executor not in EXECUTORS:
            raise ConfigError(f"unknown --executor {self.executor!r}; choose one of: {', '.join(EXECUTORS)}")
        counts: tuple[tuple[str, int | None], ...] = (("--workers", self.workers), ("--threads", self.threads))
        for flag, value in counts:
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"{flag} must be an integer >= 1, got {value!r}; pass e.g. {flag} 2")
        if self.executor != "ray":
            for ray_flag, given in (("--ray-address", bool(self.ray_address)), ("--shared-fs", self.shared_fs)):
                if given:
                    raise ConfigError(f"{ray_flag} is for Ray; add --executor ray or drop {ray_flag}")

    def threads_per_run(self) -> int:
        return self.threads or max(1, cpu_count() // self.workers)


def cpu_count() -> int:
    """The cores this process may use (a container's or taskset's limit, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class Reporter:
    """What executors tell the study while runs execute; study.run_study passes one to its hooks."""

    def callbacks(self, name: str) -> list[Callback]:
        """Training callbacks for a run trained in this process (live bars, tests)."""
        return []

    def started(self, name: str, where: str) -> None: ...
    def progress(self, name: str, step: int, total: int, stats: dict[str, float] | None) -> None: ...
    def evaluating(self, name: str) -> None: ...
    def finished(self, outcome: RunOutcome) -> None: ...


def interrupted(steps: dict[str, int | None]) -> Interrupted:
    """The study's Ctrl-C message (runner's own hint, `ganlab train --resume`, would skip the
    other runs); `steps`: the step each interrupted run had reached, where known."""
    where = (
        "during " + ", ".join(f"{n} at step {s}" for n, s in steps.items()) if steps else "(running tasks cancelled)"
    )
    return Interrupted(
        f"study interrupted {where} (checkpoint saved); run the same command again to "
        "continue: finished runs are reused, interrupted ones resume"
    )


# --- one after another, in this process ----------------------------------------------------------------
class Sequential:
    def __init__(self, threads: int | None = None, evaluate: Any = None):
        self.threads, self.evaluate = threads, evaluate

    def run(self, tasks: list[RunTask], report: Reporter) -> list[RunOutcome]:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(self.threads or threads)
        outcomes = []
        try:
            for task in tasks:
                report.started(task.name, "this process")
                outcome = self._one(task, report)
                report.finished(outcome)
                outcomes.append(outcome)
        finally:
            torch.set_num_threads(threads)  # this process goes on (a notebook, a test)
        return outcomes

    def _one(self, task: RunTask, report: Reporter) -> RunOutcome:
        stopper: BetweenSteps | None = BetweenSteps()
        try:
            previous = signal.signal(signal.SIGINT, stopper.interrupt)  # type: ignore[union-attr]
        except ValueError:  # run_study called from another thread: Ctrl-C stays Python's
            previous, stopper = None, None
        try:
            extra: list[Callback] = [stopper] if stopper else []
            return perform(
                task, report.callbacks(task.name) + extra, self.evaluate, partial(report.evaluating, task.name)
            )
        except Interrupted as exc:
            from ganlab.run.rundir import RunDir

            raise interrupted({task.name: RunDir(task.path).summary().get("step")}) from exc
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)


# --- local worker processes -------------------------------------------------------------------------------
@dataclass
class Slot:
    """One worker process and the run it is training."""

    process: BaseProcess
    conn: Connection
    task: RunTask | None = None
    step: int | None = None


@dataclass
class LocalWorkers:
    """N long-lived worker processes (spawned, so no torch state is forked), one run each at a
    time. A worker that dies (killed, out of memory) is replaced and its run resumes from its
    last checkpoint, up to RETRIES times."""

    workers: int
    threads: int
    gpus: list[str] = field(default_factory=list)  # CUDA device ids, dealt round-robin to workers
    slots: list[Slot] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)

    def run(self, tasks: list[RunTask], report: Reporter) -> list[RunOutcome]:
        pending, outcomes = deque(tasks), dict[str, RunOutcome]()
        try:
            while pending or self.busy():
                self._deal(pending, report)
                self._wait(pending, report, outcomes)
        except KeyboardInterrupt:
            raise self._stop_all(report, outcomes) from None
        finally:
            self._close()
        return [outcomes[t.name] for t in tasks]

    def busy(self) -> list[Slot]:
        return [s for s in self.slots if s.task is not None]

    def _deal(self, pending: deque, report: Reporter) -> None:
        while pending and len(self.busy()) < self.workers:
            for dead in [s for s in self.slots if s.task is None and not s.process.is_alive()]:
                self.slots.remove(dead)
            slot = next((s for s in self.slots if s.task is None), None) or self._spawn()
            slot.task, slot.step = pending.popleft(), None
            slot.conn.send(slot.task)
            report.started(slot.task.name, f"worker {slot.process.pid}")

    def _spawn(self) -> Slot:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        mine, theirs = ctx.Pipe()
        gpu = self.gpus[len(self.slots) % len(self.gpus)] if self.gpus else None
        process = ctx.Process(target=worker_main, args=(theirs, self.threads, gpu), daemon=True)
        process.start()
        theirs.close()
        slot = Slot(process, mine)
        self.slots.append(slot)
        return slot

    def _wait(self, pending: deque, report: Reporter, outcomes: dict[str, RunOutcome]) -> None:
        from multiprocessing.connection import wait

        busy = self.busy()
        ready = wait([s.conn for s in busy] + [s.process.sentinel for s in busy], timeout=1.0)
        for slot in busy:
            open_ = self._drain(slot, report, outcomes) if slot.conn in ready else True
            if slot.task is not None and (not open_ or slot.process.sentinel in ready):
                slot.process.join(timeout=5)  # the pipe closed: the process is dying or dead
                if slot.process.is_alive():  # never two processes writing one run folder
                    slot.process.kill()
                    slot.process.join()
                self._lost(slot, pending, report, outcomes)

    def _drain(self, slot: Slot, report: Reporter, outcomes: dict[str, RunOutcome]) -> bool:
        """Handles the worker's messages; False when its end of the pipe is closed (it died)."""
        while slot.task is not None and slot.conn.poll():
            try:
                kind, payload = slot.conn.recv()
            except (EOFError, OSError):
                return False
            if kind == "progress":
                step, total, stats = payload
                slot.step = step
                report.progress(slot.task.name, step, total, stats)
            elif kind == "evaluating":
                report.evaluating(slot.task.name)
            else:  # "done"
                outcomes[payload.name] = payload
                slot.task = None
                report.finished(payload)
        return True

    def _lost(self, slot: Slot, pending: deque, report: Reporter, outcomes: dict[str, RunOutcome]) -> None:
        task, code = slot.task, slot.process.exitcode
        assert task is not None, "only a busy worker's loss is handled"
        self.slots.remove(slot)
        slot.conn.close()
        tries = self.attempts[task.name] = self.attempts.get(task.name, 0) + 1
        if tries <= RETRIES:
            pending.appendleft(replan(task))  # resumes from its last checkpoint in a new worker
            return
        outcome = RunOutcome(task.name, "failed", f"its worker process died {tries} times (last exit code {code})")
        outcomes[task.name] = outcome
        report.finished(outcome)

    def _stop_all(self, report: Reporter, outcomes: dict[str, RunOutcome]) -> Interrupted:
        """Ctrl-C: each busy worker gets SIGINT (its run saves a checkpoint), finished runs stay."""
        stopped = [s.task for s in self.busy() if s.task is not None]
        for slot in self.busy():
            _signal(slot.process, signal.SIGINT)
        deadline = time.monotonic() + STOP_WAIT_S
        while self.busy() and time.monotonic() < deadline:
            try:
                self._wait(deque(), report, outcomes)
            except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
                break
        from ganlab.run.rundir import RunDir

        return interrupted({t.name: RunDir(t.path).summary().get("step") for t in stopped})

    def _close(self) -> None:
        for slot in self.slots:
            try:
                slot.conn.send(None)  # "no more work": the worker returns
            except OSError:
                pass
        for slot in self.slots:
            slot.process.join(timeout=5)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            slot.conn.close()
        self.slots.clear()


def _signal(process: BaseProcess, sig: int) -> None:
    if process.pid is None:  # never started
        return
    try:
        os.kill(process.pid, sig)
    except ProcessLookupError:
        pass


# --- inside a worker process ---------------------------------------------------------------------------------
class BetweenSteps(Callback):
    """Makes SIGINT stop a run between two steps: a KeyboardInterrupt in the middle of a step
    would checkpoint a half-updated model, and the resumed run would differ from an
    uninterrupted one. Outside training (evaluation) it stops at once."""

    def __init__(self) -> None:
        self.training = self.stop = False

    def on_start(self, trainer: Trainer) -> None:
        self.training = True

    def on_step(self, trainer: Trainer, stats: dict[str, float]) -> None:
        if self.stop:
            raise KeyboardInterrupt  # the runner saves this step's checkpoint

    def on_end(self, trainer: Trainer, timing: dict[str, Any]) -> None:
        self.training = False

    def interrupt(self, signum: int, frame: Any) -> None:
        """The SIGINT handler. Later copies (the terminal's and the study's forwarded one) change nothing."""
        if self.training:
            self.stop = True
            return
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt


class Forward(BetweenSteps):
    """Also sends the run's step to the study process, at most every PROGRESS_EVERY_S seconds."""

    def __init__(self, conn: Connection):
        super().__init__()
        self.conn, self.last = conn, 0.0

    def on_start(self, trainer: Trainer) -> None:
        super().on_start(trainer)
        self.conn.send(("progress", (trainer.step, trainer.config.steps, None)))

    def on_log(self, trainer: Trainer, stats: dict[str, float]) -> None:
        """On logging steps, where the numbers are host floats (on_step's are device tensors)."""
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY_S or trainer.step == trainer.config.steps:
            self.last = now
            self.conn.send(("progress", (trainer.step, trainer.config.steps, dict(stats))))


def worker_main(conn: Connection, threads: int, gpu: str | None) -> None:
    """A worker's life: set threads and GPU before torch loads, then train runs until told to stop."""
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # idle workers ignore Ctrl-C; the study forwards it
    import torch

    torch.set_num_threads(threads)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the study process is gone
            return
        if task is None:
            return
        conn.send(("done", _perform_here(task, conn)))


def _perform_here(task: RunTask, conn: Connection) -> RunOutcome:
    forward = Forward(conn)
    signal.signal(signal.SIGINT, forward.interrupt)
    try:
        return perform(task, [forward], on_evaluate=lambda: conn.send(("evaluating", None)))
    except Interrupted as exc:
        return RunOutcome(task.name, "interrupted", str(exc))
    except KeyboardInterrupt:  # before training started (building the models): nothing to save
        return RunOutcome(task.name, "interrupted", "interrupted before its first step")
    except Exception as exc:  # a bug in plugin code: this run fails, the worker and the study go on
        return RunOutcome(task.name, "failed", f"{type(exc).__name__}: {' '.join(str(exc).split())}")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


# --- choosing ------------------------------------------------------------------------------------------------
def cuda_devices(configs: list[dict[str, Any]]) -> list[str]:
    """The GPUs to deal out when the study trains on CUDA, else none."""
    if all(c.get("device") == "cpu" for c in configs):
        return []
    import torch

    if not torch.cuda.is_available():
        return []
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = [d.strip() for d in visible.split(",") if d.strip()] if visible else []
    return ids or [str(i) for i in range(torch.cuda.device_count())]


def make_executor(execution: Execution, tasks: list[RunTask], evaluate: Any = None) -> Any:
    """The executor for these settings; Ray is imported (and connected) only when asked for."""
    execution.check()
    if execution.executor == "ray":
        from ganlab.comparison.ray_executor import RayExecutor

        return RayExecutor(execution, [t.config for t in tasks])
    if execution.workers == 1:
        return Sequential(execution.threads, evaluate)
    return LocalWorkers(execution.workers, execution.threads_per_run(), cuda_devices([t.config for t in tasks]))
