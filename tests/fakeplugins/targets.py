"""Targets for fake entry points: a good loss, a wrong type, an arch with a broken G."""

from __future__ import annotations

import torch

from ganlab.archs.mlp import MLP
from ganlab.losses.nonsaturating import NonSaturating


class GoodLoss(NonSaturating):
    """A third-party loss: the non-saturating objective under another name."""


class NotALoss:
    """Has the methods but not the base class."""

    def d_loss(self, real_logits, fake_logits):
        return real_logits.mean()


def not_a_class():
    return None


class ShrinkingArch(MLP):
    """G returns one row fewer than asked: breaks the contract on the first step."""

    def build(self, shape, latent_dim):
        G, D = super().build(shape, latent_dim)

        class Cut(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, z):
                return self.inner(z)[1:]

        return Cut(G), D
