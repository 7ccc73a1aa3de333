"""`mlp`: fully connected G and D, for 2D points and small images."""

from __future__ import annotations

import math

from torch import Tensor, nn

from ganlab.archs.base import Arch
from ganlab.plugins.options import positive_int

MAX_IMAGE_SIZE = 64


class Generator(nn.Module):
    """z (N, latent) -> (N, *shape). Images get tanh (range [-1, 1]); points stay linear."""

    def __init__(self, latent_dim: int, shape: tuple[int, ...], hidden: int, depth: int):
        super().__init__()
        self.shape = tuple(shape)
        layers: list[nn.Module] = []
        width_in = latent_dim
        for _ in range(depth):
            layers += [nn.Linear(width_in, hidden), nn.ReLU(True)]
            width_in = hidden
        layers.append(nn.Linear(width_in, math.prod(shape)))
        if len(shape) == 3:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).reshape((-1,) + self.shape)


class Discriminator(nn.Module):
    """(N, *shape) -> (N,) logits; LeakyReLU 0.2 hidden layers."""

    def __init__(self, shape: tuple[int, ...], hidden: int, depth: int):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width_in = math.prod(shape)
        for _ in range(depth):
            layers += [nn.Linear(width_in, hidden), nn.LeakyReLU(0.2, True)]
            width_in = hidden
        layers.append(nn.Linear(width_in, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten()


class MLP(Arch):
    """`hidden` units in each of `depth` hidden layers of both networks (128 x 3 is the usual
    setting for the 8- and 25-Gaussian benchmarks)."""

    def __init__(self, hidden: int = 256, depth: int = 3):
        self.hidden, self.depth = positive_int("mlp", "hidden", hidden), positive_int("mlp", "depth", depth)

    def supports(self, shape: tuple[int, ...]) -> str | None:
        if len(shape) == 1:
            return None
        if len(shape) == 3 and max(shape[1:]) <= MAX_IMAGE_SIZE:
            return None
        return (
            f"mlp cannot build data of shape {tuple(shape)}; it takes points or images up to "
            f"{MAX_IMAGE_SIZE}x{MAX_IMAGE_SIZE} (use --image-size {MAX_IMAGE_SIZE} or less, or --arch dcgan)"
        )

    def build(self, shape: tuple[int, ...], latent_dim: int) -> tuple[nn.Module, nn.Module]:
        self.check(shape)
        return Generator(latent_dim, shape, self.hidden, self.depth), Discriminator(shape, self.hidden, self.depth)
