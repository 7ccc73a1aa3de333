"""The dataset contract, and the two in-memory sources every built-in dataset returns."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganlab.errors import DataError


class DataSource:
    """Real data the training loop samples from.

    kind: "image" (shape (C, H, W), values in [-1, 1]) or "points" (shape (D,)).
    meta: JSON-serialisable facts that travel with the run (mode centres and std for the
    toy mixtures, class count for labelled sets) so evaluation can score without reloading.
    """

    kind: str
    shape: tuple[int, ...]
    meta: dict[str, Any]

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """A fresh minibatch of n examples, drawn with `generator` (so runs are reproducible)."""
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def nbytes(self) -> int | None:
        """Memory the data takes; None: unknown, so it is never moved to the training device."""
        return None

    def to(self, device: torch.device) -> "DataSource":
        """This source with its tensors on `device`, sampling there with a generator on `device`.
        The default keeps the data on the host; the trainer then copies each batch over."""
        return self


class ImageSource(DataSource):
    """Images held in memory as uint8 (N, C, H, W); batches come out as float in [-1, 1]."""

    kind = "image"

    def __init__(self, images: Tensor, labels: Tensor | None = None, meta: dict[str, Any] | None = None):
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(f"ImageSource wants uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        self.images, self.labels = images, labels
        self.shape = tuple(images.shape[1:])
        self.meta = {"n": len(images), **(meta or {})}

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        # indices, gather and the uint8 -> float conversion all run where the images live
        idx = torch.randint(len(self.images), (n,), generator=generator, device=self.images.device)
        return to_unit_range(self.images.index_select(0, idx))  # index_select: no host sync on CUDA

    def __len__(self) -> int:
        return len(self.images)

    def nbytes(self) -> int:
        return self.images.numel()  # uint8: one byte per value

    def to(self, device: torch.device) -> "ImageSource":
        moved = copy.copy(self)  # labels stay on the host: only the metrics read them
        moved.images = self.images.to(device)
        return moved


class MixtureSource(DataSource):
    """An isotropic Gaussian mixture with equal weights: the mode-collapse benchmarks."""

    kind = "points"

    def __init__(self, means: Tensor, std: float):
        self.means, self.std = means.float(), float(std)
        self.shape = (means.shape[1],)
        self.meta = {"modes": self.means.tolist(), "std": self.std}

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        device = self.means.device
        idx = torch.randint(len(self.means), (n,), generator=generator, device=device)
        noise = torch.randn((n,) + self.shape, generator=generator, device=device)
        return self.means.index_select(0, idx) + self.std * noise

    def __len__(self) -> int:
        return len(self.means)

    def nbytes(self) -> int:
        return self.means.numel() * self.means.element_size()

    def to(self, device: torch.device) -> "MixtureSource":
        moved = copy.copy(self)
        moved.means = self.means.to(device)
        return moved


class FiniteMixtureSource(MixtureSource):
    """A fixed training set of n points drawn once from the mixture; minibatches are drawn from
    those points (with replacement). PacGAN's protocol (Lin et al. 2018) trains on 100,000 points."""

    def __init__(self, means: Tensor, std: float, n: int, seed: int = 0):
        super().__init__(means, std)
        # its own generator: the set is the same whatever the run's seed, which picks minibatches
        self.points = MixtureSource(means, std).sample(n, torch.Generator().manual_seed(seed))  # (n, D)
        self.meta = {**self.meta, "n_train": n}

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        idx = torch.randint(len(self.points), (n,), generator=generator, device=self.points.device)
        return self.points.index_select(0, idx)

    def __len__(self) -> int:
        return len(self.points)

    def nbytes(self) -> int:
        return self.points.numel() * self.points.element_size()

    def to(self, device: torch.device) -> "FiniteMixtureSource":
        moved = copy.copy(self)
        moved.means, moved.points = self.means.to(device), self.points.to(device)
        return moved


class Dataset:
    """A dataset plugin: `load` returns a DataSource. Keyword arguments of `__init__` are the
    dataset's options (`data_options` in a config file)."""

    #: size images are resized to when the user gives no --image-size; None for point data
    default_image_size: int | None = 32
    #: whether the dataset reads --data-root
    uses_root: bool = False

    def load(self, image_size: int | None, root: str | None) -> DataSource:
        raise NotImplementedError


def to_unit_range(images: Tensor) -> Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range of G's tanh output."""
    return images.float().div_(127.5).sub_(1.0)


def resize_uint8(images: Tensor, size: int) -> Tensor:
    """(N, C, h, w) float in [0, 1] or uint8 -> uint8 (N, C, size, size), antialiased bilinear."""
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    if x.shape[-1] != size or x.shape[-2] != size:
        out = []
        for chunk in x.split(4096):  # bounded memory on 60k-image sets
            out.append(
                torch.nn.functional.interpolate(
                    chunk, size=(size, size), mode="bilinear", antialias=True, align_corners=False
                )
            )
        x = torch.cat(out)
    return (x.clamp(0, 1) * 255.0).round().to(torch.uint8)


def root_folder(root: str, holds: str) -> Path:
    """`--data-root` as a folder; a path that is missing, or a file, is a one-line DataError
    saying which (a file is the usual slip: the path of one image instead of its folder)."""
    path = Path(root)
    if path.is_file():
        raise DataError(f"data root {root!r} is a file, not a folder; pass the folder that holds {holds}")
    if not path.is_dir():
        raise DataError(f"data root {root!r} does not exist; pass the folder that holds {holds}")
    return path


def require_no_root(name: str, root: str | None) -> None:
    """For a dataset's own `load`; ganlab already refuses --data-root for `uses_root = False`."""
    if root is not None:
        raise DataError(f"dataset {name!r} reads no files; drop --data-root {root}")


def require_no_image_size(name: str, image_size: int | None) -> None:
    """For a dataset's own `load`; ganlab already refuses --image-size for `default_image_size = None`."""
    if image_size is not None:
        raise DataError(f"dataset {name!r} is points, not images; drop --image-size {image_size}")


def check_request(name: str, dataset: "Dataset", image_size: int | None, root: str | None) -> None:
    """What the class attributes promise, enforced for every dataset before `load` runs:
    `default_image_size = None` takes no --image-size, `uses_root = False` no --data-root."""
    if dataset.default_image_size is None:
        require_no_image_size(name, image_size)
    if not dataset.uses_root:
        require_no_root(name, root)
