"""`ganlab compare`: runs (or a study it trains first) -> one table of losses, speed and metrics."""

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ganlab.cli import options as o
from ganlab.cli.app import app, notice
from ganlab.cli.console import console
from ganlab.cli.options import EVAL, STUDY_PANEL, WEIGHTS_HELP, metrics_option, run_overrides
from ganlab.comparison.executors import Execution
from ganlab.comparison.study import StudySpec
from ganlab.config import flag_name

SPEC = StudySpec()
EXECUTION = Execution()
STUDY_HELP = "Study mode (trains what is missing under RUNS_DIR/STUDY, then compares)"


def _study(flag: str, help: str) -> Any:
    return typer.Option(flag, help=help, rich_help_panel=STUDY_PANEL)


@app.command()
def compare(
    runs: Annotated[
        Optional[list[str]],
        typer.Argument(
            metavar="RUN_OR_GLOB",
            help="Run folders or globs (e.g. 'runs/*'); a folder of runs counts as all of them.",
        ),
    ] = None,
    sort: Annotated[
        Optional[str],
        typer.Option(
            "--sort",
            help="Sort rows best first by a metric (fid, fid_best, kid, ...) or by name, steps_per_s, wall_time_s.",
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="table (rich), json, csv or markdown; machine formats print nothing else on stdout."
        ),
    ] = "table",
    no_group: Annotated[
        bool, typer.Option("--no-group", help="One row per run instead of one row per config (mean ± std over seeds).")
    ] = False,
    plot: Annotated[
        Optional[Path], typer.Option("--plot", help="Write losses, D outputs and metrics against step to this PNG.")
    ] = None,
    grid: Annotated[
        Optional[Path], typer.Option("--grid", help="Write the runs' final sample grids side by side to this PNG.")
    ] = None,
    loss: Annotated[
        Optional[list[str]], _study("--loss", f"{STUDY_HELP}: loss plugin, repeatable. (default: {SPEC.losses[0]})")
    ] = None,
    arch: Annotated[
        Optional[list[str]], _study("--arch", f"Arch plugin, repeatable. (default: {SPEC.archs[0]})")
    ] = None,
    data: Annotated[
        Optional[list[str]], _study("--data", f"Dataset plugin, repeatable. (default: {SPEC.datas[0]})")
    ] = None,
    seeds: Annotated[Optional[int], _study("--seeds", f"Seeds 0..N-1 per config. (default: {SPEC.seeds})")] = None,
    study: Annotated[
        Optional[str], _study("--study", f"Study folder name under --runs-dir. (default: {SPEC.name})")
    ] = None,
    runs_dir: Annotated[
        Optional[str], _study("--runs-dir", f"Where the study folder goes. (default: {SPEC.runs_dir})")
    ] = None,
    steps: o.StudySteps = None,
    batch_size: o.StudyBatchSize = None,
    pack: o.StudyPack = None,
    latent_dim: o.StudyLatentDim = None,
    image_size: o.StudyImageSize = None,
    lr_g: o.StudyLrG = None,
    lr_d: o.StudyLrD = None,
    lr_schedule: o.StudyLrSchedule = None,
    beta1: o.StudyBeta1 = None,
    beta2: o.StudyBeta2 = None,
    ema_decay: o.StudyEmaDecay = None,
    d_steps: o.StudyDSteps = None,
    device: o.StudyDevice = None,
    data_root: o.StudyDataRoot = None,
    sample_every: o.StudySampleEvery = None,
    checkpoint_every: o.StudyCheckpointEvery = None,
    eval_every: o.StudyEvalEvery = None,
    log_every: o.StudyLogEvery = None,
    precision: o.StudyPrecision = None,
    channels_last: o.StudyChannelsLast = None,
    compile: o.StudyCompile = None,
    deterministic: o.StudyDeterministic = None,
    threads: o.StudyThreads = None,
    arch_opt: o.StudyArchOpt = None,
    data_opt: o.StudyDataOpt = None,
    loss_opt: o.StudyLossOpt = None,
    config: Annotated[
        Optional[Path],
        _study(
            "--config",
            "TOML run config (as `ganlab train --config`) for every run: its loss, arch and data unless --loss/--arch/--data are given; flags override it.",
        ),
    ] = None,
    metrics: Annotated[Optional[list[str]], metrics_option(STUDY_PANEL)] = None,
    eval_n: Annotated[
        Optional[int],
        _study("--eval-n", "Generated samples per evaluation, as `ganlab eval --n`. (default: the metric's)"),
    ] = None,
    eval_dims: Annotated[
        Optional[int],
        _study("--eval-dims", f"Inception feature block for FID/KID, as `ganlab eval --dims`. (default: {EVAL.dims})"),
    ] = None,
    fid_weights: Annotated[Optional[Path], _study("--fid-weights", WEIGHTS_HELP)] = None,
    no_eval: Annotated[bool, _study("--no-eval", "Train the study without evaluating it.")] = False,
    workers: Annotated[
        int,
        _study(
            "--workers",
            "Runs at once on this machine: worker processes (with --executor ray: CPUs of the local Ray cluster it starts); 1 trains them in turn here.",
        ),
    ] = EXECUTION.workers,
    executor: Annotated[
        str,
        _study(
            "--executor",
            "local (processes on this machine) or ray (tasks on a Ray cluster; pip install 'ganlab\\[ray]').",
        ),
    ] = EXECUTION.executor,
    ray_address: Annotated[
        Optional[str],
        _study("--ray-address", "auto, HOST:PORT or ray://HOST:PORT of a Ray cluster. (default: start a local one)"),
    ] = None,
    shared_fs: Annotated[
        bool,
        _study(
            "--shared-fs",
            "Ray workers see --runs-dir at the same path: write runs in place instead of shipping them back.",
        ),
    ] = False,
) -> None:
    """Compare runs in one table: loss, arch, data, speed, metrics (mean ± std over seeds), D outputs.

    With --loss/--arch/--data/--seeds it runs a study first: trains the missing runs (identical configs are reused, interrupted ones resumed), evaluates them, then compares them."""
    from ganlab.comparison import rows as comparing
    from ganlab.comparison.render import render
    from ganlab.comparison.study import is_study

    _check_outputs(fmt, plot, grid)
    values = dict(locals())
    overrides = {k: v for k, v in run_overrides(values).items() if v is not None}
    study_values: dict[str, Any] = dict(
        losses=loss,
        archs=arch,
        datas=data,
        seeds=seeds,
        name=study,
        runs_dir=runs_dir,
        eval_n=eval_n,
        metrics=[m.strip() for value in metrics or [] for m in value.split(",") if m.strip()] or None,
        evaluate=False if no_eval else None,
        eval_options={
            k: v for k, v in (("dims", eval_dims), ("fid_weights", fid_weights and str(fid_weights))) if v is not None
        }
        or None,
    )
    given = {k: v for k, v in study_values.items() if v is not None}
    flags = [FLAG_OF.get(k, "--" + k.replace("_", "-")) for k in given] + [flag_name(k) for k in overrides]
    if config is not None:
        from ganlab.comparison.study import with_config_file

        flags.append("--config")
        given, overrides = with_config_file(config, given, overrides)
    execution = Execution(executor, workers, threads, ray_address, shared_fs)
    execution.check()  # a bad --workers is an error even without study flags
    failed = None
    if is_study(runs, flags):
        runs, failed = _run_study(StudySpec(**given, overrides=overrides), execution)
    comparison = comparing.compare(runs or [], group=not no_group, sort=sort)
    if fmt == "table":
        _print_table(console, comparison)
    else:
        sys.stdout.write(render(comparison, fmt))
        sys.stdout.flush()
    for warning in comparison.warnings:
        notice(warning)
    _pictures(comparison, plot, grid, fmt)
    if failed:
        from ganlab.errors import RunError

        raise RunError(failed)  # after the table: the failed runs are in it, with their reasons


# StudySpec fields -> the flag that sets them, for messages (RunConfig fields: config.flag_name)
FLAG_OF = {
    "losses": "--loss",
    "archs": "--arch",
    "datas": "--data",
    "name": "--study",
    "evaluate": "--no-eval",
    "eval_options": "--eval-dims",
}


def _check_outputs(fmt: str, plot: Path | None, grid: Path | None) -> None:
    """Before any work, so a typo costs nothing."""
    from ganlab.comparison.render import FORMATS
    from ganlab.errors import ConfigError

    if fmt not in FORMATS:
        raise ConfigError(f"unknown --format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if plot is not None or grid is not None:
        from ganlab.comparison.plot import check_path

        for flag, path in (("--plot", plot), ("--grid", grid)):
            if path is not None:
                check_path(path, flag)


def _run_study(spec: StudySpec, execution: Execution) -> tuple[list[str], str | None]:
    """The study's run folders, and the one-line summary of its failed runs (None: none failed)."""
    from ganlab.cli import ui
    from ganlab.comparison.study import failure_summary, run_study

    with ui.make_progress() as progress:
        result = run_study(spec, ui.StudyProgress(progress), execution)
    for warning in result.warnings:
        notice(warning)
    failed = failure_summary(result.failures, len(result.runs)) if result.failures else None
    return [str(item.path) for item in result.runs], failed


# Text columns that move into the title when every row has the same value (a study of losses on one
# arch and dataset need not repeat "dcgan" and "digits 16px" on every row).
FOLDABLE = ("loss", "arch", "data", "seeds", "steps", "status")


def table_cells(c) -> tuple[str, list[tuple[str, list[tuple[str, bool]]]]]:
    """(title, [(header, cells of each row)]): the comparison's columns with constant ones folded
    into the title."""
    from ganlab.comparison.render import columns, setting_notes

    n_runs = sum(len(g) for g in c.groups)
    title = f"ganlab compare: {n_runs} runs in {len(c.rows)} rows"
    kept, folded = [], []
    for header, getter in columns(c, setting_notes(c)):
        cells = [getter(row) for row in c.rows]
        if header in FOLDABLE and len(c.rows) > 1 and len({text for text, _ in cells}) == 1:
            folded.append(f"{header} {cells[0][0]}")
        else:
            kept.append((header, cells))
    return (title + (" · " + " · ".join(folded) if folded else "")), kept


def rich_table(c, width: int | None = None) -> Any:
    """The comparison for a terminal `width` columns wide (None: any width): one row per config
    when that fits, else metrics as rows and configs as columns, else one block per config.
    Numbers ("mean ± std") never wrap; names may."""
    from ganlab.comparison.render import has_critic, legend, setting_notes

    title, cols = table_cells(c)
    caption = legend(setting_notes(c), has_critic(c))
    wide = _wide_table(title, caption, cols)
    if width is None or _natural_width(wide) <= width:
        return wide
    tall = _tall_table(title, caption, cols)
    if _natural_width(tall) <= width:
        return tall
    return _blocks(title, caption, cols)


def _cell(text: str, best: bool) -> Text:
    from ganlab.comparison.render import BEST_STYLE

    return Text(text, style=BEST_STYLE if best else "")


def _wide_table(title: str, caption: str, cols: list) -> Table:
    from ganlab.comparison.render import TEXT_COLUMNS

    table = Table(title=title, caption=caption)
    for header, _ in cols:
        text = header in TEXT_COLUMNS
        table.add_column(header, justify="left" if text else "right", no_wrap=not text, overflow="fold")
    for i in range(len(cols[0][1])):
        table.add_row(*[_cell(*cells[i]) for _, cells in cols])
    return table


def _tall_table(title: str, caption: str, cols: list) -> Table:
    """Transposed: one column per config, headed by its name; one row per quantity."""
    (_, names), rest = cols[0], cols[1:]
    table = Table(title=title, caption=caption)
    table.add_column("", style="bold", no_wrap=True)
    for name, _ in names:
        table.add_column(name, justify="right", overflow="fold")
    for header, cells in rest:
        table.add_row(header, *[_cell(*cell) for cell in cells])
    return table


def _blocks(title: str, caption: str, cols: list) -> Group:
    """One small key/value table per config, stacked: fits any terminal."""
    (_, names), rest = cols[0], cols[1:]
    blocks: list[Any] = [Text(title, style="italic", justify="center")]
    for i, (name, _) in enumerate(names):
        block = Table(title=name, show_header=False, title_justify="left", title_style="bold")
        block.add_column("", style="bold", no_wrap=True)
        block.add_column("", overflow="fold")
        for header, cells in rest:
            block.add_row(header, _cell(*cells[i]))
        blocks.append(block)
    blocks.append(Text(caption, style="dim"))
    return Group(*blocks)


def _natural_width(renderable: Any) -> int:
    from rich.console import Console
    from rich.measure import Measurement

    console = Console(width=10_000)
    return Measurement.get(console, console.options, renderable).maximum


def _print_table(console, comparison) -> None:
    """On a terminal the table is laid out for the window; off a terminal (a pipe, a file, a README)
    it keeps its natural width instead of being squeezed into 80 columns."""
    if console.is_terminal:
        console.print(rich_table(comparison, console.width))
        return
    from rich.console import Console

    table = rich_table(comparison)
    Console(width=max(console.width, _natural_width(table)), highlight=False).print(table)


def _pictures(comparison, plot: Path | None, grid: Path | None, fmt: str) -> None:
    from ganlab.comparison import plot as compare_plot

    done = []
    if plot is not None:
        done.append(f"curves       {compare_plot.save_curves(comparison, plot)}")
    if grid is not None:
        done.append(f"sample grids {compare_plot.save_grid(comparison, grid)}")
    for line in done:  # on stderr when stdout carries JSON/CSV/markdown
        if fmt == "table":
            console.print(line)
        else:
            notice(line)
