"""Plugins with the bugs third-party code really has. Not imported from here:
tests.helpers.contract_breakers copies this source into a fake installed package, under the module
name a test module picks (the messages it checks name that module)."""

from __future__ import annotations

import torch

from ganlab.archs.dcgan import DCGAN
from ganlab.losses.nonsaturating import NonSaturating


class NaNLoss(NonSaturating):
    def d_loss(self, real_logits, fake_logits):
        return torch.log(-(real_logits - fake_logits).abs().mean() - 1)  # log of a negative: NaN


class VectorLoss(NonSaturating):
    def d_loss(self, real_logits, fake_logits):
        return fake_logits - real_logits  # forgot the mean: (N,)


class NaNGeneratorLoss(NonSaturating):
    def g_loss(self, fake_logits, real_logits=None):
        return fake_logits.mean() * float("nan")


class NotALoss:
    def d_loss(self, real_logits, fake_logits):
        return real_logits.mean()


class Wrapped(torch.nn.Module):
    def __init__(self, inner, bug):
        super().__init__()
        self.inner, self.bug = inner, bug

    def forward(self, x):
        out = self.inner(x)
        if self.bug == "half":
            return out[:, :, ::2, ::2]  # half the asked size
        if self.bug == "offset":
            return out + 2.0  # forgot that images live in [-1, 1]
        return out[:, None]  # D: (N, 1) instead of (N,)


class HalfSizeArch(DCGAN):
    def build(self, shape, latent_dim):
        G, D = super().build(shape, latent_dim)
        return Wrapped(G, "half"), D


class OffsetArch(DCGAN):
    def build(self, shape, latent_dim):
        G, D = super().build(shape, latent_dim)
        return Wrapped(G, "offset"), D


class ColumnLogitsArch(DCGAN):
    def build(self, shape, latent_dim):
        G, D = super().build(shape, latent_dim)
        return G, Wrapped(D, "column")
