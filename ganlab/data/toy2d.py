"""`ring` and `grid`: the 2D Gaussian mixtures used to measure mode collapse."""

from __future__ import annotations

import math

import torch

from ganlab.data.base import Dataset, FiniteMixtureSource, MixtureSource, check_request
from ganlab.plugins.options import positive_int


class _Mixture(Dataset):
    """Option n_train: train on n points drawn once (seed 0) instead of fresh draws every batch
    (PacGAN's protocol: --data-opt n_train=100000); 0, the default, draws fresh points."""

    default_image_size = None
    name = ""  # the registry name, for messages
    std = 0.0  # every mode's standard deviation

    def __init__(self, n_train: int = 0):
        self.n_train = 0 if n_train == 0 else positive_int(self.name, "n_train", n_train)

    def means(self) -> torch.Tensor:
        raise NotImplementedError

    def load(self, image_size: int | None, root: str | None) -> MixtureSource:
        check_request(self.name, self, image_size, root)  # also when called directly, not through ganlab
        if self.n_train:
            return FiniteMixtureSource(self.means(), self.std, self.n_train)
        return MixtureSource(self.means(), self.std)


class Ring(_Mixture):
    """8 Gaussians with means (cos 2 pi i/8, sin 2 pi i/8) and std 0.01 (Metz et al. 2017)."""

    name, std = "ring", 0.01

    def means(self) -> torch.Tensor:
        angles = torch.arange(8, dtype=torch.float64) * 2 * math.pi / 8
        return torch.stack([angles.cos(), angles.sin()], dim=1)


class Grid(_Mixture):
    """25 Gaussians with means on {-4, -2, 0, 2, 4}^2 and std 0.05 (Dumoulin et al. 2017)."""

    name, std = "grid", 0.05

    def means(self) -> torch.Tensor:
        axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0], dtype=torch.float64)
        return torch.cartesian_prod(axis, axis)
