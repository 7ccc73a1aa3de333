"""Residual blocks of the SNGAN networks (Miyato et al. 2018, appendix B.4, Figure 8)."""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm


def conv(c_in: int, c_out: int, k: int, sn: bool, gain: float) -> nn.Module:
    """Xavier-uniform init as in the SNGAN reference code (gain sqrt 2 on residual 3x3 convs,
    1 on shortcuts and the output layer); spectral norm wraps D's layers only."""
    layer = nn.Conv2d(c_in, c_out, k, 1, k // 2)
    nn.init.xavier_uniform_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return spectral_norm(layer) if sn else layer


class GBlock(nn.Module):
    """BN-ReLU-up2-conv3-BN-ReLU-conv3, plus an up2-conv1 shortcut: doubles H and W."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(c_in), nn.BatchNorm2d(c_out)
        self.conv1 = conv(c_in, c_out, 3, False, math.sqrt(2))
        self.conv2 = conv(c_out, c_out, 3, False, math.sqrt(2))
        self.skip = conv(c_in, c_out, 1, False, 1.0)

    def forward(self, x: Tensor) -> Tensor:
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2, mode="nearest")  # (N, c_in, 2H, 2W)
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        return h + self.skip(F.interpolate(x, scale_factor=2, mode="nearest"))


class DBlock(nn.Module):
    """ReLU-conv3-ReLU-conv3 (then avg-pool 2 when `down`); the shortcut is a conv1 (then pool)
    when the block changes width or size, the identity otherwise. `first` is the SNGAN
    "optimized" input block: no ReLU on the raw image, and pool before the shortcut conv."""

    def __init__(self, c_in: int, c_out: int, down: bool, first: bool = False):
        super().__init__()
        self.down, self.first = down, first
        self.conv1 = conv(c_in, c_out, 3, True, math.sqrt(2))
        self.conv2 = conv(c_out, c_out, 3, True, math.sqrt(2))
        self.skip = conv(c_in, c_out, 1, True, 1.0) if (down or c_in != c_out) else None

    def forward(self, x: Tensor) -> Tensor:
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)  # (N, c_out, H/2, W/2)
        return h + self.shortcut(x)

    def shortcut(self, x: Tensor) -> Tensor:
        if self.skip is None:
            return x
        if self.first:
            return self.skip(F.avg_pool2d(x, 2))
        s = self.skip(x)
        return F.avg_pool2d(s, 2) if self.down else s
