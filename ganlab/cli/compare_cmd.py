"""`ganlab compare`: runs (or a study it trains first) -> one table of losses, speed and metrics."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from ganlab.cli.app import app, notice
from ganlab.cli.train_cmd import OPT_HELP, parse_options

SAME = "As for `ganlab train`."
STUDY_HELP = "Study mode (trains what is missing under RUNS_DIR/STUDY, then compares)"


@app.command()
def compare(
    runs: Optional[list[str]] = typer.Argument(
        None,
        metavar="RUN_OR_GLOB",
        help="Run folders or globs (e.g. 'runs/*'); a folder of runs counts as all of them.",
    ),
    sort: Optional[str] = typer.Option(
        None,
        "--sort",
        help="Sort rows best first by a metric (fid, fid_best, kid, ...) or by name, steps_per_s, wall_time_s.",
    ),
    fmt: str = typer.Option(
        "table", "--format", help="table (rich), json, csv or markdown; machine formats print nothing else on stdout."
    ),
    no_group: bool = typer.Option(
        False, "--no-group", help="One row per run instead of one row per config (mean ± std over seeds)."
    ),
    plot: Optional[Path] = typer.Option(
        None, "--plot", help="Write losses, D outputs and metrics against step to this PNG."
    ),
    grid: Optional[Path] = typer.Option(
        None, "--grid", help="Write the runs' final sample grids side by side to this PNG."
    ),
    loss: Optional[list[str]] = typer.Option(
        None, "--loss", help=f"{STUDY_HELP}: loss plugin, repeatable.", rich_help_panel="Study"
    ),
    arch: Optional[list[str]] = typer.Option(
        None, "--arch", help="Arch plugin, repeatable. [default: dcgan]", rich_help_panel="Study"
    ),
    data: Optional[list[str]] = typer.Option(
        None, "--data", help="Dataset plugin, repeatable. [default: digits]", rich_help_panel="Study"
    ),
    seeds: Optional[int] = typer.Option(
        None, "--seeds", help="Seeds 0..N-1 per config. [default: 1]", rich_help_panel="Study"
    ),
    study: Optional[str] = typer.Option(
        None, "--study", help="Study folder name under --runs-dir. [default: study]", rich_help_panel="Study"
    ),
    runs_dir: Optional[str] = typer.Option(
        None, "--runs-dir", help="Where the study folder goes. [default: runs]", rich_help_panel="Study"
    ),
    steps: Optional[int] = typer.Option(
        None, "--steps", help="Generator steps per run. [default: 1500]", rich_help_panel="Study"
    ),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help=SAME, rich_help_panel="Study"),
    latent_dim: Optional[int] = typer.Option(None, "--latent-dim", help=SAME, rich_help_panel="Study"),
    image_size: Optional[int] = typer.Option(None, "--image-size", help=SAME, rich_help_panel="Study"),
    lr_g: Optional[float] = typer.Option(None, "--lr-g", help=SAME, rich_help_panel="Study"),
    lr_d: Optional[float] = typer.Option(None, "--lr-d", help=SAME, rich_help_panel="Study"),
    d_steps: Optional[int] = typer.Option(None, "--d-steps", help=SAME, rich_help_panel="Study"),
    device: Optional[str] = typer.Option(None, "--device", help=SAME, rich_help_panel="Study"),
    data_root: Optional[str] = typer.Option(None, "--data-root", help=SAME, rich_help_panel="Study"),
    sample_every: Optional[int] = typer.Option(None, "--sample-every", help=SAME, rich_help_panel="Study"),
    checkpoint_every: Optional[int] = typer.Option(None, "--checkpoint-every", help=SAME, rich_help_panel="Study"),
    arch_opt: Optional[list[str]] = typer.Option(
        None, "--arch-opt", help=OPT_HELP.format("arch", "--arch-opt width=32"), rich_help_panel="Study"
    ),
    data_opt: Optional[list[str]] = typer.Option(
        None, "--data-opt", help=OPT_HELP.format("dataset", "--data-opt channels=1"), rich_help_panel="Study"
    ),
    loss_opt: Optional[list[str]] = typer.Option(
        None,
        "--loss-opt",
        help=OPT_HELP.format("loss (every loss of the study)", "--loss-opt a=-1"),
        rich_help_panel="Study",
    ),
    metrics: Optional[list[str]] = typer.Option(
        None,
        "--metrics",
        help="Metrics for the study's runs, comma-separated or repeated, as `ganlab eval --metrics`. (default: the best available offline for the data)",
        rich_help_panel="Study",
    ),
    eval_n: Optional[int] = typer.Option(
        None, "--eval-n", help="Generated samples per evaluation, as `ganlab eval --n`.", rich_help_panel="Study"
    ),
    eval_dims: Optional[int] = typer.Option(
        None,
        "--eval-dims",
        help="Inception feature block for FID/KID, as `ganlab eval --dims`.",
        rich_help_panel="Study",
    ),
    fid_weights: Optional[Path] = typer.Option(
        None,
        "--fid-weights",
        help="pytorch-fid's Inception weights file, as `ganlab eval --fid-weights`.",
        rich_help_panel="Study",
    ),
    eval_every: Optional[int] = typer.Option(
        None,
        "--eval-every",
        help="Also evaluate every N steps while training, for the best-value columns. " + SAME,
        rich_help_panel="Study",
    ),
    no_eval: bool = typer.Option(
        False, "--no-eval", help="Train the study without evaluating it.", rich_help_panel="Study"
    ),
) -> None:
    """Compare runs in one table: loss, arch, data, speed, metrics (mean ± std over seeds), D outputs.

    With --loss/--arch/--data/--seeds it runs a study first: trains the missing runs (identical configs are reused, interrupted ones resumed), evaluates them, then compares them."""
    from ganlab.cli import ui
    from ganlab.compare import rows as comparing
    from ganlab.compare.render import render, rich_table

    _check_outputs(fmt, plot, grid)
    overrides = dict(
        steps=steps,
        batch_size=batch_size,
        latent_dim=latent_dim,
        image_size=image_size,
        lr_g=lr_g,
        lr_d=lr_d,
        d_steps=d_steps,
        device=device,
        data_root=data_root,
        sample_every=sample_every,
        checkpoint_every=checkpoint_every,
        eval_every=eval_every,
        arch_options=parse_options(arch_opt, "--arch-opt"),
        data_options=parse_options(data_opt, "--data-opt"),
        loss_options=parse_options(loss_opt, "--loss-opt"),
    )
    study_flags = dict(
        loss=loss,
        arch=arch,
        data=data,
        seeds=seeds,
        study=study,
        runs_dir=runs_dir,
        metrics=metrics,
        eval_n=eval_n,
        eval_dims=eval_dims,
        fid_weights=fid_weights,
        no_eval=no_eval or None,
        **overrides,
    )
    if _study_mode(runs, study_flags):
        runs = _run_study(study_flags, overrides)
    comparison = comparing.compare(runs, group=not no_group, sort=sort)
    if fmt == "table":
        _print_table(ui.console, rich_table(comparison))
    else:
        sys.stdout.write(render(comparison, fmt))
        sys.stdout.flush()
    for warning in comparison.warnings:
        notice(warning)
    _pictures(comparison, plot, grid, fmt)


def _check_outputs(fmt: str, plot: Path | None, grid: Path | None) -> None:
    """Before any work, so a typo costs nothing."""
    from ganlab.compare.render import FORMATS
    from ganlab.errors import ConfigError

    if fmt not in FORMATS:
        raise ConfigError(f"unknown --format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if plot is not None or grid is not None:
        from ganlab.compare.plot import check_path

        for flag, path in (("--plot", plot), ("--grid", grid)):
            if path is not None:
                check_path(path, flag)


def _study_mode(runs: list[str] | None, study_flags: dict) -> bool:
    from ganlab.errors import ConfigError

    given = [k for k, v in study_flags.items() if v is not None]
    if given and runs:
        raise ConfigError(
            f"pass run folders or study flags, not both (got {runs[0]!r} and "
            f"--{given[0].replace('_', '-')}); compare the study's runs with "
            "`ganlab compare RUNS_DIR/STUDY` afterwards"
        )
    if not given and not runs:
        raise ConfigError(
            "nothing to compare; pass run folders or globs (e.g. 'runs/*'), or study flags "
            "such as --loss minimax --loss lsgan --seeds 3"
        )
    return bool(given)


def _run_study(flags: dict, overrides: dict) -> list[str]:
    from ganlab.cli import ui
    from ganlab.compare.render import StudyProgress
    from ganlab.compare.study import StudySpec, run_study
    from ganlab.config import RunConfig

    names = [m.strip() for value in flags["metrics"] or [] for m in value.split(",") if m.strip()]
    options = {"dims": flags["eval_dims"], "fid_weights": flags["fid_weights"] and str(flags["fid_weights"])}
    spec = StudySpec(
        losses=flags["loss"] or [RunConfig.loss],
        archs=flags["arch"] or [RunConfig.arch],
        datas=flags["data"] or [RunConfig.data],
        seeds=1 if flags["seeds"] is None else flags["seeds"],
        name=flags["study"] or "study",
        runs_dir=flags["runs_dir"] or "runs",
        overrides={k: v for k, v in overrides.items() if v is not None},
        evaluate=not flags["no_eval"],
        metrics=names or None,
        eval_n=flags["eval_n"],
        eval_options={k: v for k, v in options.items() if v is not None},
    )
    with ui.make_progress() as progress:
        result = run_study(spec, StudyProgress(progress))
    for warning in result.warnings:
        notice(warning)
    return [str(item.path) for item in result.runs]


def _print_table(console, table) -> None:
    """Off a terminal (a pipe, a file, a README) the table keeps its natural width instead of
    being squeezed into 80 columns; on a terminal rich fits it to the window."""
    if console.is_terminal:
        console.print(table)
        return
    from rich.console import Console
    from rich.measure import Measurement

    natural = Measurement.get(console, console.options.update_width(1000), table).maximum
    Console(width=max(console.width, natural), highlight=False).print(table)


def _pictures(comparison, plot: Path | None, grid: Path | None, fmt: str) -> None:
    from ganlab.compare import plot as compare_plot

    done = []
    if plot is not None:
        done.append(f"curves       {compare_plot.save_curves(comparison, plot)}")
    if grid is not None:
        done.append(f"sample grids {compare_plot.save_grid(comparison, grid)}")
    for line in done:  # on stderr when stdout carries JSON/CSV/markdown
        if fmt == "table":
            from ganlab.cli import ui

            ui.console.print(line)
        else:
            notice(line)
