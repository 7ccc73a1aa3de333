"""`mlp`: fully connected G and D, for 2D points and small images."""

from __future__ import annotations

import math

from torch import Tensor, nn

from ganlab.archs.base import Arch
from ganlab.plugins.options import one_of, positive_int

MAX_IMAGE_SIZE = 64
NORMS = ("none", "batch")
INITS = ("default", "normal")


class Maxout(nn.Module):
    """LinearMaxout (Goodfellow et al. 2013): `units` outputs, each the max of `pieces` linear maps."""

    def __init__(self, width_in: int, units: int, pieces: int):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(width_in, units * pieces)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).reshape(-1, self.units, self.pieces).amax(dim=2)  # (N, units)


class Generator(nn.Module):
    """z (N, latent) -> (N, *shape). Images get tanh (range [-1, 1]); points stay linear. With
    norm "batch" each hidden layer is Linear (no bias: batch norm's shift replaces it), BatchNorm, ReLU."""

    def __init__(self, latent_dim: int, shape: tuple[int, ...], hidden: int, depth: int, norm: str = "none"):
        super().__init__()
        self.shape = tuple(shape)
        layers: list[nn.Module] = []
        width_in = latent_dim
        for _ in range(depth):
            if norm == "batch":
                layers += [nn.Linear(width_in, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(True)]
            else:
                layers += [nn.Linear(width_in, hidden), nn.ReLU(True)]
            width_in = hidden
        layers.append(nn.Linear(width_in, math.prod(shape)))
        if len(shape) == 3:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).reshape((-1,) + self.shape)


class Discriminator(nn.Module):
    """(N, *shape) -> (N,) logits; LeakyReLU 0.2 hidden layers, or LinearMaxout ones with `maxout` pieces."""

    def __init__(self, shape: tuple[int, ...], hidden: int, depth: int, maxout: int = 0):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width_in = math.prod(shape)
        for _ in range(depth):
            if maxout:
                layers.append(Maxout(width_in, hidden, maxout))
            else:
                layers += [nn.Linear(width_in, hidden), nn.LeakyReLU(0.2, True)]
            width_in = hidden
        layers.append(nn.Linear(width_in, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten()


def normal_init(module: nn.Module) -> None:
    """PacGAN's initialisation (Lin et al. 2018, appendix): Linear weights N(0, 0.02), biases 0."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class MLP(Arch):
    """`hidden` units in each of `depth` hidden layers of both networks (128 x 3 is the usual
    setting for the 8- and 25-Gaussian benchmarks); `g_hidden`, `g_depth`, `d_hidden`, `d_depth`
    set one network's own. `g_norm = "batch"`: batch norm in G; `d_maxout = k`: LinearMaxout
    layers with k pieces in D; `init = "normal"`: weights from N(0, 0.02). PacGAN's networks
    (Lin et al. 2018) are g_hidden=400 g_depth=4 g_norm=batch d_hidden=200 d_depth=3 d_maxout=5
    init=normal (examples/toy/pacgan-ring.toml)."""

    def __init__(
        self,
        hidden: int = 256,
        depth: int = 3,
        g_hidden: int | None = None,
        g_depth: int | None = None,
        d_hidden: int | None = None,
        d_depth: int | None = None,
        g_norm: str = "none",  # the unnormalised G every earlier mlp run used
        d_maxout: int = 0,  # 0: LeakyReLU 0.2 hidden layers, as before
        init: str = "default",  # torch's own Linear init, as before
    ):
        self.hidden, self.depth = positive_int("mlp", "hidden", hidden), positive_int("mlp", "depth", depth)
        sizes = {"g_hidden": g_hidden, "g_depth": g_depth, "d_hidden": d_hidden, "d_depth": d_depth}
        for name, value in sizes.items():
            if value is not None:
                positive_int("mlp", name, value)
        self.g_hidden, self.g_depth = g_hidden or self.hidden, g_depth or self.depth
        self.d_hidden, self.d_depth = d_hidden or self.hidden, d_depth or self.depth
        self.g_norm = one_of("mlp", "g_norm", g_norm, NORMS)
        self.d_maxout = 0 if d_maxout == 0 else positive_int("mlp", "d_maxout", d_maxout)
        self.init = one_of("mlp", "init", init, INITS)

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
        G = Generator(latent_dim, shape, self.g_hidden, self.g_depth, self.g_norm)
        D = Discriminator(shape, self.d_hidden, self.d_depth, self.d_maxout)
        if self.init == "normal":
            G.apply(normal_init)
            D.apply(normal_init)
        return G, D
