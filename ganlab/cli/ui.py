"""Progress bars and tables for the terminal (rich): training, evaluation and study progress, the
train summary, the metrics and plugins tables."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from ganlab.cli.console import err_console
from ganlab.comparison.study import PlannedRun, StudyHooks
from ganlab.comparison.work import RunOutcome
from ganlab.losses.readout import CRITIC_KEYS, d_output_keys_in
from ganlab.run.callback import Callback

if TYPE_CHECKING:
    from ganlab.run.trainer import Trainer


class SpeedColumn(ProgressColumn):
    """Iterations per second, as rich measures them over its recent window."""

    def render(self, task) -> Text:
        return Text(f"{task.speed:6.1f} it/s" if task.speed else "   -- it/s", style="cyan")


class _Progress(Progress):
    """rich's Progress, minus the blank line it prints on stop when stderr is not a terminal and
    no bar ever ran, or the bars were transient (nothing was shown off a terminal): an error after
    the work (`eval` on a read-only run, a failure after the Inception spinner started) would
    otherwise not be the only line."""

    def stop(self) -> None:
        if self.tasks and (self.console.is_interactive or not self.live.transient):
            super().stop()
        else:
            self.live.stop()


WIDE = 120  # columns from which a bar shows everything; below it, columns are dropped to fit
PLAIN_EVERY_S = 10.0  # off a terminal (logs, CI): one plain line at most this often


def make_progress(transient: bool = False, console: Console | None = None) -> Progress:
    """A progress display whose columns fit the terminal: at 80 columns the bar shrinks and the
    elapsed time goes, so nothing is cut or wrapped."""
    console = console or err_console
    wide = console.width >= WIDE
    columns: list[Any] = [TextColumn("[bold]{task.description}"), BarColumn(bar_width=None if wide else 12)]
    columns += [MofNCompleteColumn(), SpeedColumn()]
    columns += [TimeElapsedColumn(), TextColumn("eta")] if wide else []
    columns += [TimeRemainingColumn(), TextColumn("{task.fields[info]}")]
    return _Progress(*columns, console=console, transient=transient)


def step_info(stats: dict[str, float], compact: bool = False) -> str:
    """The live numbers beside a training bar; `compact` for narrow terminals. D's mean outputs are
    D(x)/D(G(z)) for a loss whose D gives probabilities, C(x)/C(G(z)) (raw scores) for a critic."""
    losses = (
        f"D {stats['d_loss']:.2f} G {stats['g_loss']:.2f}"
        if compact
        else (f"D {stats['d_loss']:.3f}  G {stats['g_loss']:.3f}")
    )
    keys = d_output_keys_in(stats)
    if keys is None:
        return losses
    (real_key, real_label), (fake_key, fake_label) = keys
    if compact:
        return f"{losses} {fake_label} {stats[fake_key]:.2f}"
    return f"{losses}  {real_label} {stats[real_key]:.2f}  {fake_label} {stats[fake_key]:.2f}"


class TrainProgress(Callback):
    """A progress bar over generator steps with live losses and D outputs. The bar appears
    when training starts, so a config error before that prints nothing but the error. Off a
    terminal (a log file, CI) a bar cannot redraw, so it prints a plain line at most every
    PLAIN_EVERY_S seconds instead, and nothing at all for a run shorter than that."""

    def __init__(self, description: str = "train", console: Console | None = None):
        self.console = console or err_console
        self.plain = not self.console.is_terminal
        self.progress, self.description = make_progress(console=self.console), description
        self.task: TaskID | None = None
        self.compact = self.console.width < WIDE
        self.started = self.last_line = 0.0
        self.first_step = self.total = 0

    def on_start(self, trainer: Trainer) -> None:
        self.total, self.first_step = trainer.config.steps, trainer.step
        self.started = self.last_line = time.monotonic()
        if self.plain:
            return
        self.progress.start()
        self.task = self.progress.add_task(
            self.description, total=trainer.config.steps, completed=trainer.step, info=""
        )

    def on_log(self, trainer: Trainer, stats: dict[str, float]) -> None:
        if self.plain:
            if time.monotonic() - self.last_line >= PLAIN_EVERY_S:
                self.console.print(self.plain_line(trainer.step, stats), soft_wrap=True, highlight=False)
                self.last_line = time.monotonic()
            return
        assert self.task is not None, "on_start adds the task"
        self.progress.update(self.task, completed=trainer.step, info=step_info(stats, self.compact))

    def plain_line(self, step: int, stats: dict[str, float]) -> str:
        elapsed = time.monotonic() - self.started
        rate = (step - self.first_step) / elapsed if elapsed > 0 else 0.0
        eta = f"{(self.total - step) / rate:.0f} s" if rate > 0 else "?"
        return f"{self.description} step {step}/{self.total}  {rate:.1f} it/s  eta {eta}  {step_info(stats)}"

    def close(self) -> None:
        if not self.plain:
            self.progress.stop()


def print_table(console: Any, table: Table) -> None:
    """Off a terminal (a pipe, a file, a README) a table keeps its natural width instead of
    being squeezed into 80 columns; on a terminal rich fits it to the window."""
    if console.is_terminal:
        console.print(table)
        return
    from rich.console import Console
    from rich.measure import Measurement

    natural = Measurement.get(console, console.options.update_width(1000), table).maximum
    Console(width=max(console.width, natural), highlight=False, file=console.file).print(table)


def plugins_table(rows: list[Any]) -> Table:
    table = Table(title="ganlab plugins")
    for column in ("kind", "name", "distribution", "target", "status"):
        table.add_column(column, overflow="fold")
    for row in rows:
        ok = row.status == "ok"
        table.add_row(
            row.spec.kind,
            row.spec.name,
            row.spec.origin,
            row.spec.target,
            Text(row.status, style="green" if ok else "red"),
        )
    return table


def train_summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title=f"run {summary['name']}", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    final = summary.get("final_mean_last_100", {})
    table.add_row("steps", f"{summary['step']}  ({summary['steps_per_s']} steps/s on {summary['device']})")
    table.add_row("wall time", f"{summary['wall_time_s']:.1f} s")
    if final:
        table.add_row("D loss / G loss", f"{final['d_loss']:.4f} / {final['g_loss']:.4f}  (mean of last 100 steps)")
        keys = d_output_keys_in(final)
        if keys is not None:
            (real_key, real_label), (fake_key, fake_label) = keys
            values = f"{final[real_key]:.3f} / {final[fake_key]:.3f}"
            if keys == CRITIC_KEYS:  # Loss.d_is_probability = False: D is a critic
                values += "  (mean critic scores, not probabilities)"
            elif not summary.get("d_is_probability", True):  # a critic run from before critic_* keys
                real_label, fake_label = "sigmoid of C(x)", "sigmoid of C(G(z))"
                values += "  (not probabilities)"
            table.add_row(f"{real_label} / {fake_label}", values)
        if "penalty" in final:
            table.add_row("D penalty", f"{final['penalty']:.4f}  (D minimised D loss + penalty)")
    for name, row in evaluated_rows(summary):
        table.add_row(name, row)
    if summary.get("weights") == "ema":
        decay = summary.get("config", {}).get("ema_decay")
        table.add_row("samples from", f"EMA generator (decay {decay}); `--weights raw` for the trained one")
    return table


def evaluated_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """What `--eval-every` measured: each metric's last value with its step and direction, and its
    best value when an earlier evaluation beat the last one."""
    from ganlab.metrics.registry import METRICS

    latest, best = summary.get("metrics") or {}, summary.get("metrics_best") or {}
    rows = []
    for name in [m for m in METRICS if m in latest]:  # the registry's order, as every table
        entry = latest[name]
        rows.append(
            (
                name,
                f"{entry['value']:.4g} at step {entry['step']} (n {entry.get('n')}; {METRICS[name].better} is better)",
            )
        )
        top = best.get(name)
        if top and top["value"] != entry["value"]:
            rows.append((f"{name} best", f"{top['value']:.4g} at step {top['step']}"))
    return rows


class ProgressReporter:
    """Feeds evaluation progress ("what", done, total) into rich bars, one bar per "what"; a total
    of 0 means no known length (loading the Inception network): a pulsing bar until it is done."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, what: str, done: int, total: int) -> None:
        if what not in self.tasks:
            self.tasks[what] = self.progress.add_task(what, total=total or None, info="")
        self.progress.update(self.tasks[what], completed=done, total=total or None)


def metrics_table(results: dict[str, dict[str, Any]], title: str = "metrics") -> Table:
    """One row per metric: value (± std), which way is better, sample counts and the feature net."""
    table = Table(title=title)
    for column in ("metric", "value", "better", "n (gen / real)", "dims", "features"):
        table.add_column(column, overflow="fold")
    for name, r in results.items():
        value = f"{r['value']:.4g}" + (f" ± {r['std']:.2g}" if r.get("std") is not None else "")
        counts = f"{r['n']}" + (f" / {r['n_real']}" if r.get("n_real") is not None else "")
        table.add_row(
            name, value, r["better"], counts, "-" if r.get("dims") is None else str(r["dims"]), r["feature_net"]
        )
    return table


# --- study progress ----------------------------------------------------------------------------------
class RunBar(Callback):
    """The bar of a run trained in this process, on the study's display (live losses, D outputs)."""

    def __init__(self, study: StudyProgress, name: str):
        self.study, self.name = study, name

    def on_start(self, trainer: Trainer) -> None:
        self.study.bar(self.name, trainer.config.steps, trainer.step, "")

    def on_log(self, trainer: Trainer, stats: dict[str, float]) -> None:
        self.study.bar(self.name, trainer.config.steps, trainer.step, step_info(stats))


class StudyProgress(StudyHooks):
    """One overall bar (runs done / total; running and failed runs by name) and one bar per run
    in training, fed by callbacks in this process or by progress reports from workers."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.study_task: TaskID | None = None
        self.bars: dict[str, TaskID] = {}  # run name -> its bar's task id
        self.running: list[str] = []
        self.failed: list[str] = []
        self.reused = 0

    def on_plan(self, planned: list[PlannedRun]) -> None:
        self.reused = sum(p.action == "reuse" for p in planned)
        self.study_task = self.progress.add_task("study", total=len(planned), completed=self.reused, info="")
        self._info()

    def train_callbacks(self, item: PlannedRun) -> list[Callback]:
        return [] if item.action == "reuse" else [RunBar(self, item.name)]

    def on_run_start(self, item: PlannedRun, where: str) -> None:
        self.running.append(item.name)
        self._info()

    def on_run_progress(self, item: PlannedRun, step: int, total: int, stats: dict[str, float] | None) -> None:
        self.bar(item.name, total, step, step_info(stats) if stats else "")

    def bar(self, name: str, total: int, step: int, info: str) -> None:
        if name not in self.bars:
            self.bars[name] = self.progress.add_task(name, total=total, completed=step, info=info)
        else:
            self.progress.update(self.bars[name], completed=step, info=info)

    def on_evaluate(self, item: PlannedRun) -> None:
        name = item.name
        if name in self.bars:
            self.progress.update(self.bars[name], info="evaluating")

    def on_run_done(self, item: PlannedRun, outcome: RunOutcome) -> None:
        name = item.name
        if name in self.bars:
            self.progress.remove_task(self.bars.pop(name))
        if name in self.running:
            self.running.remove(name)
        if outcome.failed:
            self.failed.append(f"{name} {outcome.status}")
        if item.action != "reuse" and outcome.status != "interrupted" and self.study_task is not None:
            self.progress.update(self.study_task, advance=1)  # reused runs were counted at planning
        self._info()

    def _info(self) -> None:
        parts = [f"{self.reused} reused"] if self.reused else []
        if self.running:
            shown = ", ".join(self.running[:3]) + (" ..." if len(self.running) > 3 else "")
            parts.append(f"{len(self.running)} running: {shown}")
        if self.failed:
            parts.append(f"[red]{len(self.failed)} failed: {', '.join(self.failed[:3])}[/red]")
        if self.study_task is not None:
            self.progress.update(self.study_task, info="; ".join(parts))
