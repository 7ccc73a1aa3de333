"""`ganlab eval RUN`: scores a run's generator and writes the numbers into its summary.json."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ganlab.cli.app import app

WEIGHTS_HELP = (
    "pytorch-fid's pt_inception-2015-12-05-6726825d.pth. [default: $GANLAB_FID_WEIGHTS, then the "
    "torch hub cache ($TORCH_HOME/hub/checkpoints), downloaded there when online]"
)


@app.command("eval")
def eval_(
    run: Path = typer.Argument(..., help="Run folder made by `ganlab train`."),
    metrics: Optional[list[str]] = typer.Option(
        None,
        "--metrics",
        help="Comma-separated or repeated: fid, kid, classifier_fd, classes_covered, class_kl, modes_covered, high_quality_pct, mode_kl. [default: the best available for the dataset]",
    ),
    n: Optional[int] = typer.Option(
        None, "--n", help="Generated samples. [default: 5000 for images, 2500 for ring/grid]"
    ),
    checkpoint: str = typer.Option("last", "--checkpoint", help="last, best or a checkpoint file."),
    dims: int = typer.Option(2048, "--dims", help="Inception feature block for FID/KID: 64, 192, 768 or 2048 (pool3)."),
    fid_weights: Optional[Path] = typer.Option(None, "--fid-weights", help=WEIGHTS_HELP),
    batch_size: int = typer.Option(50, "--batch-size", help="Images per Inception forward pass."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    kid_subsets: int = typer.Option(100, "--kid-subsets", help="KID: number of random subsets."),
    kid_subset_size: int = typer.Option(
        1000, "--kid-subset-size", help="KID: samples per subset (needs --n at least this)."
    ),
) -> None:
    """Evaluate a run: FID/KID (pytorch-fid Inception), classifier metrics (digits, mnist, fashion-mnist)
    or mode metrics (ring, grid). Results go into the run's summary.json."""
    from ganlab.cli import ui
    from ganlab.metrics.evaluate import evaluate_run

    with ui.make_progress(transient=True) as progress:
        results = evaluate_run(
            run,
            metrics,
            n=n,
            checkpoint=checkpoint,
            dims=dims,
            fid_weights=str(fid_weights) if fid_weights else None,
            batch_size=batch_size,
            device=device,
            kid_subsets=kid_subsets,
            kid_subset_size=kid_subset_size,
            progress=ui.ProgressReporter(progress),
        )
    ui.console.print(ui.metrics_table(results, title=f"run {run.name} (step {next(iter(results.values()))['step']})"))
    ui.console.print(f"written to   {run / 'summary.json'}")
