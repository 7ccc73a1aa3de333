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
) -> None:
    """Sample from a trained generator and write a grid, per-image PNGs and/or a .npy array."""
    from ganlab.deploy import sample as infer

    infer.check_count(n)  # before loading: a bad count should not wait for onnxruntime
    if out is None and out_dir is None and npy is None:
        out = Path("samples.png")
    gen = infer.load(source, onnx, provider, checkpoint, latent_dim)
    if gen.notice:
        notice(gen.notice)
    infer.check_outputs(gen.kind, out_dir, out, npy)
    samples = gen.sample(n, seed)
    for what, path in infer.write(gen, samples, out, out_dir, npy):
        console.print(f"wrote  {what}: {path}", soft_wrap=True)
    console.print(f"from   {gen.backend}, {n} samples, seed {seed}", soft_wrap=True)
