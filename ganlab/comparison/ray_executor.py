"""A study's runs as Ray tasks (ray.io): one task per run, one GPU each when the study trains on
CUDA, else CPUs; Ray reschedules a task whose worker or node died (max_retries) and the retry
resumes from the run's last checkpoint.

Without --shared-fs, a task trains in scratch space on its node and returns the run folder as a
tar archive, which the driver writes atomically under runs/<study>/; a retry on the same node
finds the scratch checkpoint. With --shared-fs, tasks write in place (the runs folder must be
mounted at the same absolute path everywhere)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ganlab.comparison.executors import (
    RETRIES,
    STOP_WAIT_S,
    BetweenSteps,
    Execution,
    Reporter,
    cpu_count,
    interrupted,
)
from ganlab.comparison.work import RunOutcome, RunTask, pack, perform, replan, unpack
from ganlab.errors import ConfigError, Interrupted

INSTALL = "pip install 'ganlab[ray]'"
CONNECT_TIMEOUT_S = 5.0  # a HOST:PORT that does not answer within this is reported, not waited on


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--executor ray needs Ray, which is not installed; {INSTALL}") from None
    return ray


class RayExecutor:
    def __init__(self, execution: Execution, configs: list[dict[str, Any]]):
        self.execution = execution
        if execution.ray_address is not None:
            _check_reachable(execution.ray_address)  # before Ray's import (seconds) and its long retries
        self.ray = import_ray()
        self.started_here = self._connect()
        self.cuda = _trains_on_cuda(self.ray, configs)
        self.threads = execution.threads or 1

    def _connect(self) -> bool:
        """Joins the cluster at --ray-address, or starts a local one; True when started here."""
        ray, address = self.ray, self.execution.ray_address
        if ray.is_initialized():  # a caller (a notebook, a test) connected already
            return False
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        quiet = dict(log_to_driver=False, logging_level="ERROR", include_dashboard=False)
        if address is None:
            cpus = self.execution.workers * (self.execution.threads or 1) if self.execution.workers > 1 else cpu_count()
            ray.init(num_cpus=cpus, **quiet)
            return True
        try:
            ray.init(address=address, **({} if address.startswith("ray://") else quiet))
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(
                f"cannot connect to the Ray cluster at --ray-address {address} ({' '.join(str(exc).split())[:200]}); "
                "start one with `ray start --head`, or drop --ray-address to start a local one"
            ) from None
        return True

    def run(self, tasks: list[RunTask], report: Reporter) -> list[RunOutcome]:
        ray = self.ray
        remote = ray.remote(run_task).options(
            num_cpus=self.threads,
            num_gpus=1 if self.cuda else 0,
            max_retries=RETRIES,  # system failures only (a dead worker or node); a run's own errors are outcomes
            retry_exceptions=False,
        )
        shared = self.execution.shared_fs
        refs = {}
        for task in tasks:
            task = _absolute(task) if shared else task
            archive = pack(task.path) if not shared and task.action == "resume" else None
            refs[remote.remote(task, archive, shared, self.threads)] = task
        outcomes: dict[str, RunOutcome] = {}
        try:
            self._collect(refs, report, outcomes)
        except KeyboardInterrupt:
            raise self._cancel(refs) from None
        finally:
            if self.started_here:
                ray.shutdown()
        return [outcomes[t.name] for t in tasks]

    def _capacity(self) -> int:
        """How many tasks the cluster runs at once, to tell running runs from queued ones."""
        resources = self.ray.cluster_resources()
        per_task = ("GPU", 1) if self.cuda else ("CPU", self.threads)
        return max(1, int(resources.get(per_task[0], 1) // per_task[1]))

    def _collect(self, refs: dict, report: Reporter, outcomes: dict[str, RunOutcome]) -> None:
        ray, waiting, capacity = self.ray, list(refs), self._capacity()
        running: set = set()
        while waiting:
            for ref in waiting[: max(0, capacity - len(running))]:
                if ref not in running:
                    running.add(ref)
                    report.started(refs[ref].name, "ray")
            done, waiting = ray.wait(waiting, num_returns=1, timeout=1.0)
            for ref in done:
                running.discard(ref)
                outcome = self._result(ref, refs[ref])
                outcomes[outcome.name] = outcome
                report.finished(outcome)

    def _result(self, ref: Any, task: RunTask) -> RunOutcome:
        try:
            outcome, archive = self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:  # lost more than RETRIES times, or a bug in the task
            reason = f"Ray task failed: {' '.join(str(getattr(exc, 'cause', None) or exc).split())[:300]}"
            return RunOutcome(task.name, "failed", reason)
        if archive is not None:
            unpack(archive, task.path)
        return outcome

    def _cancel(self, refs: dict) -> Interrupted:
        """Ctrl-C: running tasks get KeyboardInterrupt (their runs save a checkpoint; in scratch
        space without --shared-fs, where the same command's next task finds it on that node)."""
        for ref in refs:
            self.ray.cancel(ref)
        deadline = time.monotonic() + STOP_WAIT_S
        pending = list(refs)
        while pending and time.monotonic() < deadline:
            try:
                _, pending = self.ray.wait(pending, num_returns=len(pending), timeout=1.0)
            except KeyboardInterrupt:
                break
        return interrupted({})


def _trains_on_cuda(ray: Any, configs: list[dict[str, Any]]) -> bool:
    devices = {c.get("device") for c in configs}
    if "cuda" in devices:
        return True
    return "auto" in devices and ray.cluster_resources().get("GPU", 0) > 0


def _absolute(task: RunTask) -> RunTask:
    """On a shared filesystem a worker's working folder is not the driver's: absolute paths."""
    return task.moved(Path(task.config["runs_dir"]).resolve())


def _check_reachable(address: str) -> None:
    """A HOST:PORT that refuses or does not answer fails in seconds, not after Ray's long retries."""
    if address == "auto":
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            f"--ray-address {address!r} is not auto, HOST:PORT or ray://HOST:PORT; pass e.g. 10.0.0.5:6379"
        )
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ConfigError(
            f"cannot reach the Ray cluster at --ray-address {address} ({exc.strerror or exc}); "
            "start one with `ray start --head`, or drop --ray-address to start a local one"
        ) from None


# --- inside a Ray task -----------------------------------------------------------------------------------
def scratch_folder(task: RunTask) -> Path:
    """Where a task trains when it shares no filesystem with the driver: the same folder for the
    same config on one node, so a retry (or the next command) resumes the checkpoint left there."""
    key = hashlib.sha1(json.dumps(task.config, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "ganlab-ray" / key


def run_task(task: RunTask, archive: bytes | None, shared_fs: bool, threads: int) -> tuple[RunOutcome, bytes | None]:
    """One run in a Ray worker: (outcome, the run folder as an archive or None with --shared-fs)."""
    import torch

    torch.set_num_threads(threads)
    if shared_fs:
        return _perform(replan(task)), None
    scratch = scratch_folder(task)
    here = task.moved(scratch)
    if not (here.path / "config.toml").is_file() and archive is not None:
        unpack(archive, here.path)  # the driver's interrupted copy
    outcome = _perform(replan(replace(here, action="train")))
    data = pack(here.path) if here.path.exists() else None
    if outcome.status != "interrupted":
        shutil.rmtree(scratch, ignore_errors=True)
    return outcome, data


def _perform(task: RunTask) -> RunOutcome:
    """ray.cancel raises KeyboardInterrupt through the SIGINT handler of the task's thread: the
    run stops between two steps and saves its checkpoint."""
    stopper = BetweenSteps()
    try:
        previous = signal.signal(signal.SIGINT, stopper.interrupt)
    except ValueError:  # not the main thread: Ray's KeyboardInterrupt lands wherever it lands
        previous = None
    try:
        return perform(task, [stopper])
    except Interrupted as exc:
        return RunOutcome(task.name, "interrupted", str(exc))
    except KeyboardInterrupt:  # before training started: nothing to save
        return RunOutcome(task.name, "interrupted", "interrupted before its first step")
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
