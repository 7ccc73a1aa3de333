"""The loss contract every loss plugin implements."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class Loss:
    """A GAN objective over raw discriminator outputs (logits), never probabilities.

    Subclasses implement `d_loss` and `g_loss`, both returning 0-dim tensors to *minimise*.
    Work from logits with softplus so nothing overflows: log D(x) = -softplus(-l) and
    log(1 - D(x)) = -softplus(l) for D(x) = sigmoid(l).

    `penalty` is an optional extra term for the discriminator (gradient penalties); it is
    added to `d_loss` on every discriminator step. Keyword arguments of `__init__` are the
    loss's options (`loss_options` in a config file).
    """

    #: set True when g_loss needs D's logits on a real batch (relativistic losses do)
    needs_real_logits_in_g: bool = False
    #: True when sigmoid(D's output) is the probability that the input is real, D(x) of
    #: Goodfellow et al. 2014 (minimax, nonsaturating, lsgan's targets). Set False when D is a
    #: critic whose raw scores mean nothing through a sigmoid (WGAN, hinge, relativistic losses):
    #: ganlab then logs and shows mean raw critic scores (ganlab.losses.readout), not probabilities.
    d_is_probability: bool = True

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        raise NotImplementedError

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        raise NotImplementedError

    def penalty(self, D: nn.Module, real: Tensor, fake: Tensor) -> Tensor | None:
        return None


def log_d(logits: Tensor) -> Tensor:
    """log sigmoid(l), stably: -softplus(-l)."""
    return -torch.nn.functional.softplus(-logits)


def log_one_minus_d(logits: Tensor) -> Tensor:
    """log(1 - sigmoid(l)), stably: -softplus(l)."""
    return -torch.nn.functional.softplus(logits)


def bce_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """-V(D, G) estimated on a batch: -(E[log D(x)] + E[log(1 - D(G(z)))]).

    Minimising it is D ascending the value function of Goodfellow et al. 2014, eq. 1.
    """
    return -(log_d(real_logits).mean() + log_one_minus_d(fake_logits).mean())
