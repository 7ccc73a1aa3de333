"""`folder`: any directory tree of images, resized and centre-cropped to a square."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganlab.data.base import Dataset, ImageSource
from ganlab.errors import DataError
from ganlab.plugins.options import one_of

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def list_images(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())


class ImageFolder(Dataset):
    """Every image under `--data-root` (recursively), shorter side resized to the image size,
    then centre-cropped. `channels` is 3 (RGB) or 1 (greyscale)."""

    uses_root = True
    default_image_size = 64

    def __init__(self, channels: int = 3):
        self.channels = one_of("folder", "channels", channels, (1, 3))

    def load(self, image_size: int | None, root: str | None) -> ImageSource:
        from PIL import Image, UnidentifiedImageError
        from torchvision.transforms import CenterCrop, Compose, Resize

        if root is None:
            raise DataError("dataset 'folder' needs --data-root DIR, the folder that holds your images")
        path = Path(root)
        if not path.is_dir():
            raise DataError(f"data root {root!r} does not exist; pass a folder of images")
        files = list_images(path)
        if not files:
            raise DataError(
                f"no images under {root!r} (looked for {', '.join(sorted(EXTENSIONS))}); "
                "pass a folder that holds image files"
            )
        size = image_size or self.default_image_size
        shape = Compose([Resize(size), CenterCrop(size)])
        mode = "RGB" if self.channels == 3 else "L"
        arrays = []
        for file in files:
            try:
                with Image.open(file) as img:
                    arrays.append(np.asarray(shape(img.convert(mode)), dtype=np.uint8))
            except (UnidentifiedImageError, OSError) as exc:
                raise DataError(f"cannot read image {str(file)!r} ({exc}); remove or replace the file") from exc
        stacked = torch.from_numpy(np.stack(arrays))
        images = stacked.unsqueeze(1) if stacked.dim() == 3 else stacked.permute(0, 3, 1, 2)
        return ImageSource(images.contiguous(), None, {"root": str(path.resolve())})
