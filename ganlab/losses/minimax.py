"""`minimax`: the original, saturating objective of Goodfellow et al. 2014."""

from __future__ import annotations

from torch import Tensor

from ganlab.losses.base import Loss, bce_discriminator_loss, log_one_minus_d


class Minimax(Loss):
    """min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]  (Goodfellow et al. 2014, eq. 1).

    D maximises V; G *minimises log(1 - D(G(z)))*, the saturating form the paper analyses.
    Its gradient with respect to the logit l of D(G(z)) is -sigmoid(l) = -D(G(z)): when D
    confidently rejects fakes early in training (D(G(z)) near 0) the generator learns almost
    nothing. That is the point of this loss; `nonsaturating` is the paper's practical fix.
    Several libraries ship the non-saturating loss under the name "minimax"; ganlab does not.
    """

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return bce_discriminator_loss(real_logits, fake_logits)

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return log_one_minus_d(fake_logits).mean()
