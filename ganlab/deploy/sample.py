"""Sampling from a trained generator: a run's checkpoint through torch, or an ONNX file through
onnxruntime (CUDA when it can start one, else the CPU); and writing the samples as files."""

from __future__ import annotations

import contextlib
import io
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganlab.errors import ConfigError, ExportError, GanlabNotice
from ganlab.files import check_overwrite
from ganlab.plugins import guard
from ganlab.run.latent import latents

PROVIDER_CHOICES = ("auto", "cuda", "tensorrt", "cpu")
MAX_GRID = 256  # images in one --out grid: 32 rows of 8, about 2,100 px tall once small images are enlarged
ORT_PROVIDERS = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}


def check_count(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"--n must be an integer >= 1, got {n!r}; pass e.g. --n 64")


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[-1, 1] float -> 0..255 uint8, the rounding of torchvision's save_image (and export.to_uint8)."""
    unit = (np.clip(images, -1, 1) + 1) / 2
    return np.clip(unit * 255 + 0.5, 0, 255).astype(np.uint8)


@dataclass
class LoadedGenerator:
    """A loaded generator, torch or onnxruntime behind it; `run(z)` maps (N, latent) -> numpy."""

    kind: str  # "image" or "points"
    latent_dim: int
    backend: str  # e.g. "torch (cpu)", "onnxruntime (CPUExecutionProvider)"
    run: Any  # callable: torch (N, latent) tensor -> numpy array
    meta: dict[str, Any] = field(default_factory=dict)  # data meta (mode centres of toy sets)
    title: str = ""
    notice: str | None = None  # one line for the user, e.g. why the CPU was used
    weights: str | None = None  # "ema" or "raw" for a run; an export's metadata says; None: unknown

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        check_count(n)
        return np.concatenate([self.run(z) for z in latents(n, self.latent_dim, seed)])


# --- torch --------------------------------------------------------------------------------
def torch_device(provider: str) -> str:
    check_provider(provider)
    if provider == "tensorrt":
        raise ConfigError(
            "--provider tensorrt runs .onnx files only; export the run with `ganlab export` "
            "and pass --onnx FILE, or use --provider auto"
        )
    if provider == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--provider cuda: torch sees no CUDA GPU here; pass --provider cpu or auto")
    if provider == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return provider


def from_run(
    source: str | Path, checkpoint: str = "last", provider: str = "auto", weights: str | None = None
) -> LoadedGenerator:
    from ganlab.run.restore import restore

    device = torch_device(provider)
    restored = restore(source, checkpoint, device=device, weights=weights)

    @torch.no_grad()
    def run(z: torch.Tensor) -> np.ndarray:
        with guard.translating(restored.owners()):  # an exception in the arch's G names the arch
            return restored.G(z.to(device)).float().cpu().numpy()

    c = restored.config
    return LoadedGenerator(
        restored.data_kind,
        restored.latent_dim,
        f"torch ({device})",
        run,
        restored.data_meta,
        f"{c.loss} / {c.arch}, step {restored.step}",
        weights=restored.weights,
    )


# --- onnxruntime --------------------------------------------------------------------------
def check_provider(provider: str) -> None:
    if provider not in PROVIDER_CHOICES:
        raise ConfigError(f"--provider {provider!r} is unknown; choose one of {', '.join(PROVIDER_CHOICES)}")


def _session(model: str | bytes, providers: list[str]):
    """An InferenceSession with onnxruntime's own noise silenced: a provider that cannot start
    logs C++ errors and (TensorRT) prints a banner before falling back; we report it in one line."""
    import onnxruntime as ort

    ort.set_default_logger_severity(4)  # fatal only, while providers are probed
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return ort.InferenceSession(model, providers=providers)
    finally:
        ort.set_default_logger_severity(2)  # onnxruntime's default: warnings


def open_session(model: str | bytes, provider: str = "auto"):
    """(session, notice): `auto` takes CUDA when onnxruntime can start it, else the CPU with a
    notice saying why; an explicit provider that cannot start is an error."""
    import onnxruntime as ort

    check_provider(provider)
    listed = ort.get_available_providers()
    if provider == "cpu":
        return _session(model, ["CPUExecutionProvider"]), None
    wanted = ORT_PROVIDERS["cuda" if provider == "auto" else provider]
    if wanted not in listed:
        why = f"this onnxruntime {ort.__version__} build has no {wanted} (install onnxruntime-gpu)"
        if provider == "auto":
            return _session(model, ["CPUExecutionProvider"]), f"{why}; running on the CPU"
        raise ConfigError(f"--provider {provider}: {why}; pass --provider cpu or auto")
    session = _session(model, [wanted, "CPUExecutionProvider"])
    if session.get_providers()[0] == wanted:
        return session, None
    why = (
        f"onnxruntime lists {wanted} but could not start it (no GPU visible, or its CUDA/cuDNN"
        f"{'/TensorRT' if provider == 'tensorrt' else ''} libraries are missing)"
    )
    if provider == "auto":
        return session, f"{why}; running on the CPU"
    raise ConfigError(f"--provider {provider}: {why}; pass --provider cpu or auto")


def from_onnx(path: str | Path, provider: str = "auto", latent_dim: int | None = None) -> LoadedGenerator:
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"ONNX file {str(path)!r} does not exist; make one with `ganlab export RUN`")
    try:
        session, notice = open_session(str(path), provider)
    except ConfigError:
        raise
    except Exception as exc:  # onnxruntime's InvalidProtobuf, Fail, ...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        # drop the C++ location onnxruntime puts before the reason ("/onnxruntime_src/...model.cc:256
        # onnxruntime::Model::Model(...) Unsupported model IR version: 14, ..."), so the reason shows
        first = re.sub(r"/?[\w./-]+\.(?:cc|cpp|h):\d+ [^()]*\([^()]*\)\s*", " ", first)[:300]
        raise ExportError(
            f"{str(path)!r} is not an ONNX model onnxruntime can load ({first}); pass a file made by `ganlab export`"
        ) from exc
    meta = session.get_modelmeta().custom_metadata_map
    dim, kind = _describe(session, meta, latent_dim, path)
    in_name, out_name = session.get_inputs()[0].name, session.get_outputs()[0].name

    def run(z: torch.Tensor) -> np.ndarray:
        return session.run([out_name], {in_name: z.numpy()})[0]

    title = f"{meta['loss']} / {meta['arch']}, step {meta['step']}" if "ganlab_version" in meta else path.name
    data_meta = json.loads(meta.get("data_meta", "{}"))
    backend = f"onnxruntime ({session.get_providers()[0]})"
    return LoadedGenerator(kind, dim, backend, run, data_meta, title, notice, meta.get("weights"))


def _describe(session, meta: dict[str, str], latent_dim: int | None, path: Path) -> tuple[int, str]:
    """(latent dim, kind) from ganlab's metadata, or from --latent-dim and the output's rank."""
    if latent_dim is not None and latent_dim < 1:
        raise ConfigError(f"--latent-dim must be an integer >= 1, got {latent_dim}; pass the width of z")
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(inputs[0].shape) != 2:
        raise ExportError(
            f"{str(path)!r} does not take a single z of shape (batch, latent_dim); "
            "pass a generator exported by `ganlab export`"
        )
    if "ganlab_version" in meta:
        kind, dim = meta["kind"], int(meta["latent_dim"])
    elif latent_dim is None:
        raise ExportError(
            f"{str(path)!r} has no ganlab metadata (not made by `ganlab export`); "
            "pass --latent-dim N, the width of its input z"
        )
    else:
        rank = len(outputs[0].shape)
        found, dim = {4: "image", 2: "points"}.get(rank), latent_dim
        if found is None:
            raise ExportError(
                f"{str(path)!r} outputs rank-{rank} tensors; ganlab samples images (N, C, H, W) or points (N, D)"
            )
        kind = found
    width = inputs[0].shape[1]
    if latent_dim is not None and isinstance(width, int) and width != latent_dim:
        raise ConfigError(
            f"--latent-dim {latent_dim} does not fit {str(path)!r}, whose z has width {width}; "
            f"pass --latent-dim {width}"
        )
    return dim, kind


def load(
    source: str | Path | None = None,
    onnx: str | Path | None = None,
    provider: str = "auto",
    checkpoint: str = "last",
    latent_dim: int | None = None,
    weights: str | None = None,
) -> LoadedGenerator:
    """A run folder or .pt file (torch), or an .onnx file (onnxruntime); exactly one. `weights`
    ("ema" or "raw") picks a run's generator; an export holds the one it was made from."""
    if source is not None and onnx is None and Path(source).suffix == ".onnx":
        source, onnx = None, source
    if (source is None) == (onnx is None):
        raise ConfigError(
            "pass either a RUN folder (torch) or --onnx FILE (onnxruntime), not "
            f"{'both' if source is not None else 'neither'}"
        )
    if onnx is not None:
        if weights is not None:
            raise ConfigError("--weights picks a run's generator; an .onnx file holds the one it was exported from")
        return from_onnx(onnx, provider, latent_dim)
    if latent_dim is not None:
        raise ConfigError("--latent-dim is for .onnx files without ganlab metadata; a run knows its own")
    assert source is not None  # exactly one of source and onnx, checked above
    return from_run(source, checkpoint, provider, weights)


# --- files --------------------------------------------------------------------------------
def check_outputs(
    kind: str, out_dir: Path | None, out: Path | None = None, npy: Path | None = None, force: bool = False
) -> None:
    """Every output path is checked before sampling, so a typo costs no work and writes nothing.
    Existing files are replaced only with `force` (files.check_overwrite)."""
    if out is not None:
        _check_file(out, "--out", picture_suffixes(kind), ".png, .jpg, .pdf or another picture ending", ".png")
        check_overwrite(out, "--out", force)
    if npy is not None:  # np.save would append .npy to any other name and write elsewhere
        _check_file(npy, "--npy", (".npy",), ".npy", ".npy")
        check_overwrite(npy, "--npy", force)
    if out_dir is None:
        return
    if kind != "image":
        raise ConfigError(
            "--out-dir writes one PNG per image, but this generator makes 2D points; use --out plot.png or --npy FILE"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out-dir {str(out_dir)!r} is a file; pass a new or empty folder")
    if out_dir.exists() and any(out_dir.glob("*.png")) and not force:
        raise ConfigError(
            f"--out-dir {str(out_dir)!r} is not an empty folder (FID tools would mix in "
            "its other PNGs); pass a new or empty folder, or --force to delete its PNGs first"
        )


def picture_suffixes(kind: str) -> tuple[str, ...]:
    """File endings the grid (PIL, through torchvision) or the scatter plot (matplotlib) can write."""
    if kind == "image":
        from PIL import Image

        Image.init()
        return tuple(sorted(ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.SAVE))
    from matplotlib.backend_bases import FigureCanvasBase

    return tuple(sorted("." + ext for ext in FigureCanvasBase.get_supported_filetypes()))


def _check_file(path: Path, flag: str, suffixes: tuple[str, ...], endings: str, example: str) -> None:
    path = Path(path)
    if path.is_dir():
        raise ConfigError(
            f"{flag} {str(path)!r} is a folder; pass a file name, e.g. {flag} {path / ('samples' + example)}"
        )
    if path.suffix.lower() not in suffixes:
        raise ConfigError(f"{flag} {str(path)!r} must end in {endings}; pass e.g. {flag} {path.with_suffix(example)}")
    if not path.parent.is_dir():
        raise ConfigError(f"folder {str(path.parent)!r} for {flag} does not exist; create it or pass another {flag}")


def write(
    gen: LoadedGenerator,
    samples: np.ndarray,
    out: Path | None = None,
    out_dir: Path | None = None,
    npy: Path | None = None,
    nrow: int = 8,
) -> list[tuple[str, Path]]:
    """Writes what was asked (a grid of `nrow` images per row); returns (what, path) pairs in the
    order written."""
    from ganlab import viz

    written = []
    if npy is not None:
        np.save(npy, samples)
        written.append((f"array {samples.dtype} {tuple(samples.shape)}", Path(npy)))
    if out is not None:
        if gen.kind == "image":
            shown = grid_part(samples, nrow, also_saved=npy is not None or out_dir is not None)
            as_float = shown / 127.5 - 1 if shown.dtype == np.uint8 else shown  # back to [-1, 1]
            viz.save_grid(torch.from_numpy(np.ascontiguousarray(as_float, dtype=np.float32)), out, nrow=nrow)
        else:
            viz.save_scatter(torch.from_numpy(samples), out, gen.meta.get("modes"), gen.title)
        written.append(("grid" if gen.kind == "image" else "scatter plot", Path(out)))
    if out_dir is not None:
        save_pngs(samples, out_dir)
        written.append((f"{len(samples)} PNG files", Path(out_dir)))
    return written


def grid_part(samples: np.ndarray, nrow: int, also_saved: bool) -> np.ndarray:
    """The images a grid shows: all of them up to MAX_GRID, else the first whole rows that fit, with
    a note (20,000 images in one PNG would be 2,500 rows, tens of thousands of pixels tall)."""
    rows = max(1, MAX_GRID // nrow)
    if len(samples) <= rows * nrow:
        return samples
    rest = "" if also_saved else "; --out-dir or --npy writes all of them"
    warnings.warn(
        GanlabNotice(f"the grid shows the first {rows * nrow} of {len(samples)} samples ({rows} rows){rest}"),
        stacklevel=3,
    )
    return samples[: rows * nrow]


def save_pngs(images: np.ndarray, folder: Path) -> None:
    """(N, C, H, W) -> folder/000000.png ...: grey (C=1) or RGB (C=3), as FID tools read them."""
    from PIL import Image

    pixels = images if images.dtype == np.uint8 else to_uint8(images)
    if pixels.shape[1] not in (1, 3):
        raise ConfigError(f"--out-dir writes grey or RGB PNGs, not {pixels.shape[1]}-channel images; use --npy")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):  # only there with --force (check_outputs): one set of samples, not two mixed
        old.unlink()
    for i, img in enumerate(pixels):
        hwc = img.transpose(1, 2, 0)
        Image.fromarray(hwc[:, :, 0] if hwc.shape[2] == 1 else hwc).save(folder / f"{i:06d}.png")
