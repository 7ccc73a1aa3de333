"""Runs a training job into a run directory: new runs, resumed runs, and their bookkeeping."""

from __future__ import annotations

import shutil
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ganlab import files, plugins, viz
from ganlab.config import FIELDS, RunConfig, flag_name
from ganlab.errors import (
    ConfigError,
    DivergenceError,
    GanlabError,
    GanlabNotice,
    Interrupted,
    PluginError,
    RunError,
)
from ganlab.loggers.base import Logger
from ganlab.loggers.callback import LoggerCallback, make_loggers
from ganlab.loggers.jsonl import JsonlLogger
from ganlab.losses.readout import d_output_keys
from ganlab.plugins import guard
from ganlab.run import checkpoint, distributed
from ganlab.run.lock import RunLock, writes_run
from ganlab.run.rundir import RunDir, new_run, open_run
from ganlab.run.trainer import Callback, Trainer, train, versions

if TYPE_CHECKING:
    from torch import Tensor


class Recorder(Callback):
    """Writes what the loop reports into the run directory: metrics, samples, checkpoints."""

    def __init__(self, run: RunDir):
        self.run = run
        self.log: JsonlLogger | None = None
        self.real_points: Tensor | None = None  # drawn once: the scatter plots' reference, the same at every step

    def on_start(self, trainer: Trainer) -> None:
        self.log = JsonlLogger()  # the `jsonl` logger: every run writes metrics.jsonl
        self.log.on_start(self.run.path, trainer.config.to_dict(), trainer.step)

    def on_log(self, trainer: Trainer, stats: dict[str, float]) -> None:
        assert self.log is not None, "on_start opens the log"
        try:
            self.log.log_scalars(trainer.step, stats)
        except OSError as exc:  # flushed per logged step, so a full disk shows up here
            raise cannot_write(self.run, self.run.metrics_file, trainer.step, exc) from exc

    def on_step(self, trainer: Trainer, stats: dict) -> None:
        c = trainer.config
        if trainer.step % c.sample_every == 0:
            self.write_samples(trainer)
        if trainer.step % c.checkpoint_every == 0:
            self.write_checkpoint(trainer)

    def write_samples(self, trainer: Trainer) -> Path:
        path = self.run.samples_dir / f"step_{trainer.step:06d}.png"
        title = f"{trainer.config.loss} / {trainer.config.arch}, step {trainer.step}"
        if trainer.data.kind == "points" and self.real_points is None:
            self.real_points = reference_points(trainer)
        try:
            viz.save_samples(trainer.samples(), trainer.data.kind, path, trainer.data.meta, title, self.real_points)
        except OSError as exc:  # the run folder was removed or the disk filled up mid-run
            raise cannot_write(self.run, path, trainer.step, exc) from exc
        return path

    def write_checkpoint(self, trainer: Trainer) -> None:
        if self.log is not None:  # the log is durable up to the checkpoint it belongs with
            self.log.flush()
        try:
            checkpoint.save(self.run.last_checkpoint, trainer.state_dict())
        except OSError as exc:  # full disk, lost permissions: the previous checkpoint is untouched
            raise cannot_write(self.run, self.run.last_checkpoint, trainer.step, exc) from exc

    def close(self) -> None:
        if self.log is not None:
            try:
                self.log.close()
            except OSError:  # its last lines did not fit on the disk; the error that stopped the run says so
                pass


def cannot_write(run: RunDir, path: Path, step: int, exc: OSError) -> RunError:
    """A write that failed mid-run (full disk, lost permissions, folder removed), as one line with
    the way back: everything up to the last checkpoint is kept."""
    return RunError(
        f"cannot write {str(path)!r} at step {step} ({files.reason(exc)}); free space or fix permissions, "
        f"then ganlab train --resume {run.path}"
    )


def reference_points(trainer: Trainer) -> Tensor:
    """Real points for the scatter plots, as many as the generated ones, from their own seeded
    generator: drawing them never moves the training draws."""
    import torch

    gen = torch.Generator().manual_seed(trainer.config.seed + 2)  # + 1 is the fixed noise's
    return trainer.data.sample(len(trainer.fixed_z), gen).cpu()


def start(config: RunConfig, callbacks: Iterable[Callback] = ()) -> tuple[RunDir | None, dict[str, Any]]:
    """Trains a new run. Everything that can be wrong with the config fails before the run
    folder is created, so a bad command leaves nothing behind."""
    trainer = Trainer(config)
    world = trainer.world
    if not world.is_main:  # under DDP rank 0 alone makes and writes the run folder
        distributed.agree(None, world)
        _follow(trainer, config.steps)
        return None, {}  # rank 0 holds the run folder and the summary
    with distributed.agreeing(world):  # a failure here stops every rank, not rank 0 alone
        loggers = make_loggers(config.log)  # --log: a bad name fails before the run folder exists
        run = new_run(config)
        held = _lock_new(run)
    try:
        run.write_config(config)  # inside: a full disk here must not leave a half-made folder
        return run, _train_into(run, trainer, config.steps, callbacks, previous={}, loggers=loggers)
    except GanlabError:
        if not run.has_checkpoint():  # failed before saving anything: leave no husk behind
            shutil.rmtree(run.path, ignore_errors=True)
        raise
    finally:
        held.release()


def _lock_new(run: RunDir) -> RunLock:
    """The new run's lock (one writer per run, issue 19), taken before anything is written into it."""
    try:
        return RunLock(run.path).acquire()
    except GanlabError:
        shutil.rmtree(run.path, ignore_errors=True)  # the folder is ours and still empty: leave nothing
        raise


# What a resumed run may change: how long it trains, and where it runs and finds its data (a run
# started on a GPU box continues on a CPU one). Everything else would change the experiment.
RESUME_MAY_CHANGE = ("steps", "device", "data_root")


def resume(
    path: str | Path, changes: dict[str, Any] | None = None, callbacks: Iterable[Callback] = ()
) -> tuple[RunDir | None, dict[str, Any]]:
    """Continues a run from checkpoints/last.pt up to changes["steps"] (default: the configured
    steps). A resumed run keeps its saved config except for RESUME_MAY_CHANGE. Under DDP rank 0
    reads the run and hands config and state to the other ranks, which need no access to it."""
    world = distributed.init()
    if not world.is_main:
        return None, _follow_resume(world)
    return _resume(path, changes, callbacks)


NOTHING_TO_DO = "nothing to do"  # what rank 0 hands the others for a resume to a step already reached


def _follow_resume(world: distributed.World) -> dict[str, Any]:
    handed = distributed.broadcast(None, world)
    if handed is None:  # rank 0 refused the resume and says why
        raise distributed.Stopped("rank 0 could not resume the run")
    if handed == NOTHING_TO_DO:  # the run is complete at the asked step; rank 0 says so
        return {}
    config_values, state = handed
    trainer = Trainer(RunConfig.from_dict(config_values), recorded=state.get("plugins"))
    if state["step"]:
        trainer.load_state_dict(state)
    distributed.agree(None, world)
    _follow(trainer, trainer.config.steps)
    return {}


@writes_run("path")  # held for the whole resume: a second writer is refused before any work
def _resume(
    path: str | Path, changes: dict[str, Any] | None, callbacks: Iterable[Callback]
) -> tuple[RunDir, dict[str, Any]]:
    world = distributed.from_env()
    try:
        run, config, state, fresh = _prepare_resume(path, changes)
        summary = run.summary()
        done = (
            not fresh and config.steps == state["step"] == summary.get("step") and summary.get("status") == "complete"
        )
        if done and not world.distributed:
            Trainer(config, recorded=state.get("plugins"))  # judges --data-root, --device even with nothing to do
        if not done:
            check_writable(run)
    except GanlabError:
        distributed.broadcast(None, world)  # the other ranks stop instead of waiting
        raise
    if done:  # nothing to train: rewriting last.pt would rotate the good previous copy away (issue 18)
        distributed.broadcast(NOTHING_TO_DO, world)
        warnings.warn(
            GanlabNotice(
                f"run {run.name!r} is already at step {state['step']}, complete; nothing was trained or written "
                f"(pass --steps larger than {state['step']} to continue it)"
            ),
            stacklevel=2,
        )
        return run, summary
    distributed.broadcast((config.to_dict(), state), world)
    # built on every rank at once (DDP's constructor is a collective); judges --data-root, --device
    trainer = Trainer(config, recorded=state.get("plugins"))  # recorded: None for a fresh start
    if not fresh:
        trainer.load_state_dict(state)
    with distributed.agreeing(world):
        loggers = make_loggers(config.log)
        for folder in (run.samples_dir, run.checkpoints_dir):  # recreate what a user may have deleted
            folder.mkdir(exist_ok=True)
        run.truncate_metrics(after_step=trainer.step)
        run.write_config(config)
    return run, _train_into(run, trainer, config.steps, callbacks, previous=summary, loggers=loggers)


def _prepare_resume(path: str | Path, changes: dict[str, Any] | None) -> tuple[RunDir, RunConfig, dict[str, Any], bool]:
    changes = {k: v for k, v in (changes or {}).items() if v is not None}
    refused = sorted(set(changes) - set(RESUME_MAY_CHANGE))
    if refused:
        flag = flag_name(refused[0]) if refused[0] in FIELDS else f"--{refused[0]}"  # "config": --config
        may = ", ".join(flag_name(k) for k in RESUME_MAY_CHANGE)
        raise ConfigError(f"--resume continues a run with its saved config; drop {flag} (only {may} may change)")
    run = open_run(path)
    config = run.config()
    fresh = not run.has_checkpoint()
    # killed before its first checkpoint: the saved config is all there is, so start it over
    state: dict[str, Any] = {"step": 0} if fresh else run.checkpoint("last")
    steps = changes.pop("steps", None)
    if steps is not None and (not isinstance(steps, int) or steps < 1):
        raise ConfigError(f"steps must be an integer >= 1, got {steps}; set --steps 1 or more")
    for key, value in changes.items():  # where and on what it runs, not what it computes
        setattr(config, key, value)
    config.validate()
    if steps is not None:
        config.steps = steps
    if config.steps < state["step"]:
        raise ConfigError(
            f"run {run.name!r} is already at step {state['step']}; "
            f"pass --steps larger than {state['step']} to continue it"
        )
    return run, config, state, fresh


def check_writable(run: RunDir) -> None:
    """Refuses a run folder (or its checkpoints/ or samples/) that cannot be written, before any
    work: a read-only copy of a run, a full disk."""
    for folder in (run.path, run.checkpoints_dir, run.samples_dir):
        blocked = files.unwritable(folder) if folder.is_dir() else None
        if blocked is not None:
            raise RunError(
                f"cannot write run {str(run.path)!r} ({files.reason(blocked)} on {str(folder)!r}); "
                f"--resume writes checkpoints, samples and the log there: copy the run to a writable folder "
                f"(cp -r {run.path} DEST) and resume the copy"
            )


def _train_into(
    run: RunDir,
    trainer: Trainer,
    until: int,
    callbacks: Iterable[Callback],
    previous: dict[str, Any],
    loggers: Iterable[Logger] = (),
) -> dict[str, Any]:
    recorder = Recorder(run)
    logging = LoggerCallback(run, list(loggers))
    evaluation = _evaluation(trainer, run)  # --eval-every: writes metrics / metrics_best into summary.json
    listeners = [recorder, *callbacks, *evaluation, logging]  # logging after what it forwards
    if trainer.world.distributed:  # statistics averaged over ranks; a failure here stops every rank
        listeners = [distributed.Gate(trainer.world, [recorder, *callbacks, logging], collective=evaluation)]
    # said before the first step: a run killed mid-way is then not taken for a finished one, and
    # compare tells it from one still training by the run's lock (issue 18)
    summary = {k: v for k, v in previous.items() if k not in ("error", "finished")} | {
        "status": "running",
        "step": trainer.step,
    }
    run.write_summary(summary)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    first_step = trainer.step
    try:
        # an exception from plugin code: one line naming it; another rank's death: a silent Stopped
        with distributed.peer_failures(trainer.world), guard.translating(trainer.owners()):
            timing = train(trainer, until, listeners)
        if trainer.step % trainer.config.checkpoint_every and trainer.step > first_step:
            recorder.write_checkpoint(trainer)
    except KeyboardInterrupt as exc:
        recorder.write_checkpoint(trainer)  # a Ctrl-C keeps everything up to this step
        run.write_summary(_with_metrics(run, summary) | {"status": "interrupted", "step": trainer.step})
        raise Interrupted(
            f"interrupted at step {trainer.step}; checkpoint saved. Continue with: ganlab train --resume {run.path}"
        ) from exc
    except DivergenceError as exc:
        run.write_summary(_with_metrics(run, summary) | {"status": "diverged", "step": trainer.step, "error": str(exc)})
        raise
    except (PluginError, distributed.Stopped) as exc:  # a plugin or another rank broke mid-run: the folder
        # says so (start removes it if nothing was saved)
        run.write_summary(_with_metrics(run, summary) | {"status": "failed", "step": trainer.step, "error": str(exc)})
        raise
    finally:
        recorder.close()
        if trainer.step < until:  # stopped early: release files and connections the loggers hold
            logging.close()
    with guard.translating(trainer.owners()):  # G runs in eval mode here, perhaps for the first time
        final_samples = recorder.write_samples(trainer)
    rows = run.metrics()
    try:
        viz.save_loss_curve(rows, run.loss_curve, f"{run.name}", trainer.d_is_probability)
    except OSError as exc:
        raise cannot_write(run, run.loss_curve, trainer.step, exc) from exc
    wall = previous.get("wall_time_s", 0.0) + timing["wall_time_s"]
    summary = _with_metrics(run, build_summary(run, trainer, rows, wall, timing, started, final_samples, previous))
    run.write_summary(summary)
    logging.finish(summary, final_samples)
    return summary


def _evaluation(trainer: Trainer, run: RunDir | None) -> list[Callback]:
    """--eval-every: the evaluation callback (on every rank under DDP; rank 0 writes its results)."""
    if not trainer.config.eval_every:
        return []
    from ganlab.metrics.callback import EvalCallback

    return [EvalCallback(run, trainer.config.eval_every)]


def _follow(trainer: Trainer, until: int) -> None:
    """A rank other than 0 under DDP: trains (and evaluates) in step with the others, writes nothing."""
    try:
        with distributed.peer_failures(trainer.world), guard.translating(trainer.owners()):
            train(trainer, until, [distributed.Gate(trainer.world, [], collective=_evaluation(trainer, None))])
    except DivergenceError as exc:  # decided on averaged gradients, so rank 0 reports the same
        raise distributed.Stopped(str(exc)) from exc


def _with_metrics(run: RunDir, summary: dict[str, Any]) -> dict[str, Any]:
    """`summary` plus the evaluation sections an EvalCallback wrote to summary.json during training."""
    return summary | {k: v for k, v in run.summary().items() if k in ("metrics", "metrics_best", "metrics_history")}


def _speed(timing: dict, previous: dict[str, Any]) -> float | None:
    """Steps per second of this session; a resume that trained no step keeps the last measured."""
    if not timing["steps"] or not timing["wall_time_s"]:
        return previous.get("steps_per_s")
    return round(timing["steps"] / timing["wall_time_s"], 3)


def build_summary(
    run: RunDir,
    trainer: Trainer,
    rows: list[dict],
    wall: float,
    timing: dict,
    started: str,
    samples: Path,
    previous: dict[str, Any],
) -> dict[str, Any]:
    tail = rows[-100:]  # single-step GAN losses are noisy; the mean of the last 100 is steadier
    d_outputs = [k for k, _ in d_output_keys(trainer.d_is_probability)]
    keys = [k for k in ("d_loss", "g_loss", *d_outputs, "penalty", "d_total") if tail and all(k in r for r in tail)]
    return {
        # evaluations survive a resume; each one records the step it was made at
        **{k: v for k, v in previous.items() if k in ("metrics", "metrics_best", "metrics_history", "created")},
        "status": "complete",
        "name": run.name,
        "created": previous.get("created", started),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "step": trainer.step,
        "skipped_batches": trainer.skipped,
        "config": trainer.config.to_dict(),
        "device": str(trainer.device),
        "threads": trainer.threads,  # torch's CPU threads (--threads, $OMP_NUM_THREADS or physical cores)
        "data": {"kind": trainer.data.kind, "shape": list(trainer.data.shape), "meta": trainer.data.meta},
        # True: d_real/d_fake are mean probabilities; False: critic_real/critic_fake, a critic's scores
        "d_is_probability": trainer.d_is_probability,
        "final": {k: rows[-1][k] for k in keys} if rows else {},
        "final_mean_last_100": {k: sum(r[k] for r in tail) / len(tail) for k in keys} if tail else {},
        "wall_time_s": round(wall, 3),
        "steps_per_s": _speed(timing, previous),
        "samples": str(samples.relative_to(run.path)),
        "weights": trainer.weights,  # "ema" under --ema-decay: grids and eval used the EMA generator
        "versions": versions(trainer.specs),
        "plugins": {k: plugins.provenance(s) for k, s in trainer.specs.items()},
    }
