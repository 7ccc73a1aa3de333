"""The exponential moving average of the generator's weights (`--ema-decay`): a second copy of G
whose parameters trail the trained ones. Averaging the late iterates of a GAN's oscillating game
gives steadier, usually better samples (Yazici et al. 2019; Karras et al. 2018 sample from it)."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn


class EMA:
    """ema_p <- decay * ema_p + (1 - decay) * p after every generator step; buffers (batch-norm
    running statistics) are copied, not averaged: they already are running averages."""

    def __init__(self, G: nn.Module, decay: float):
        self.decay = float(decay)
        self.module = copy.deepcopy(G).eval()  # starts at G's initial weights
        self.module.requires_grad_(False)

    @torch.no_grad()
    def update(self, G: nn.Module) -> None:
        ema: list[torch.Tensor] = list(self.module.parameters())
        raw = [p.detach() for p in G.parameters()]
        torch._foreach_lerp_(ema, raw, 1.0 - self.decay)  # ema + (1 - decay) * (p - ema)
        for e, b in zip(self.module.buffers(), G.buffers(), strict=True):
            e.copy_(b)

    def state_dict(self) -> dict[str, Any]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state)
