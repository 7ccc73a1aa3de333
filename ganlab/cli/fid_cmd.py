"""`ganlab fid A B`: FID between image folders, .npz statistics, run directories and datasets."""

from typing import Annotated, Optional

import typer

from ganlab.cli.app import app
from ganlab.cli.console import console
from ganlab.cli.options import EVAL, Dims, EvalBatch, EvalDevice, FidWeights
from ganlab.metrics.registry import DEFAULT_N


@app.command("fid")
def fid_(
    a: Annotated[str, typer.Argument(metavar="A", help="Image folder, .npz statistics, run folder or dataset name.")],
    b: Annotated[
        str, typer.Argument(metavar="B", help="The same kinds as A; with --save-stats, the .npz file to write.")
    ],
    n: Annotated[
        Optional[int],
        typer.Option(
            "--n",
            help="Samples drawn from a run's generator / images taken from a dataset (folders and .npz use all theirs). "
            f"(default: {DEFAULT_N['inception']} / all)",
        ),
    ] = None,
    dims: Dims = EVAL.dims,
    fid_weights: FidWeights = None,
    save_stats: Annotated[
        bool, typer.Option("--save-stats", help="Write A's statistics to B as pytorch-fid's .npz (mu, sigma).")
    ] = False,
    image_size: Annotated[
        Optional[int],
        typer.Option(
            "--image-size", help="Image size for a dataset name (only those are resized). (default: the dataset's)"
        ),
    ] = None,
    batch_size: EvalBatch = EVAL.batch_size,
    device: EvalDevice = EVAL.device,
    force: Annotated[bool, typer.Option("--force", help="With --save-stats: replace B if it exists.")] = False,
) -> None:
    """Fréchet Inception Distance between two image sources; the same number as `python -m pytorch_fid`
    on two folders."""
    from ganlab.cli import ui
    from ganlab.metrics.evaluate import EvalOptions
    from ganlab.metrics.fid_sources import fid_between
    from ganlab.metrics.fid_sources import save_stats as write_stats

    if force and not save_stats:
        from ganlab.errors import ConfigError

        raise ConfigError("--force replaces the file --save-stats writes; without --save-stats nothing is written")
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
            stats = write_stats(a, b, options, image_size, force)
        else:
            result = fid_between(a, b, options, image_size)
    if save_stats:
        console.print(f"saved statistics of {stats.source} ({stats.n} images, {len(stats.mu)} dims) to {b}")
        return
    for side in (result.a, result.b):
        count = "statistics file" if side.n is None else f"{side.n} images"
        console.print(f"{side.kind:<8} {side.source}  ({count})")
    if result.feature_net:
        console.print(f"features {result.feature_net}, {result.dims} dims")
    console.print(f"FID: {result.value:.6f}")
