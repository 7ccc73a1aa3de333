"""`ganlab fid A B`: FID between image folders, .npz statistics, run directories and datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ganlab.cli.app import app
from ganlab.cli.eval_cmd import WEIGHTS_HELP


@app.command("fid")
def fid_(
    a: str = typer.Argument(..., help="Image folder, .npz statistics, run folder or dataset name."),
    b: str = typer.Argument(..., help="The same kinds as A; with --save-stats, the .npz file to write."),
    n: Optional[int] = typer.Option(
        None, "--n", help="Samples drawn from a run's generator / images taken from a dataset. [default: 5000 / all]"
    ),
    dims: int = typer.Option(2048, "--dims", help="Inception feature block: 64, 192, 768 or 2048 (pool3)."),
    fid_weights: Optional[Path] = typer.Option(None, "--fid-weights", help=WEIGHTS_HELP),
    save_stats: bool = typer.Option(
        False, "--save-stats", help="Write A's statistics to B as pytorch-fid's .npz (mu, sigma)."
    ),
    image_size: Optional[int] = typer.Option(
        None, "--image-size", help="Image size for a dataset name. [default: the dataset's]"
    ),
    batch_size: int = typer.Option(50, "--batch-size", help="Images per Inception forward pass."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
) -> None:
    """Fréchet Inception Distance between two image sources; the same number as `python -m pytorch_fid`
    on two folders."""
    from ganlab.cli import ui
    from ganlab.metrics.evaluate import EvalOptions
    from ganlab.metrics.fid_sources import fid_between
    from ganlab.metrics.fid_sources import save_stats as write_stats

    with ui.make_progress(transient=True) as progress:
        options = EvalOptions(
            n=n,
            dims=dims,
            fid_weights=str(fid_weights) if fid_weights else None,
            batch_size=batch_size,
            device=device,
            progress=ui.ProgressReporter(progress),
        )
        if save_stats:
            stats = write_stats(a, b, options, image_size)
        else:
            result = fid_between(a, b, options, image_size)
    if save_stats:
        ui.console.print(f"saved statistics of {stats.source} ({stats.n} images, {len(stats.mu)} dims) to {b}")
        return
    for side in (result.a, result.b):
        count = "statistics file" if side.n is None else f"{side.n} images"
        ui.console.print(f"{side.kind:<8} {side.source}  ({count})")
    if result.feature_net:
        ui.console.print(f"features {result.feature_net}, {result.dims} dims")
    ui.console.print(f"FID: {result.value:.6f}")
