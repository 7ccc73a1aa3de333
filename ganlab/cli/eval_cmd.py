"""`ganlab eval RUN`: scores a run's generator and writes the numbers into its summary.json."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from ganlab.cli.app import app
from ganlab.cli.console import console
from ganlab.cli.options import EVAL, Dims, EvalBatch, EvalDevice, FidWeights, metrics_option
from ganlab.metrics.registry import DEFAULT_N

N_HELP = (
    f"Generated samples. (default: {DEFAULT_N['inception']} for FID/KID and the classifier metrics, "
    f"{DEFAULT_N['modes']} for the mode metrics, {DEFAULT_N['points']} per draw for energy_distance)"
)


@app.command("eval")
def eval_(
    run: Annotated[Path, typer.Argument(metavar="RUN", help="Run folder made by `ganlab train`.")],
    metrics: Annotated[Optional[list[str]], metrics_option()] = None,
    n: Annotated[Optional[int], typer.Option("--n", help=N_HELP)] = None,
    checkpoint: Annotated[str, typer.Option("--checkpoint", help="last, best or a checkpoint file.")] = "last",
    weights: Annotated[
        Optional[str],
        typer.Option(
            "--weights", help="ema or raw: the run's EMA generator or the trained one. (default: ema when kept)"
        ),
    ] = None,
    dims: Dims = EVAL.dims,
    fid_weights: FidWeights = None,
    batch_size: EvalBatch = EVAL.batch_size,
    device: EvalDevice = EVAL.device,
    kid_subsets: Annotated[
        int, typer.Option("--kid-subsets", help="KID: number of random subsets.")
    ] = EVAL.kid_subsets,
    kid_subset_size: Annotated[
        int, typer.Option("--kid-subset-size", help="KID: samples per subset (needs --n at least this).")
    ] = EVAL.kid_subset_size,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Record these numbers as the run's even when it holds ones of the same step from more samples.",
        ),
    ] = False,
) -> None:
    """Evaluate a run: FID/KID (pytorch-fid Inception), classifier metrics (digits, mnist, fashion-mnist),
    energy distance (every points dataset) and mode metrics (points sources that declare modes: ring,
    grid). Results go into the run's summary.json."""
    from ganlab.cli import ui
    from ganlab.errors import ResultsNotSaved
    from ganlab.metrics.evaluate import evaluate_run
    from ganlab.run import distributed

    try:
        with ui.make_progress(transient=True) as progress:
            results = evaluate_run(
                run,
                metrics,
                n=n,
                checkpoint=checkpoint,
                weights=weights,
                replace=replace,
                dims=dims,
                fid_weights=str(fid_weights) if fid_weights else None,
                batch_size=batch_size,
                device=device,
                kid_subsets=kid_subsets,
                kid_subset_size=kid_subset_size,
                progress=ui.ProgressReporter(progress),
            )
    except ResultsNotSaved as exc:  # computed, but summary.json could not take them: show, then fail
        _show(run, exc.results)
        raise
    if not distributed.from_env().is_main:  # under torchrun rank 0 reports
        return
    _show(run, results)
    console.print(f"written to   {run / 'summary.json'}")


def _show(run: Path, results: dict) -> None:
    from ganlab.cli import ui

    first = next(iter(results.values()))
    ui.print_table(
        console, ui.metrics_table(results, title=f"run {run.name} (step {first['step']}, {first['weights']} weights)")
    )
