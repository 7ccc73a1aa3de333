"""`resnet`: SNGAN-style residual G and spectrally normalised residual D for 16, 32 and 64 px."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ganlab.archs.base import Arch
from ganlab.plugins.options import positive_int
from ganlab_resnet.blocks import DBlock, GBlock, conv

SIZES = (16, 32, 64)  # 32 is SNGAN's CIFAR-10 size; 16 and 64 remove or add one block


class Generator(nn.Module):
    """z (N, latent) -> linear -> (N, w, 4, 4) -> GBlock x log2(S/4) -> BN-ReLU-conv3-tanh
    -> (N, C, S, S). Three up blocks at 32 px is the SNGAN CIFAR-10 generator (Miyato et al.
    2018, Table 4); 16 px (ganlab's digits default) has two, 64 px four."""

    def __init__(self, latent_dim: int, channels: int, size: int, width: int):
        super().__init__()
        self.width = width
        self.linear = nn.Linear(latent_dim, 4 * 4 * width)
        nn.init.xavier_uniform_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        self.blocks = nn.Sequential(*[GBlock(width, width) for _ in range(int(math.log2(size)) - 2)])
        self.bn = nn.BatchNorm2d(width)
        self.out = conv(width, channels, 3, False, 1.0)

    def forward(self, z: Tensor) -> Tensor:
        h = self.linear(z).reshape(-1, self.width, 4, 4)  # (N, w, 4, 4)
        h = self.blocks(h)  # (N, w, S, S)
        return torch.tanh(self.out(F.relu(self.bn(h))))  # (N, C, S, S) in [-1, 1]


class Discriminator(nn.Module):
    """(N, C, S, S) -> optimized DBlock down -> DBlock down x (log2(S/8) - 1) -> DBlock x 2
    -> ReLU -> global sum pooling -> SN linear -> (N,) scores. Every layer is spectrally
    normalised (Miyato et al. 2018); at 32 px this is the SNGAN CIFAR-10 critic (8x8 output)."""

    def __init__(self, channels: int, size: int, width: int):
        super().__init__()
        n_down = int(math.log2(size)) - 3  # down to 8x8: 1 halving at 16 px, 2 at 32, 3 at 64
        blocks = [DBlock(channels, width, down=True, first=True)]
        blocks += [DBlock(width, width, down=True) for _ in range(n_down - 1)]
        blocks += [DBlock(width, width, down=False) for _ in range(2)]
        self.blocks = nn.Sequential(*blocks)
        linear = nn.Linear(width, 1)
        nn.init.xavier_uniform_(linear.weight)
        nn.init.zeros_(linear.bias)
        self.linear = spectral_norm(linear)

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))  # (N, w): sum, not mean, as in SNGAN
        return self.linear(h).flatten()  # (N,) raw scores, no sigmoid


class ResNet(Arch):
    """SNGAN ResNet pair (Miyato et al. 2018; the residual design of Gulrajani et al. 2017).
    `width` is the channel count of every block (SNGAN used 256 in G and 128 in D on
    CIFAR-10; 128 here for both keeps CPU runs reasonable; `--arch-opt width=32` for quick ones)."""

    def __init__(self, width: int = 128):
        self.width = positive_int("resnet", "width", width)

    def supports(self, shape: tuple[int, ...]) -> str | None:
        sizes = ", ".join(map(str, SIZES[:-1])) + f" or {SIZES[-1]}"
        if len(shape) != 3:
            return f"resnet builds images, not data of shape {tuple(shape)}; use --arch mlp for 2D points"
        _, h, w = shape
        if h != w or h not in SIZES:
            return f"resnet cannot build image size {h}x{w}; use --image-size {sizes}"
        return None

    def build(self, shape: tuple[int, ...], latent_dim: int) -> tuple[nn.Module, nn.Module]:
        self.check(shape)
        channels, size, _ = shape
        return Generator(latent_dim, channels, size, self.width), Discriminator(channels, size, self.width)
