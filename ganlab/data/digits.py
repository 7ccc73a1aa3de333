"""`digits`: scikit-learn's bundled 8x8 handwritten digits (1,797 images, no download)."""

from __future__ import annotations

import torch

from ganlab.data.base import Dataset, ImageSource, require_no_root, resize_uint8


class Digits(Dataset):
    """UCI optical digits as shipped inside scikit-learn: 16 grey levels, upsampled to
    `--image-size` (16 by default: the smallest dcgan size above the native 8 px, so no
    detail is lost and CPU training stays quick). Labels 0-9 are kept for the class-based
    metrics."""

    default_image_size = 16

    def load(self, image_size: int | None, root: str | None) -> ImageSource:
        from sklearn.datasets import load_digits  # heavy; only when the dataset is used

        require_no_root("digits", root)
        bunch = load_digits()
        pixels = torch.from_numpy(bunch.images).float().div(16.0).unsqueeze(1)  # (1797, 1, 8, 8) in [0, 1]
        images = resize_uint8(pixels, image_size or self.default_image_size)
        labels = torch.from_numpy(bunch.target).long()
        return ImageSource(images, labels, {"num_classes": 10})
