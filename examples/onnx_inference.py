"""Sample an image grid from a generator exported by `ganlab export`, with only onnxruntime, numpy
and pillow installed (no torch, no ganlab).

    python examples/onnx_inference.py runs/NAME/generator.onnx --n 64 --seed 0 --out grid.png

z is drawn with numpy (z ~ N(0, I), the prior the generator was trained on), so the images differ
from `ganlab sample --seed` (which draws z with torch); the generator is the same.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import onnxruntime as ort
from PIL import Image

PADDING = 2  # pixels between tiles, white, as ganlab's own grids (torchvision's make_grid)


def load(path: str, latent_dim: int | None) -> tuple[ort.InferenceSession, int]:
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map  # written by ganlab export
    if meta.get("kind", "image") != "image":
        raise SystemExit(f"{path} generates {meta['kind']}, not images; this example draws image grids")
    if latent_dim is None:
        if "latent_dim" not in meta:
            raise SystemExit(f"{path} has no ganlab metadata; pass --latent-dim N")
        latent_dim = int(meta["latent_dim"])
    return session, latent_dim


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in [-1, 1] -> 0..255 (torchvision's rounding); uint8 exports pass through."""
    if images.dtype == np.uint8:
        return images
    unit = (np.clip(images, -1, 1) + 1) / 2
    return np.clip(unit * 255 + 0.5, 0, 255).astype(np.uint8)


def grid(images: np.ndarray, nrow: int = 8) -> Image.Image:
    """(N, C, H, W) uint8 -> one picture, `nrow` images per row, white padding."""
    n, c, h, w = images.shape
    cols, rows = min(nrow, n), math.ceil(n / nrow)
    canvas = np.full((rows * (h + PADDING) + PADDING, cols * (w + PADDING) + PADDING, c), 255, np.uint8)
    for i, img in enumerate(images):
        top, left = PADDING + (i // cols) * (h + PADDING), PADDING + (i % cols) * (w + PADDING)
        canvas[top : top + h, left : left + w] = img.transpose(1, 2, 0)  # CHW -> HWC
    return Image.fromarray(canvas[:, :, 0] if c == 1 else canvas)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="an .onnx file made by `ganlab export`")
    parser.add_argument("--n", type=int, default=64, help="images in the grid")
    parser.add_argument("--seed", type=int, default=0, help="numpy seed for z")
    parser.add_argument("--out", default="grid.png", help="PNG to write")
    parser.add_argument("--latent-dim", type=int, default=None, help="only for files without ganlab metadata")
    args = parser.parse_args()

    session, latent_dim = load(args.model, args.latent_dim)
    z = np.random.default_rng(args.seed).standard_normal((args.n, latent_dim), dtype=np.float32)
    (images,) = session.run(None, {session.get_inputs()[0].name: z})  # (N, C, H, W)
    grid(to_uint8(images)).save(args.out)
    print(f"wrote {args.out}: {args.n} images of shape {images.shape[1:]} from {args.model}")


if __name__ == "__main__":
    main()
