"""`ganlab theory`: the GAN theorems as numerical experiments; a table (or JSON), plots, exit 1 on a failed claim."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Optional

import typer

from ganlab.cli.app import app
from ganlab.errors import ConfigError
from ganlab.theory import CLAIMS, LOSS_CLAIMS

FORMATS = ("table", "json")


@app.command()
def theory(
    claims: Optional[list[str]] = typer.Argument(
        None, metavar="CLAIM", help=f"Claims to run, in any order: {', '.join(CLAIMS)}. (default: all)"
    ),
    quick: bool = typer.Option(
        False, "--quick", help="Fewer steps and samples: every claim in about 30 s on 2 CPU cores (what the tests run)."
    ),
    fmt: str = typer.Option(
        "table", "--format", help='table (rich) or json ({"claims": [...]}, nothing else on stdout).'
    ),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the plots. (default: runs/theory-<time>)"),
    seed: int = typer.Option(0, "--seed", help="Seed of every weight init and every draw; same seed, same numbers."),
    loss: Optional[str] = typer.Option(
        None,
        "--loss",
        help=f"A loss plugin for the claims {' and '.join(LOSS_CLAIMS)}: dstar trains D with it (D losses "
        "equal to -V only: minimax, nonsaturating); saturation compares its generator gradient with "
        "minimax's (any loss). Without CLAIM, runs the claims the loss applies to. "
        "(default: minimax for dstar, nonsaturating for saturation)",
    ),
) -> None:
    """Measure the theory GANs rest on, on densities known in closed form: the optimal D, V(D*, G) =
    -log 4 + 2 JSD, LSGAN's Pearson chi^2, saturation of the minimax G loss, convergence of
    Algorithm 1, and mode coverage on the ring. Exits 1 when a claim fails."""
    from ganlab.theory.runner import plan
    from ganlab.theory.settings import Settings

    if fmt not in FORMATS:
        raise ConfigError(f"unknown --format {fmt!r}; choose table or json")
    out = out if out is not None else Path("runs") / f"theory-{time.strftime('%Y%m%d-%H%M%S')}"
    settings = Settings(quick=quick, seed=seed, loss=loss, out=out)
    chosen = plan(claims or [], settings)  # every bad input fails here, before a progress bar or a folder
    results = _run(chosen, settings)
    if fmt == "json":
        sys.stdout.write(json.dumps({"claims": [r.to_dict() for r in results]}, indent=2) + "\n")
    else:
        _print_table(results, settings)
    if not all(r.passed for r in results):
        raise typer.Exit(1)


def _run(ids: list[str], settings) -> list:
    from ganlab.cli import ui
    from ganlab.theory.runner import run_claims

    with ui.make_progress(transient=True) as progress:
        task = progress.add_task("theory", total=len(ids), info="")
        count = {"n": 0}

        def on_start(claim: str) -> None:
            progress.update(task, completed=count["n"], info=claim)
            count["n"] += 1

        results = run_claims(ids, settings, on_start=on_start)
        progress.update(task, completed=len(ids), info="")
    return results


def _number(value: float) -> str:
    return f"{value:.4g}" if value == value else "nan"


def _expected(check) -> tuple[str, str]:
    """(expected, tolerance) as the table shows them."""
    e, t = check.expected, check.tolerance
    if check.relation == "at_least":
        return f"≥ {_number(e - t)}", _number(t)
    if check.relation == "at_most":
        return f"≤ {_number(e + t)}", _number(t)
    return _number(e), f"± {_number(t)}"


def _print_table(results: list, settings) -> None:
    from rich.table import Table

    from ganlab.cli.console import console

    table = Table(title="ganlab theory" + (" (--quick)" if settings.quick else ""), show_lines=True)
    for column in ("claim", "statement", "measured", "expected", "tolerance", "pass"):
        table.add_column(column, justify="right" if column in ("measured", "expected", "tolerance") else "left")
    for r in results:
        for i, check in enumerate(r.checks):
            what = r.statement + f"\n[dim]measured: {check.name}[/]" if i == 0 else f"[dim]{check.name}[/]"
            verdict = "[green]pass[/]" if check.passed else "[bold red]FAIL[/]"
            table.add_row(r.id if i == 0 else "", what, _number(check.measured), *_expected(check), verdict)
    console.print(table)
    for r in results:
        for name, rows in r.tables.items():
            console.print(_rows_table(f"{r.id}: {name.replace('_', ' ')}", rows))
    passed = sum(r.passed for r in results)
    console.print(f"{passed} of {len(results)} claims passed; plots in {settings.out}")


def _rows_table(title: str, rows: list[dict[str, Any]]):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for key in rows[0]:
        table.add_column(key, justify="right")
    for row in rows:
        table.add_row(*(_number(v) if isinstance(v, float) else str(v) for v in row.values()))
    return table
