"""Cheap runtime checks of the plugin contract; run on the first training step and by
`ganlab.testing`. Each failure names the plugin that broke it."""

from __future__ import annotations

import torch
from torch import Tensor

from ganlab.errors import PluginError

RANGE_TOLERANCE = 1e-5  # tanh in float32 can round to 1.0000001


def check_generator_output(who: str, out: Tensor, batch: int, shape: tuple[int, ...]) -> None:
    expected = (batch,) + tuple(shape)
    if not isinstance(out, Tensor) or tuple(out.shape) != expected:
        got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise PluginError(f"{who}: generator returned {got}, expected shape {expected}")
    if not torch.isfinite(out).all():
        raise PluginError(f"{who}: generator returned NaN or Inf")
    if len(shape) == 3:
        lo, hi = out.min().item(), out.max().item()
        if lo < -1 - RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
            raise PluginError(f"{who}: generator images span [{lo:.4g}, {hi:.4g}], expected [-1, 1] (end G with tanh)")


def check_discriminator_output(who: str, out: Tensor, batch: int) -> None:
    if not isinstance(out, Tensor) or tuple(out.shape) != (batch,):
        got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise PluginError(f"{who}: discriminator returned {got}, expected logits of shape ({batch},)")


def check_loss_value(who: str, value: Tensor, what: str) -> None:
    if not isinstance(value, Tensor) or value.dim() != 0:
        got = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise PluginError(f"{who}: {what} returned {got}, expected a 0-dim tensor")
    if not torch.isfinite(value):
        raise PluginError(f"{who}: {what} returned {value.item()}, expected a finite value")
