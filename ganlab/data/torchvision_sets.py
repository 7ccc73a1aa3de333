"""`mnist`, `fashion-mnist`, `cifar10` through torchvision: downloaded when online, or read
from `--data-root DIR` when the files are already there."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ganlab.data.base import Dataset, ImageSource, resize_uint8, root_folder
from ganlab.errors import DataError
from ganlab.plugins.options import one_of


def default_root() -> Path:
    return Path(os.environ.get("GANLAB_DATA", Path.home() / ".cache" / "ganlab" / "data"))


class _TorchvisionSet(Dataset):
    uses_root = True
    default_image_size = 32  # the nearest size dcgan builds to MNIST's 28 px; CIFAR's own size
    label = ""  # human name for messages

    def __init__(self, split: str = "train"):
        self.split = one_of(self.label, "split", split, ("train", "test"))

    def open(self, root: Path, download: bool):
        raise NotImplementedError

    def load(self, image_size: int | None, root: str | None) -> ImageSource:
        path = root_folder(root, f"the {self.label} files") if root is not None else default_root()
        try:
            ds = self.open(path, download=root is None)
        except RuntimeError as exc:  # torchvision: "Dataset not found or corrupted"
            raise DataError(
                f"no {self.label} files under {str(path)!r} ({exc}); "
                f"run once online without --data-root to download them"
            ) from exc
        except OSError as exc:  # offline download attempt
            raise DataError(
                f"could not download {self.label} to {str(path)!r} ({exc}); "
                f"go online or pass --data-root DIR with the files already there"
            ) from exc
        data = ds.data if isinstance(ds.data, torch.Tensor) else torch.from_numpy(np.asarray(ds.data))
        images = data.unsqueeze(1) if data.dim() == 3 else data.permute(0, 3, 1, 2)  # -> (N, C, H, W)
        labels = torch.as_tensor(np.asarray(ds.targets)).long()
        return ImageSource(
            resize_uint8(images.contiguous(), image_size or self.default_image_size), labels, {"num_classes": 10}
        )


class MNIST(_TorchvisionSet):
    """LeCun et al. 1998: 60,000 28x28 handwritten digits (train split), resized."""

    label = "MNIST"

    def open(self, root: Path, download: bool):
        from torchvision.datasets import MNIST as TV

        return TV(str(root), train=self.split == "train", download=download)


class FashionMNIST(_TorchvisionSet):
    """Xiao et al. 2017: 60,000 28x28 clothing images (train split), resized."""

    label = "Fashion-MNIST"

    def open(self, root: Path, download: bool):
        from torchvision.datasets import FashionMNIST as TV

        return TV(str(root), train=self.split == "train", download=download)


class CIFAR10(_TorchvisionSet):
    """Krizhevsky 2009: 50,000 32x32 colour images in 10 classes (train split)."""

    label = "CIFAR-10"

    def open(self, root: Path, download: bool):
        from torchvision.datasets import CIFAR10 as TV

        return TV(str(root), train=self.split == "train", download=download)
