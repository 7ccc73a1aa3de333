"""`hinge`: the hinge GAN loss (Lim & Ye 2017; Miyato et al. 2018, eq. 16 and 17)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ganlab.losses.base import Loss


class Hinge(Loss):
    """Geometric GAN / SNGAN hinge objective on raw discriminator scores:

        min_D E_x[max(0, 1 - D(x))] + E_z[max(0, 1 + D(G(z)))]
        min_G -E_z[D(G(z))]

    D only learns from samples inside the margin (real scores below 1, fake above -1), the
    support-vector view of Lim & Ye 2017; Miyato et al. 2018 pair it with spectral norm.
    """

    d_is_probability = False  # D's outputs are margins, not logits of a probability

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return -fake_logits.mean()
