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


def dcgan_init(module: nn.Module) -> None:
    """Radford et al. 2015, section 4: all weights from N(0, 0.02); batch-norm scale N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
