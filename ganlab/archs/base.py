"""The architecture contract every arch plugin implements."""

from __future__ import annotations

from torch import nn

from ganlab.errors import ConfigError


class Arch:
    """Builds a generator G and a discriminator D for one data shape.

    - G maps z of shape (N, latent_dim) to images (N, C, H, W) in [-1, 1] (tanh output),
      or to points (N, D) for 2D data. It must export to ONNX: no data-dependent Python
      control flow in forward.
    - D maps a batch of data to (N,) raw logits.
    - Packing (`--pack m`, PacGAN): the trainer builds D from a second `build` call with the packed
      shape, m times the channels (m*C, H, W) or features (m*D,), and keeps that call's D only; an
      arch supports packing when `supports` and `build` accept that shape.
    Keyword arguments of `__init__` are the arch's options (`arch_options` in a config).
    """

    def supports(self, shape: tuple[int, ...]) -> str | None:
        """None when `shape` can be built, else a reason naming what is supported."""
        return None

    def check(self, shape: tuple[int, ...]) -> None:
        reason = self.supports(shape)
        if reason is not None:
            raise ConfigError(reason)

    def build(self, shape: tuple[int, ...], latent_dim: int) -> tuple[nn.Module, nn.Module]:
        raise NotImplementedError


def packed_shape(shape: tuple[int, ...], pack: int) -> tuple[int, ...]:
    """The shape D sees under packing: m samples concatenated along the first (channel or
    feature) axis, (C, H, W) -> (m*C, H, W), (D,) -> (m*D,)."""
    return (shape[0] * pack,) + tuple(shape[1:])


def build_networks(arch: Arch, shape: tuple[int, ...], latent_dim: int, pack: int = 1) -> tuple[nn.Module, nn.Module]:
    """(G, D) for `shape`, D for the packed shape when pack > 1. G comes from `build(shape)` as
    always, so pack 1 draws the same initial weights as before packing existed, and G (what export
    writes) never depends on pack; packing costs one more `build`, whose G is dropped."""
    G, D = arch.build(tuple(shape), latent_dim)
    if pack > 1:
        _, D = arch.build(packed_shape(tuple(shape), pack), latent_dim)
    return G, D


def dcgan_init(module: nn.Module) -> None:
    """Radford et al. 2015, section 4: all weights from N(0, 0.02); batch-norm scale N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
