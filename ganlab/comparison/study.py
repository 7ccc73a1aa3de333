"""Study mode of `ganlab compare`: plan a loss x arch x data x seed grid, then reuse, resume or
train each run under runs/<study>/ and evaluate it."""

from __future__ import annotations

import itertools
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ganlab import plugins
from ganlab.config import RunConfig
from ganlab.errors import (
    ConfigError,
    DivergenceError,
    GanlabError,
    Interrupted,
    RunError,
)
from ganlab.metrics.registry import parse_metric_names
from ganlab.run.lock import RunLock
from ganlab.run.rundir import RunDir

if TYPE_CHECKING:  # the trainer imports torch; planning a study does not need it
    from ganlab.run.trainer import Callback

# Where a planned run's folder already exists, compare ignores these when deciding "same run":
# the folder name is derived from the config, and the study may have been moved.
NOT_COMPARED = ("name", "runs_dir")
FINISHED = ("complete", "diverged")  # retraining a diverged run would diverge again (same seed)


@dataclass
class StudySpec:
    losses: list[str] = field(default_factory=lambda: [RunConfig.loss])  # the defaults of `ganlab train`
    archs: list[str] = field(default_factory=lambda: [RunConfig.arch])
    datas: list[str] = field(default_factory=lambda: [RunConfig.data])
    seeds: int = 1  # seeds 0 .. seeds-1
    name: str = "study"  # the folder under runs_dir
    runs_dir: str = "runs"
    overrides: dict[str, Any] = field(default_factory=dict)  # RunConfig fields for every run
    evaluate: bool = True
    metrics: list[str] | None = None  # passed to ganlab.metrics.evaluate_run (None: its default)
    eval_n: int | None = None
    eval_options: dict[str, Any] = field(default_factory=dict)  # more keywords for evaluate_run (dims, ...)

    @property
    def path(self) -> Path:
        return Path(self.runs_dir) / self.name


@dataclass
class PlannedRun:
    config: RunConfig  # its name is set by plan()
    action: str  # "reuse" (finished, identical config), "resume" (checkpoint, unfinished), "train", "restart"

    @property
    def name(self) -> str:
        assert self.config.name is not None, "plan() names every run"
        return self.config.name

    @property
    def path(self) -> Path:
        return Path(self.config.runs_dir) / self.name


@dataclass
class StudyResult:
    path: Path
    runs: list[PlannedRun]
    warnings: list[str]


class StudyHooks:
    """What a front end may show while a study runs; the defaults show nothing."""

    def on_plan(self, planned: list[PlannedRun]) -> None: ...
    def train_callbacks(self, item: PlannedRun) -> list[Callback]:
        return []

    def on_evaluate(self, item: PlannedRun) -> None: ...
    def on_run_done(self, item: PlannedRun) -> None: ...


def is_study(runs: list[str] | None, study_flags: list[str]) -> bool:
    """Whether `ganlab compare` trains a study first: run folders and study flags (their names,
    e.g. "--loss") exclude each other, and one of them is needed."""
    if study_flags and runs:
        raise ConfigError(
            f"pass run folders or study flags, not both (got {runs[0]!r} and {study_flags[0]}); "
            "compare the study's runs with `ganlab compare RUNS_DIR/STUDY` afterwards"
        )
    if not study_flags and not runs:
        raise ConfigError(
            "nothing to compare; pass run folders or globs (e.g. 'runs/*'), or study flags "
            "such as --loss minimax --loss lsgan --seeds 3"
        )
    return bool(study_flags)


def run_name(config: RunConfig) -> str:
    return f"{config.loss}-{config.arch}-{config.data}-s{config.seed}"


# --- planning ---------------------------------------------------------------------------------------
def plan(spec: StudySpec) -> list[PlannedRun]:
    """Every run of the grid with what to do about it; a clash fails here, before any training."""
    _check_spec(spec)
    configs = []
    for loss, arch, data, seed in itertools.product(spec.losses, spec.archs, spec.datas, range(spec.seeds)):
        values = spec.overrides | dict(loss=loss, arch=arch, data=data, seed=seed, runs_dir=str(spec.path))
        config = RunConfig.from_dict(values, source="study flags")
        config.name = run_name(config)
        configs.append(config)
    parse_metric_names(spec.metrics)  # an unknown --metric fails before training, not after each run
    planned = [classify(c) for c in configs]
    check_plugins([p.config for p in planned if p.action != "reuse"])
    return planned


def _check_spec(spec: StudySpec) -> None:
    if not isinstance(spec.seeds, int) or spec.seeds < 1:
        raise ConfigError(f"--seeds must be an integer >= 1, got {spec.seeds!r}; pass e.g. --seeds 3")
    if spec.eval_n is not None and (not isinstance(spec.eval_n, int) or spec.eval_n < 2):
        raise ConfigError(
            f"--eval-n must be an integer >= 2 (a covariance needs two samples), got {spec.eval_n!r}; "
            "pass e.g. --eval-n 1000"
        )
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", spec.name):
        raise ConfigError(f"study name {spec.name!r} is not a plain folder name; use letters, digits, - _ .")
    for flag, names in (("--loss", spec.losses), ("--arch", spec.archs), ("--data", spec.datas)):
        if len(set(names)) != len(names):
            raise ConfigError(f"{flag} lists a name twice ({', '.join(names)}); give each once")


def classify(config: RunConfig) -> PlannedRun:
    path = PlannedRun(config, "").path
    if not path.exists():
        return PlannedRun(config, "train")
    run = RunDir(path)
    if not run.is_run:
        raise RunError(f"{str(path)!r} exists but is not a ganlab run; move it away or pass --study ANOTHER_NAME")
    differences = config_differences(run.config(), config)
    if differences:
        raise ConfigError(
            f"run {str(path)!r} was made with {differences}, not what this study asks; "
            "pass --study ANOTHER_NAME to keep both, or delete that folder"
        )
    if run.summary().get("status") in FINISHED:
        return PlannedRun(config, "reuse")
    if run.has_checkpoint():
        return PlannedRun(config, "resume")
    return PlannedRun(config, "restart")  # died before its first checkpoint: nothing to keep


def config_differences(saved: RunConfig, planned: RunConfig) -> str:
    """ "steps=100 (study: 200), ..." for every field that differs, ignoring NOT_COMPARED."""
    old, new = saved.to_dict(), planned.to_dict()
    keys = [k for k in new if k not in NOT_COMPARED and old.get(k) != new[k]]
    return ", ".join(f"{k}={old.get(k)!r} (study: {new[k]!r})" for k in keys)


def check_plugins(configs: list[RunConfig]) -> None:
    """Loads each distinct loss, arch and dataset once, and checks the arch fits the data, so a
    typo in the third loss does not surface after two runs have trained."""
    shapes: dict[str, tuple[int, ...]] = {}
    for c in configs:
        plugins.create("loss", c.loss, c.loss_options)
        arch, _ = plugins.create("arch", c.arch, c.arch_options)
        key = repr((c.data, c.data_options, c.image_size, c.data_root))
        if key not in shapes:
            dataset, _ = plugins.create("dataset", c.data, c.data_options)
            shapes[key] = dataset.load(c.image_size, c.data_root).shape
        arch.check(shapes[key])


# --- running ----------------------------------------------------------------------------------------
def evaluator() -> Callable[..., dict]:
    """The evaluation each finished run gets: `ganlab eval`'s. A seam that tests replace."""
    from ganlab.metrics.evaluate import evaluate_run

    return evaluate_run


def run_study(spec: StudySpec, hooks: StudyHooks | None = None) -> StudyResult:
    """Trains the runs that are missing, resumes the interrupted ones, evaluates what lacks metrics."""
    hooks = hooks or StudyHooks()
    planned = plan(spec)
    warnings: list[str] = []
    evaluate = evaluator() if spec.evaluate else None
    failures: dict[str, list[str]] = {}  # one warning per distinct evaluation error, naming its runs
    hooks.on_plan(planned)
    for item in planned:
        problem = execute(item, hooks.train_callbacks(item))
        if problem:
            warnings.append(problem)
        elif evaluate is not None and needs_eval(RunDir(item.path), spec):
            hooks.on_evaluate(item)
            try:
                evaluate(item.path, metrics=spec.metrics, n=spec.eval_n, **spec.eval_options)
            except Interrupted:
                raise
            except GanlabError as exc:
                failures.setdefault(str(exc), []).append(item.name)
        hooks.on_run_done(item)
    warnings += [f"could not evaluate {', '.join(names)}: {message}" for message, names in failures.items()]
    return StudyResult(spec.path, planned, warnings)


def execute(item: PlannedRun, callbacks: list[Callback]) -> str | None:
    """Brings one run to its planned steps; returns a warning when it diverged."""
    from ganlab.run import runner

    try:
        if item.action == "resume":
            runner.resume(item.path, {"steps": item.config.steps}, callbacks)
        elif item.action in ("train", "restart"):
            if item.action == "restart":
                with RunLock(item.path):  # it may not be dead but starting, in another process
                    shutil.rmtree(item.path)
            runner.start(item.config, callbacks)
    except Interrupted as exc:  # runner's own hint (`ganlab train --resume`) would skip the other runs
        step = RunDir(item.path).summary().get("step")
        raise Interrupted(
            f"study interrupted during {item.name} at step {step} (checkpoint saved); "
            "run the same command again to continue: finished runs are reused, this one "
            "resumes"
        ) from exc
    except DivergenceError as exc:
        return f"{item.name} diverged ({exc}); it is shown with status 'diverged'"
    return None


def needs_eval(run: RunDir, spec: StudySpec) -> bool:
    """True unless the run already holds every wanted metric at the asked n (and feature dims)."""
    summary = run.summary()
    if summary.get("status") != "complete":
        return False  # a diverged generator has nothing worth measuring
    have = summary.get("metrics") or {}
    if not have:
        return True
    wanted = spec.metrics or list(have)
    if any(m not in have for m in wanted):
        return True
    if spec.eval_n is not None and any(have[m].get("n") != spec.eval_n for m in wanted):
        return True
    dims = spec.eval_options.get("dims")
    return dims is not None and any(have[m].get("dims") not in (None, dims) for m in wanted)
