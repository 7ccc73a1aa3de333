"""Study mode of `ganlab compare`: plan a loss x arch x data x seed grid, then reuse, resume or
train each run under runs/<study>/ and evaluate it."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ganlab import plugins
from ganlab.comparison.executors import Execution, Reporter, make_executor
from ganlab.comparison.work import FAILED, RunOutcome, RunTask, needs_eval
from ganlab.config import RunConfig
from ganlab.errors import ConfigError, RunError
from ganlab.metrics.registry import parse_metric_names
from ganlab.run.rundir import RunDir

if TYPE_CHECKING:  # the trainer imports torch; planning a study does not need it
    from ganlab.run.trainer import Callback

# Where a planned run's folder already exists, compare ignores these when deciding "same run":
# the folder name is derived from the config, and the study may have been moved.
# fields that never change a run's weights (log_every, threads: issue 12; eval_n), so a run made with
# other values is still the run the study asks for
NOT_COMPARED = ("name", "runs_dir", "log_every", "threads", "eval_n")
FINISHED = ("complete", "diverged")  # retraining a diverged run would diverge again (same seed); "failed" is retried


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
    failures: list[RunOutcome] = field(default_factory=list)  # diverged or failed runs, reused ones included


class StudyHooks:
    """What a front end may show while a study runs, whatever the executor; the defaults show nothing."""

    def on_plan(self, planned: list[PlannedRun]) -> None: ...
    def train_callbacks(self, item: PlannedRun) -> list[Callback]:
        """Callbacks for a run trained in this process (sequential studies only)."""
        return []

    def on_run_start(self, item: PlannedRun, where: str) -> None: ...
    def on_run_progress(self, item: PlannedRun, step: int, total: int, stats: dict[str, float] | None) -> None:
        """A run in another process reached `step` (reported a few times a second)."""

    def on_evaluate(self, item: PlannedRun) -> None: ...
    def on_run_done(self, item: PlannedRun, outcome: RunOutcome) -> None: ...


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


# A config file's fields that a study decides itself: it names and places its runs and picks the seeds.
STUDY_DECIDES = ("seed", "name", "runs_dir")


def with_config_file(path: str | Path, given: dict[str, Any], overrides: dict[str, Any]) -> tuple[dict, dict]:
    """`ganlab compare --config FILE`: (StudySpec fields, run overrides) with the file under the
    flags. The file's loss, arch and data are the study's when --loss/--arch/--data are not given;
    its other settings reach every run, and flags override them (option tables key by key)."""
    from ganlab.config import load_toml, merge, resolve

    values = load_toml(path)
    resolve(values, {}, source=str(path))  # a bad value fails here, naming the file
    given = dict(given)
    for field_name, spec_field in (("loss", "losses"), ("arch", "archs"), ("data", "datas")):
        if field_name in values and spec_field not in given:
            given[spec_field] = [values[field_name]]
    rest = {k: v for k, v in values.items() if k not in (*STUDY_DECIDES, "loss", "arch", "data")}
    return given, merge(rest, overrides)


def run_name(config: RunConfig) -> str:
    return f"{config.loss}-{config.arch}-{config.data}-s{config.seed}"


# --- planning ---------------------------------------------------------------------------------------
def plan(spec: StudySpec) -> list[PlannedRun]:
    """Every run of the grid with what to do about it; a clash fails here, before any training."""
    _check_spec(spec)
    configs = []
    for loss, arch, data, seed in itertools.product(spec.losses, spec.archs, spec.datas, range(spec.seeds)):
        values = spec.overrides | dict(loss=loss, arch=arch, data=data, seed=seed, runs_dir=str(spec.path))
        if spec.eval_n is not None:  # --eval-n sizes the --eval-every evaluations too (issue 18)
            values.setdefault("eval_n", spec.eval_n)
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
    from ganlab.plugins import contract, guard  # contract imports torch; only a study needs it

    shapes: dict[str, tuple[int, ...]] = {}
    for c in configs:
        plugins.create("loss", c.loss, c.loss_options)
        arch, arch_spec = plugins.create("arch", c.arch, c.arch_options)
        key = repr((c.data, c.data_options, c.image_size, c.data_root))
        if key not in shapes:
            dataset, spec = plugins.create("dataset", c.data, c.data_options)
            owner = guard.Owner.of_spec(spec)
            shapes[key] = contract.load_data(dataset, owner, c.data, c.image_size, c.data_root).shape
        with guard.calling(guard.Owner.of_spec(arch_spec), "supports"):
            arch.check(shapes[key])


# --- running ----------------------------------------------------------------------------------------
def evaluator() -> Callable[..., dict]:
    """The evaluation each finished run gets: `ganlab eval`'s. A seam that tests replace (for
    runs evaluated in this process; worker processes and Ray tasks use evaluate_run itself)."""
    from ganlab.metrics.evaluate import evaluate_run

    return evaluate_run


def run_study(spec: StudySpec, hooks: StudyHooks | None = None, execution: Execution | None = None) -> StudyResult:
    """Trains the runs that are missing, resumes the interrupted ones, evaluates what lacks
    metrics, on the executor `execution` names (default: one after another in this process).
    A run that fails does not stop the others: it is in StudyResult.failures."""
    hooks = hooks or StudyHooks()
    execution = execution or Execution()
    execution.check()
    planned = plan(spec)
    tasks = [task_of(item, spec) for item in planned]
    todo = [t for t in tasks if t.action != "reuse" or (t.evaluate is not None and _wants_eval(t))]
    # nothing to train or evaluate: no worker is started and no Ray cluster joined
    executor = make_executor(execution if todo else Execution(), todo, evaluator() if spec.evaluate else None)
    hooks.on_plan(planned)
    outcomes = {o.name: o for o in executor.run(todo, _HookReporter(hooks, planned))}
    for task in tasks:
        outcomes.setdefault(task.name, _reused(task))
    ordered = [outcomes[t.name] for t in tasks]
    return StudyResult(spec.path, planned, _warnings(ordered), [o for o in ordered if o.failed])


def task_of(item: PlannedRun, spec: StudySpec) -> RunTask:
    wants = None
    if spec.evaluate:
        wants = {"metrics": spec.metrics, "n": spec.eval_n, **spec.eval_options}
    return RunTask(item.config.to_dict(), item.action, wants)


def _wants_eval(task: RunTask) -> bool:
    keywords = task.evaluate or {}
    return needs_eval(RunDir(task.path), keywords.get("metrics"), keywords.get("n"), keywords.get("dims"))


def _reused(task: RunTask) -> RunOutcome:
    summary = RunDir(task.path).summary()
    status = summary.get("status", "complete")
    return RunOutcome(task.name, status, summary.get("error") if status in FAILED else None)


def _warnings(outcomes: list[RunOutcome]) -> list[str]:
    """One warning per distinct evaluation error, naming its runs."""
    by_error: dict[str, list[str]] = {}
    for o in outcomes:
        if o.eval_error:
            by_error.setdefault(o.eval_error, []).append(o.name)
    return [f"could not evaluate {', '.join(names)}: {message}" for message, names in by_error.items()]


def failure_summary(failures: list[RunOutcome], total: int) -> str:
    """One line for the end of a study with failed runs (the CLI exits 1 with it)."""
    first = failures[0]
    more = f" (and {len(failures) - 1} more: {', '.join(o.name for o in failures[1:4])})" if len(failures) > 1 else ""
    return (
        f"{len(failures)} of {total} study runs failed: {first.name} {first.status}: {first.reason}{more}; "
        "the table shows every run; fix the cause and run the same command again (failed runs are retried, "
        "diverged ones are kept)"
    )


class _HookReporter(Reporter):
    """Executor reports -> the study's hooks, by planned run."""

    def __init__(self, hooks: StudyHooks, planned: list[PlannedRun]):
        self.hooks, self.items = hooks, {p.config.name: p for p in planned}

    def callbacks(self, name: str) -> list[Callback]:
        return self.hooks.train_callbacks(self.items[name])

    def started(self, name: str, where: str) -> None:
        self.hooks.on_run_start(self.items[name], where)

    def progress(self, name: str, step: int, total: int, stats: dict[str, float] | None) -> None:
        self.hooks.on_run_progress(self.items[name], step, total, stats)

    def evaluating(self, name: str) -> None:
        self.hooks.on_evaluate(self.items[name])

    def finished(self, outcome: RunOutcome) -> None:
        self.hooks.on_run_done(self.items[outcome.name], outcome)
