"""ONNX export of a trained generator: torch.onnx (torch.export-based) -> metadata -> onnx.checker
-> parity with onnxruntime on fixed z -> atomic write. Nothing is written unless the checks pass."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from ganlab import __version__
from ganlab.errors import ConfigError, ExportError
from ganlab.plugins import guard
from ganlab.run.latent import latent_batch

TOLERANCE = 1e-4  # max |onnxruntime - torch| on float outputs; float32 kernels differ by ~1e-7
UINT8_TOLERANCE = 1  # one 8-bit level: a float that sits on a rounding boundary may land either side
PARITY_BATCHES = (1, 16)  # batch 1 and a larger one, to prove the batch axis really is dynamic
PARITY_SEED = 0
MIN_OPSET = 18  # the torch.export-based exporter writes opset 18 or newer (it quietly keeps 18 when asked for less)
OUTPUTS = ("float", "uint8")


@dataclass
class ExportResult:
    path: Path
    opset: int
    output: str  # "float" or "uint8"
    metadata: dict[str, str]
    max_abs_diff: dict[int, float] | None  # batch size -> max |onnxruntime - torch|; None: not verified
    tolerance: float
    size_bytes: int


def to_uint8(images: Tensor) -> Tensor:
    """[-1, 1] -> 0..255 uint8 with torchvision.utils.save_image's rounding (x * 255 + 0.5, truncated),
    so a baked-in uint8 graph writes the same pixels as ganlab's PNG grids."""
    unit = (images.clamp(-1, 1) + 1) / 2
    return (unit * 255 + 0.5).clamp(0, 255).to(torch.uint8)


class Exportable(nn.Module):
    """What goes into the graph: z (N, latent) -> G(z), plus the uint8 post-processing when asked."""

    def __init__(self, G: nn.Module, uint8: bool):
        super().__init__()
        self.G, self.uint8 = G, uint8

    def forward(self, z: Tensor) -> Tensor:
        out = self.G(z)  # (N, C, H, W) in [-1, 1], or (N, D) points
        return to_uint8(out) if self.uint8 else out


def metadata(restored, output: str, checkpoint: str, source: Path) -> dict[str, str]:
    """What a consumer needs to run the file without ganlab; every value is a string (ONNX
    metadata_props are string pairs), structured values as JSON."""
    c, kind = restored.config, restored.data_kind
    if output == "uint8":
        out_range = "[0, 255]"
    else:
        out_range = "[-1, 1]" if kind == "image" else "unbounded"  # mlp points have no tanh
    if restored.run is not None:
        name = restored.run.name
    else:  # a checkpoint file; runs keep theirs in runs/<name>/checkpoints/ (see rundir.py)
        name = source.parent.parent.name if source.parent.name == "checkpoints" else source.stem
        checkpoint = source.name
    return {
        "ganlab_version": __version__,
        "kind": kind,
        "latent_dim": str(c.latent_dim),
        "z_distribution": "N(0, I)",
        "shape": json.dumps(list(restored.data_shape)),  # one sample: (C, H, W) or (D,)
        "input_name": "z",
        "output_name": output_name(kind),
        "output_dtype": "uint8" if output == "uint8" else "float32",
        "output_range": out_range,
        "dataset": c.data,
        "loss": c.loss,
        "arch": c.arch,
        "arch_options": json.dumps(c.arch_options, sort_keys=True),
        "run_name": name,
        "step": str(restored.step),
        "checkpoint": checkpoint,
        "weights": restored.weights,  # "ema" (the --ema-decay average) or "raw"
        "data_meta": json.dumps(restored.data_meta, default=str),
    }


def output_name(kind: str) -> str:
    return "image" if kind == "image" else "samples"


def newest_opset() -> int:
    """The newest opset the exporter writes: the installed onnx package's. Measured with torch 2.14,
    onnx 1.23 and onnxscript 0.7: opsets 18 to 28 come out as asked, while 29 (past onnx's 28)
    quietly comes out as 18, so asking for more is refused up front."""
    import onnx

    return onnx.defs.onnx_opset_version()


def check_opset(opset: int | None) -> None:
    if opset is None:
        return
    if opset < MIN_OPSET:
        raise ConfigError(
            f"--opset {opset} is older than the exporter writes; pass --opset {MIN_OPSET} or newer, "
            "or leave it out for torch's default"
        )
    newest = newest_opset()
    if opset > newest:
        raise ConfigError(
            f"--opset {opset} is newer than the exporter writes; pass --opset {newest} or older, "
            "or leave it out for torch's default"
        )


def to_onnx(module: nn.Module, latent_dim: int, out_name: str, opset: int | None, who: str):
    """Runs torch.onnx.export (dynamo, the default since torch 2.9) with a dynamic batch axis. `who`
    names the arch in errors, with its distribution when it has one: "arch 'x' (pkg:X from pkg==1.0)"."""
    # Batch 2: torch.export specialises sizes 0 and 1, so a batch-1 example would freeze the axis.
    example = torch.zeros(2, latent_dim)
    batch = torch.export.Dim("batch")
    try:
        with _quiet():
            program = torch.onnx.export(
                module,
                (example,),
                input_names=["z"],
                output_names=[out_name],
                opset_version=opset,
                dynamic_shapes={"z": {0: batch}},
                dynamo=True,
                verbose=False,
            )
    except Exception as exc:  # the exporter raises many kinds; all mean "this G does not export"
        raise ExportError(
            f"torch.onnx.export failed for {who} ({_root_cause(exc)}); its G must be "
            "exportable (no data-dependent control flow); --debug shows the traceback"
        ) from exc
    if program is None:  # torch returns None only when exporting to a file, which this never asks
        raise ExportError(f"torch.onnx.export returned no program for {who}")
    proto = program.model_proto
    written = next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    if opset is not None and written != opset:
        raise ExportError(
            f"torch.onnx.export wrote opset {written}, not the --opset {opset} asked for; "
            f"pass --opset {written} or leave it out"
        )
    return proto


def arch_who(restored) -> str:
    """The run's arch as errors name plugins: name, target and distribution==version."""
    recorded = restored.plugins.get("arch")
    return guard.Owner.of_provenance("arch", recorded).who if recorded else f"arch {restored.config.arch!r}"


@contextlib.contextmanager
def _quiet():
    """The exporter warns, logs and dumps graphs while it works; the library prints nothing, and a
    failure is reported once, as an ExportError."""
    torch_logger = logging.getLogger("torch")
    level = torch_logger.level
    torch_logger.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        torch_logger.setLevel(level)


def _root_cause(exc: BaseException) -> str:
    """The innermost exception's first line, without the terminal colours torch puts in."""
    inner: BaseException | None = exc
    while inner is not None:
        exc, inner = inner, inner.__cause__ or inner.__context__
    return f"{type(exc).__name__}: {_first_line(exc)}"


def verify(model_bytes: bytes, module: nn.Module, latent_dim: int, tolerance: float) -> dict[int, float]:
    """onnx.checker, then onnxruntime (CPU) against torch on the same fixed z at each parity batch."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    try:
        onnx.checker.check_model(onnx.load_from_string(model_bytes), full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(
            f"onnx.checker rejects the exported graph ({str(exc).splitlines()[0]}); "
            "export with another --opset or report the arch"
        ) from exc
    try:
        session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        newest = re.search(r"official support for domain ai.onnx is till opset (\d+)", str(exc))
        if newest:
            raise ExportError(
                f"onnxruntime {ort.__version__} runs opsets up to {newest[1]}; "
                f"pass --opset {newest[1]} or older (nothing was written)"
            ) from exc
        raise ExportError(
            f"onnxruntime {ort.__version__} cannot load the export ({_first_line(exc)}); "
            "pass an older --opset (nothing was written)"
        ) from exc
    z = latent_batch(max(PARITY_BATCHES), latent_dim, PARITY_SEED)
    diffs = {}
    with torch.no_grad():
        for batch in PARITY_BATCHES:
            expected = module(z[:batch]).numpy()
            got = session.run(None, {"z": z[:batch].numpy()})[0]
            if got.shape != expected.shape:
                raise ExportError(
                    f"onnxruntime returned shape {got.shape} at batch {batch}, torch {expected.shape}; "
                    "the batch axis did not export as dynamic"
                )
            diffs[batch] = float(np.abs(got.astype(np.float64) - expected.astype(np.float64)).max())
    worst = max(diffs.values())
    if not worst <= tolerance:  # `not <=` also catches NaN
        raise ExportError(
            f"onnxruntime output differs from torch by {worst:.3g} (limit {tolerance:g}); "
            "nothing was written; try another --opset or pass --no-verify to keep it anyway"
        )
    return diffs


def _first_line(exc: BaseException) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # terminal colours from torch
    text = re.sub(r"/onnxruntime_src/\S+ .*?\) ", "", text).strip()  # onnxruntime's C++ location
    return text.splitlines()[0][:300] if text else type(exc).__name__


def cannot_write(out: Path, why: str) -> str:
    return f"cannot write {str(out)!r} ({why}); pass --out PATH.onnx in a folder you can write"


def default_path(source: Path, output: str) -> Path:
    name = "generator.onnx" if output == "float" else "generator-uint8.onnx"
    return source.with_suffix(".onnx") if source.is_file() else source / name


def run_written(source: Path, out: Path) -> Path | None:
    """The run folder `out` lands in, when it lands in the exported run (RUN/generator.onnx, or
    beside RUN/checkpoints/last.pt); None for a file written anywhere else, which needs no lock."""
    from ganlab.run.rundir import RunDir

    folder = source if source.is_dir() else source.parent.parent if source.parent.name == "checkpoints" else None
    if folder is None or not RunDir(folder).config_file.is_file():
        return None
    return folder if folder.resolve() in out.resolve().parents else None


def export_onnx(
    source: str | Path,
    out: str | Path | None = None,
    opset: int | None = None,
    checkpoint: str = "last",
    output: str = "float",
    verify_model: bool = True,
    weights: str | None = None,
    force: bool = False,
) -> ExportResult:
    """Exports the generator of a run (or a checkpoint file) to ONNX, verified unless told not to.
    `weights`: "ema", "raw", or None for the EMA generator when the run kept one. An existing
    file at `out` is replaced only with `force`."""
    import onnx

    from ganlab import files
    from ganlab.run.lock import RunLock
    from ganlab.run.restore import restore

    if output not in OUTPUTS:
        raise ConfigError(
            f"--output {output!r} is not one of {', '.join(OUTPUTS)}; pass --output float or --output uint8"
        )
    check_opset(opset)
    source = Path(source)
    restored = restore(source, checkpoint, weights=weights)
    if output == "uint8" and restored.data_kind != "image":
        raise ConfigError(
            f"--output uint8 makes 8-bit images, but {str(source)!r} generates {restored.data_kind}; "
            "drop --output uint8"
        )
    flag = "--out" if out is not None else "the default --out"
    out = Path(out) if out is not None else default_path(source, output)
    if out.suffix != ".onnx":
        raise ConfigError(f"--out {str(out)!r} must end in .onnx; pass e.g. --out {out.with_suffix('.onnx')}")
    if not out.parent.is_dir():
        raise ExportError(f"folder {str(out.parent)!r} for --out does not exist; create it or pass another --out")
    blocked = files.unwritable(out.parent)  # before the export, not after a minute of it
    if blocked is not None:
        raise ExportError(cannot_write(out, files.reason(blocked)))
    files.check_overwrite(out, flag, force)
    run = run_written(source, out)
    with RunLock(run) if run is not None else contextlib.nullcontext():  # one writer per run (issue 19)
        module = Exportable(restored.G, output == "uint8").eval()
        proto = to_onnx(module, restored.latent_dim, output_name(restored.data_kind), opset, arch_who(restored))
        meta = metadata(restored, output, checkpoint, source)
        onnx.helper.set_model_props(proto, meta)  # -> model.metadata_props, read back by onnxruntime
        data = proto.SerializeToString()
        tolerance = TOLERANCE if output == "float" else UINT8_TOLERANCE
        diffs = verify(data, module, restored.latent_dim, tolerance) if verify_model else None
        try:
            files.atomic_write_bytes(out, lambda f: f.write(data))
        except OSError as exc:  # the disk filled up meanwhile: nothing is left under the name
            raise ExportError(cannot_write(out, files.reason(exc))) from exc
    opset_written = next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    return ExportResult(out, opset_written, output, meta, diffs, tolerance, len(data))
