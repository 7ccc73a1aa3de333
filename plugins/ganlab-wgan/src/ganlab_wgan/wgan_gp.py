"""`wgan-gp`: the Wasserstein critic loss with a gradient penalty (Gulrajani et al. 2017)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganlab.losses.base import Loss
from ganlab.plugins.options import number


class WGANGP(Loss):
    """Gulrajani et al. 2017, Algorithm 1. D is a critic: its outputs are raw scores, not logits
    of a probability, and the critic loss estimates minus the Wasserstein-1 distance:

        d_loss  = E_z[D(G(z))] - E_x[D(x)]
        penalty = lambda_gp * E_xhat[(||grad_xhat D(xhat)||_2 - 1)^2],
                  xhat = eps x + (1 - eps) G(z), eps ~ U[0, 1] per sample
        g_loss  = -E_z[D(G(z))]

    The penalty keeps the critic close to 1-Lipschitz along lines between real and fake
    samples, replacing WGAN's weight clipping. lambda_gp = 10 is the paper's value for every
    experiment. The paper's critic has no batch norm (the penalty is per sample) and trains
    with n_critic = 5, Adam(1e-4, beta1 = 0, beta2 = 0.9): `--d-steps 5` and a config file's
    lr/beta1/beta2 set that up in ganlab.
    """

    d_is_probability = False  # a critic: its scores estimate a Wasserstein distance, not odds

    def __init__(self, lambda_gp: float = 10.0):
        self.lambda_gp = number("wgan-gp", "lambda_gp", lambda_gp, minimum=0)

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return fake_logits.mean() - real_logits.mean()

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return -fake_logits.mean()

    def penalty(self, D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        return self.lambda_gp * gradient_penalty(D, real, fake)


def gradient_penalty(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """E[(||grad D(xhat)|| - 1)^2] on random interpolates of real and fake (one eps per sample).

    eps comes from torch's global generator, which ganlab seeds and checkpoints, so a seeded
    run draws the same interpolates again and a resumed run continues the same sequence.
    """
    n = real.shape[0]
    eps = torch.rand((n,) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
    xhat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)  # (N, ...)
    scores = D(xhat)  # (N,)
    # create_graph: the penalty is itself differentiated with respect to D's weights
    (grad,) = torch.autograd.grad(scores.sum(), xhat, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)  # (N,) per-sample gradient norms
    return ((norms - 1.0) ** 2).mean()
