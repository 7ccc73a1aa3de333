"""`ganlab sample`: images or points from a run (torch) or an .onnx file (onnxruntime), as files."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ganlab.cli.app import app, notice
from ganlab.cli.console import console


@app.command("sample")
def sample(
    source: Optional[Path] = typer.Argument(
        None, metavar="SOURCE", help="Run folder or checkpoint .pt (torch); an .onnx file works too."
    ),
    onnx: Optional[Path] = typer.Option(None, "--onnx", help="ONNX file made by `ganlab export` (onnxruntime)."),
    n: int = typer.Option(64, "--n", "-n", help="How many samples."),
    seed: int = typer.Option(
        0, "--seed", help="Seed of z ~ N(0, I); the same seed gives the same z for a run and its export."
    ),
    out: Optional[Path] = typer.Option(
        None,
        "--out",
        help="PNG grid (images) or scatter plot (points). (default: samples.png when nothing else is asked)",
    ),
    out_dir: Optional[Path] = typer.Option(None, "--out-dir", help="Folder for one PNG per image (for FID tools)."),
    npy: Optional[Path] = typer.Option(None, "--npy", help="Save the raw array (.npy)."),
    provider: str = typer.Option(
        "auto", "--provider", help="auto, cuda, tensorrt or cpu. auto: CUDA when it can start, else the CPU."
    ),
    checkpoint: str = typer.Option("last", "--checkpoint", help="last, best or a file (runs only)."),
    latent_dim: Optional[int] = typer.Option(
        None, "--latent-dim", help="Width of z, for .onnx files without ganlab metadata."
    ),
    weights: Optional[str] = typer.Option(
        None,
        "--weights",
        help="ema or raw: a run's EMA generator or the trained one. (default: ema when the run kept one)",
    ),
    interpolate: Optional[int] = typer.Option(
        None,
        "--interpolate",
        help="K: rows of K images walking (slerp) between two seeded z each; --n images in all, at least one row. (default: off)",
    ),
    timelapse: Optional[Path] = typer.Option(
        None,
        "--timelapse",
        help="Write the run's fixed-noise grids over training as this GIF, step on each frame. (default: off)",
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace existing output files (and the PNGs already in --out-dir)."
    ),
) -> None:
    """Sample from a trained generator and write a grid, per-image PNGs and/or a .npy array;
    or a latent walk (--interpolate K), or a run's grids over training as a GIF (--timelapse)."""
    from ganlab.deploy import sample as infer

    if timelapse is not None:
        return _timelapse(source, timelapse, onnx, interpolate, force)
    infer.check_count(n)  # before loading: a bad count should not wait for onnxruntime
    if interpolate is not None:
        from ganlab.deploy import pictures

        pictures.check_steps(interpolate)
    if out is None and out_dir is None and npy is None:
        out = Path("samples.png" if interpolate is None else "interpolation.png")
    gen = infer.load(source, onnx, provider, checkpoint, latent_dim, weights)
    if gen.notice:
        notice(gen.notice)
    infer.check_outputs(gen.kind, out_dir, out, npy, force)
    if interpolate is None:
        samples, what = gen.sample(n, seed), f"{n} samples"
    else:
        rows = max(1, n // interpolate)
        samples, what = (
            pictures.interpolation(gen, rows, interpolate, seed),
            f"{rows} rows x {interpolate} steps (slerp)",
        )
    for written, path in infer.write(gen, samples, out, out_dir, npy, nrow=interpolate or 8):
        console.print(f"wrote  {written}: {path}", soft_wrap=True)
    # said when there is a choice: a run that kept an EMA generator, or --weights given
    which = f", {gen.weights} weights" if gen.weights and (weights or gen.weights == "ema") else ""
    console.print(f"from   {gen.backend}{which}, {what}, seed {seed}", soft_wrap=True)


def _timelapse(
    source: Optional[Path], out: Path, onnx: Optional[Path], interpolate: Optional[int], force: bool
) -> None:
    from ganlab.deploy import pictures
    from ganlab.errors import ConfigError

    if source is None or onnx is not None or interpolate is not None:
        raise ConfigError("--timelapse reads a run's sample grids: pass a RUN folder, without --onnx or --interpolate")
    frames = pictures.timelapse(source, out, force)
    console.print(f"wrote  GIF of {frames} frames: {out}", soft_wrap=True)
