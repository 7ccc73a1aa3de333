"""`ganlab export`: a run's generator -> a verified ONNX file (checker + onnxruntime parity)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ganlab.cli.app import app
from ganlab.cli.console import console


@app.command("export")
def export(
    run: Path = typer.Argument(
        ..., metavar="RUN", help="Run folder made by `ganlab train` (or a checkpoint .pt file)."
    ),
    out: Optional[Path] = typer.Option(
        None,
        "--out",
        help="ONNX file to write. (default: RUN/generator.onnx, or RUN/generator-uint8.onnx with --output uint8)",
    ),
    opset: Optional[int] = typer.Option(None, "--opset", help="ONNX opset, 18 or newer. (default: torch's)"),
    checkpoint: str = typer.Option("last", "--checkpoint", help="last, best, or a checkpoint file."),
    output: str = typer.Option(
        "float",
        "--output",
        help="float: float32 in [-1, 1]; uint8: 0..255 NCHW images (post-processing baked into the graph).",
    ),
    no_verify: bool = typer.Option(False, "--no-verify", help="Skip onnx.checker and the onnxruntime parity check."),
    weights: Optional[str] = typer.Option(
        None,
        "--weights",
        help="ema or raw: a run's EMA generator or the trained one. (default: ema when the run kept one)",
    ),
    force: bool = typer.Option(False, "--force", help="Replace the ONNX file if it exists."),
) -> None:
    """Export the generator to ONNX (input z, output image), then check it against torch."""
    from ganlab.deploy.export import export_onnx

    def say(line: str) -> None:
        console.print(line, soft_wrap=True)  # one line each, however long the path

    result = export_onnx(run, out, opset, checkpoint, output, verify_model=not no_verify, weights=weights, force=force)
    m = result.metadata
    shape = ", ".join(["batch", *map(str, json.loads(m["shape"]))])
    say(f"exported  {result.path}  ({result.size_bytes / 1024:.1f} KiB, opset {result.opset})")
    say(f"input     z float32 (batch, {m['latent_dim']})")
    say(f"output    {m['output_name']} {m['output_dtype']} ({shape}), range {m['output_range']}")
    say(
        f"from      run {m['run_name']}, step {m['step']} ({m['checkpoint']}): "
        f"{m['loss']} / {m['arch']} on {m['dataset']}, {m['weights']} weights"
    )
    if result.max_abs_diff is None:
        say("verified  no (--no-verify)")
        return
    diffs = ", ".join(f"{d:.2e} (batch {b})" for b, d in result.max_abs_diff.items())
    say("checker   onnx.checker passed")
    say(
        f"parity    max |onnxruntime - torch| = {diffs}; limit {result.tolerance:g}"
        + (" level" if result.output == "uint8" else "")
    )
