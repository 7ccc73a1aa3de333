"""`dcgan`: the deep convolutional GAN of Radford et al. 2015, for square power-of-two images."""

from __future__ import annotations

import math

from torch import Tensor, nn

from ganlab.archs.base import Arch, dcgan_init
from ganlab.plugins.options import positive_int

SIZES = (8, 16, 32, 64, 128)


class Generator(nn.Module):
    """z (N, latent) -> 4x4 -> ... -> (N, C, S, S) in [-1, 1]; transposed convs, BN, ReLU, tanh."""

    def __init__(self, latent_dim: int, channels: int, size: int, width: int):
        super().__init__()
        n_up = int(math.log2(size)) - 2  # 4x4 doubles n_up times to reach size
        ch = width * 2 ** (n_up - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, ch, 4, 1, 0, bias=False),  # (N, ch, 4, 4)
            nn.BatchNorm2d(ch),
            nn.ReLU(True),
        ]
        for _ in range(n_up - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1, bias=False), nn.Tanh()]  # (N, C, S, S)
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z[:, :, None, None])


class Discriminator(nn.Module):
    """(N, C, S, S) -> (N,) logits; strided convs, BN (not on the input layer), LeakyReLU 0.2."""

    def __init__(self, channels: int, size: int, width: int):
        super().__init__()
        n_down = int(math.log2(size)) - 2
        ch = width
        layers: list[nn.Module] = [nn.Conv2d(channels, ch, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for _ in range(n_down - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2), nn.LeakyReLU(0.2, True)]
            ch *= 2
        layers += [nn.Conv2d(ch, 1, 4, 1, 0, bias=False)]  # (N, 1, 1, 1): no sigmoid, losses take logits
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten()


class DCGAN(Arch):
    """Radford et al. 2015. `width` is the channel count of D's first and G's last hidden layer
    (64 in the paper); channels double at every halving of the resolution."""

    def __init__(self, width: int = 64):
        self.width = positive_int("dcgan", "width", width)

    def supports(self, shape: tuple[int, ...]) -> str | None:
        sizes = ", ".join(map(str, SIZES))
        if len(shape) != 3:
            return f"dcgan builds images, not data of shape {tuple(shape)}; use --arch mlp for 2D points"
        _, h, w = shape
        if h != w or h not in SIZES:
            return f"dcgan cannot build image size {h}x{w}; use --image-size with one of {sizes}"
        return None

    def build(self, shape: tuple[int, ...], latent_dim: int) -> tuple[nn.Module, nn.Module]:
        self.check(shape)
        channels, size, _ = shape
        G = Generator(latent_dim, channels, size, self.width)
        D = Discriminator(channels, size, self.width)
        G.apply(dcgan_init)
        D.apply(dcgan_init)
        return G, D
