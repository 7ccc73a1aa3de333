"""Pictures of a trained generator beyond a grid: walks through latent space (`ganlab sample
--interpolate K`) and a run's fixed-noise grids over training as one animated GIF (`--timelapse`)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from ganlab.errors import ConfigError, RunError
from ganlab.run.latent import latent_batch

STEP_FILE = re.compile(r"^step_(\d+)\.png$")  # the Recorder's samples/step_NNNNNN.png
FRAME_MS = 300  # per frame; a 6-frame run (1,500 steps, a grid every 250) loops in under 2 s
LAST_FRAME_MS = 1500  # hold the final grid, so the eye lands on where training ended
BAND = 16  # pixels of white above each frame for the step label (PIL's default bitmap font is 11 px)


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; White 2016 for GAN latents): z0 at t=0, z1 at t=1,
    along the great circle, so every point keeps the norm a Gaussian z typically has. Rows of z0 and
    z1 pair up; t is (K,); returns (rows * K, latent_dim), row-major. Nearly parallel pairs fall back
    to linear interpolation, where the two agree."""
    a, b = z0[:, None, :].double(), z1[:, None, :].double()  # (R, 1, D)
    t = t.double()[None, :, None]  # (1, K, 1)
    cos = (a * b).sum(-1, keepdim=True) / (a.norm(dim=-1, keepdim=True) * b.norm(dim=-1, keepdim=True))
    omega = torch.arccos(cos.clamp(-1, 1))
    sin = torch.sin(omega)
    safe = sin.abs() > 1e-6
    w0 = torch.where(safe, torch.sin((1 - t) * omega) / torch.where(safe, sin, 1), 1 - t)
    w1 = torch.where(safe, torch.sin(t * omega) / torch.where(safe, sin, 1), t)
    return (w0 * a + w1 * b).reshape(-1, z0.shape[1]).float()


def check_steps(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ConfigError(f"--interpolate must be an integer >= 2 (steps per row, both ends included), got {k!r}")


def interpolation(gen, rows: int, k: int, seed: int = 0) -> np.ndarray:
    """`rows` walks of `k` images each: row i goes from z[2i] to z[2i+1], the seeded z of
    ganlab.run.latent (the z `ganlab sample --seed` draws). Returns (rows * k, C, H, W)."""
    check_steps(k)
    if gen.kind != "image":
        raise ConfigError("--interpolate draws rows of images, but this generator makes 2D points; drop --interpolate")
    z = latent_batch(2 * rows, gen.latent_dim, seed)
    path = slerp(z[0::2], z[1::2], torch.linspace(0, 1, k))
    return np.concatenate([gen.run(chunk) for chunk in path.split(256)])


def sample_grids(run_path: str | Path) -> list[tuple[int, Path]]:
    """(step, file) for each fixed-noise grid of a run, in step order."""
    from ganlab.run.rundir import open_run

    run = open_run(run_path)
    found = []
    if run.samples_dir.is_dir():
        for path in run.samples_dir.iterdir():
            match = STEP_FILE.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
    if not found:
        raise RunError(
            f"run {str(run.path)!r} has no sample grids (samples/step_*.png); train it, or resume it, to make some"
        )
    return sorted(found)


def check_gif(out: Path) -> None:
    out = Path(out)
    if out.suffix.lower() != ".gif":
        raise ConfigError(f"--timelapse {str(out)!r} must end in .gif; pass e.g. --timelapse {out.with_suffix('.gif')}")
    if out.is_dir() or not out.parent.is_dir():
        raise ConfigError(
            f"--timelapse {str(out)!r}: folder {str(out.parent)!r} does not exist or the path is a folder"
        )


def timelapse(run_path: str | Path, out: str | Path, force: bool = False, frame_ms: int = FRAME_MS) -> int:
    """One GIF frame per grid with "step N" written above it; returns the number of frames. An
    existing `out` is replaced only with `force`."""
    from PIL import Image

    from ganlab.files import atomic_write_bytes, check_overwrite

    out = Path(out)
    check_gif(out)
    check_overwrite(out, "--timelapse", force)
    grids = sample_grids(run_path)
    frames = [labelled(Image.open(path).convert("RGB"), f"step {step}") for step, path in grids]
    size = max(f.width for f in frames), max(f.height for f in frames)
    frames = [pad(f, size) for f in frames]
    durations = [frame_ms] * (len(frames) - 1) + [LAST_FRAME_MS]

    def write(fh) -> None:
        frames[0].save(fh, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)

    atomic_write_bytes(out, write)
    return len(frames)


def labelled(image, text: str):
    """`image` under a white band holding `text` (PIL's default font: no font file needed)."""
    from PIL import Image, ImageDraw

    canvas = Image.new("RGB", (image.width, image.height + BAND), "white")
    canvas.paste(image, (0, BAND))
    ImageDraw.Draw(canvas).text((3, 2), text, fill="black", font=_font())
    return canvas


def _font():
    from PIL import ImageFont

    try:  # Pillow >= 10.1 ships a scalable default font
        return ImageFont.load_default(size=12)
    except TypeError:
        return ImageFont.load_default()


def pad(image, size: tuple[int, int]):
    """Grids of one run share a size; a scatter plot or a changed --n-samples may not."""
    from PIL import Image

    if image.size == size:
        return image
    canvas = Image.new("RGB", size, "white")
    canvas.paste(image, (0, 0))
    return canvas
