"""Plugins with the bugs third-party code really has. Not imported from here:
tests.helpers.contract_breakers copies this source into a fake installed package, under the module
name a test module picks (the messages it checks name that module)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganlab.archs.dcgan import DCGAN
from ganlab.data.base import Dataset, DataSource
from ganlab.errors import PluginUserError
from ganlab.losses.base import Loss
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


# --- exceptions raised inside plugin code (issue 11) ------------------------------------------------
class Forgetful(Loss):
    """Relativistic, but forgot needs_real_logits_in_g = True: real_logits arrives as None."""

    def d_loss(self, real_logits, fake_logits):
        return F.softplus(fake_logits - real_logits).mean()

    def g_loss(self, fake_logits, real_logits=None):
        return F.softplus(real_logits - fake_logits).mean()


class Picky(DCGAN):
    def build(self, shape, latent_dim):
        raise ValueError(f"picky builds nothing of shape {shape}")


class BrokenLoad(Dataset):
    def load(self, image_size, root):
        raise ValueError("the files moved")


class Fussy(Dataset):
    def __init__(self, turns=0):
        self.turns = turns

    def load(self, image_size, root):
        raise PluginUserError(f"turns must be at least 1, got {self.turns}; pass --data-opt turns=2")


class RawSource(DataSource):
    """Forgot to map pixels to [-1, 1]: floats in [0, 255]."""

    kind, shape, meta = "image", (1, 16, 16), {}

    def sample(self, n, generator):
        return torch.randint(0, 256, (n, 1, 16, 16), generator=generator).float()

    def __len__(self):
        return 10


class RawImages(Dataset):
    default_image_size = 16

    def load(self, image_size, root):
        return RawSource()
