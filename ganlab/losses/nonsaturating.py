"""`nonsaturating`: the generator loss Goodfellow et al. 2014 recommend in practice."""

from __future__ import annotations

from torch import Tensor

from ganlab.losses.base import Loss, bce_discriminator_loss, log_d


class NonSaturating(Loss):
    """D maximises E_x[log D(x)] + E_z[log(1 - D(G(z)))]; G minimises -E_z[log D(G(z))].

    Same fixed point as `minimax` (Goodfellow et al. 2014, section 3), but the generator's
    gradient with respect to the logit is -(1 - D(G(z))): strong exactly when D rejects the
    fakes, which is early in training.
    """

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return bce_discriminator_loss(real_logits, fake_logits)

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return -log_d(fake_logits).mean()
