"""`folder`: any directory tree of images, resized and centre-cropped to a square; what had to be
converted on the way (16-bit pixels, greyscale to RGB, mixed sizes, skipped files) is said once."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ganlab.data.base import Dataset, ImageSource, root_folder
from ganlab.errors import DataError, GanlabNotice
from ganlab.plugins.options import boolean, one_of

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
# PIL's modes for one channel of 16-bit integers (a 16-bit greyscale PNG opens as "I;16"; older
# Pillows and TIFFs give "I", 32-bit signed, holding the same 0..65535 values)
WIDE_INT_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}
GREY_MODES = {"1", "L", "LA", "La", "F"} | WIDE_INT_MODES


def list_images(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())


@dataclass
class Conversions:
    """What reading a folder changed, counted so the user hears it once, not once per file."""

    wide: int = 0  # 16-bit images scaled to 8 bits
    grey_to_rgb: int = 0
    sizes: set[tuple[int, int]] = field(default_factory=set)  # (width, height) of every image read
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # unreadable files (skip_bad=true)

    def summary(self, size: int) -> str | None:
        said = []
        if self.wide:
            said.append(f"{_count(self.wide, '16-bit image')} scaled to 8 bits (value / 257)")
        if self.grey_to_rgb:
            said.append(
                f"{_count(self.grey_to_rgb, 'greyscale image')} repeated to RGB "
                "(pass --data-opt channels=1 to train on one channel)"
            )
        if len(self.sizes) > 1:
            ordered = sorted(self.sizes, key=lambda wh: (wh[0] * wh[1], wh))
            small, large = ordered[0], ordered[-1]
            said.append(
                f"images come in {len(self.sizes)} sizes ({small[0]}x{small[1]} to {large[0]}x{large[1]}); each was "
                f"resized to {size} px on its shorter side and centre-cropped to {size}x{size}"
            )
        if self.skipped:
            first, reason = self.skipped[0]
            said.append(f"skipped {_count(len(self.skipped), 'unreadable file')} (first: {first.name}: {reason})")
        return "; ".join(said) or None


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:80] or type(exc).__name__


class ImageFolder(Dataset):
    """Every image under `--data-root` (recursively), shorter side resized to the image size,
    then centre-cropped. `channels` is 3 (RGB) or 1 (greyscale); `skip_bad` skips files that
    cannot be read (scraped folders) instead of stopping at the first."""

    uses_root = True
    default_image_size = 64

    def __init__(self, channels: int = 3, skip_bad: bool = False):
        self.channels = one_of("folder", "channels", channels, (1, 3))
        self.skip_bad = boolean("folder", "skip_bad", skip_bad)

    def load(self, image_size: int | None, root: str | None) -> ImageSource:
        if root is None:
            raise DataError("dataset 'folder' needs --data-root DIR, the folder that holds your images")
        path = root_folder(root, "your images")
        files = list_images(path)
        if not files:
            raise DataError(
                f"no images under {root!r} (looked for {', '.join(sorted(EXTENSIONS))}); "
                "pass a folder that holds image files"
            )
        size = image_size or self.default_image_size
        seen = Conversions()
        arrays = [a for a in (self._read(file, size, seen) for file in files) if a is not None]
        if not arrays:
            first, reason = seen.skipped[0]
            raise DataError(
                f"none of the {len(files)} images under {root!r} could be read (first: {str(first)!r}: {reason})"
            )
        said = seen.summary(size)
        if said:
            warnings.warn(GanlabNotice(f"folder {root!r}: {said}"), stacklevel=2)
        stacked = torch.from_numpy(np.stack(arrays))
        images = stacked.unsqueeze(1) if stacked.dim() == 3 else stacked.permute(0, 3, 1, 2)
        return ImageSource(images.contiguous(), None, {"root": str(path.resolve())})

    def _read(self, file: Path, size: int, seen: Conversions) -> np.ndarray | None:
        """One image as uint8 (size, size[, 3]); None for an unreadable file when skip_bad is on."""
        from PIL import Image, UnidentifiedImageError
        from torchvision.transforms import CenterCrop, Compose, Resize

        try:
            with Image.open(file) as img:
                img.load()  # truncated data shows only when the pixels are decoded
                seen.sizes.add(img.size)
                eight = to_8bit(img, file, seen)
                if self.channels == 3 and img.mode in GREY_MODES:
                    seen.grey_to_rgb += 1
                shaped = Compose([Resize(size), CenterCrop(size)])(eight.convert("RGB" if self.channels == 3 else "L"))
                return np.asarray(shaped, dtype=np.uint8)
        except (UnidentifiedImageError, OSError) as exc:
            if not self.skip_bad:
                raise DataError(
                    f"cannot read image {str(file)!r} ({_reason(exc)}); remove or replace the file, "
                    "or pass --data-opt skip_bad=true to skip unreadable files"
                ) from exc
            seen.skipped.append((file, _reason(exc)))
            return None


def to_8bit(img, file: Path, seen: Conversions):
    """8-bit pixels: 16-bit integers scaled by 255/65535 (PIL's convert("L") would clip every value
    above 255, turning a 16-bit photo almost entirely white); float pixels have no known range and
    are refused."""
    from PIL import Image

    if img.mode == "F":
        raise DataError(
            f"image {str(file)!r} holds floating-point pixels, whose range is unknown; save it as 8- or 16-bit"
        )
    if img.mode not in WIDE_INT_MODES:
        return img
    values = np.asarray(img).astype(np.int64)
    if values.size and (values.min() < 0 or values.max() > 65535):
        raise DataError(
            f"image {str(file)!r} holds 32-bit integer pixels (up to {values.max()}); save it as 8- or 16-bit"
        )
    seen.wide += 1
    return Image.fromarray(np.rint(values / 257.0).astype(np.uint8), "L")  # 65535 / 257 = 255 exactly
