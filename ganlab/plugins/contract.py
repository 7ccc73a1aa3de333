"""Cheap runtime checks of the plugin contract; run on the first training step and by
`ganlab.testing`. Each failure names the plugin that broke it."""

from __future__ import annotations

import json
from typing import Any

import torch
from torch import Tensor

from ganlab.errors import PluginError
from ganlab.plugins import guard

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


def check_sample(who: str, source: Any, batch: Any, n: int) -> None:
    """`source.sample(n)` gave float (n, *shape), finite, images in [-1, 1] (the range of G's tanh:
    uint8-range images would train against a target G cannot reach)."""
    expected = (n,) + tuple(source.shape)
    if not isinstance(batch, Tensor) or tuple(batch.shape) != expected or not batch.is_floating_point():
        got = f"{batch.dtype} {tuple(batch.shape)}" if isinstance(batch, Tensor) else type(batch).__name__
        raise PluginError(f"{who}: sample({n}) returned {got}, expected float of shape {expected}")
    if not torch.isfinite(batch).all():
        raise PluginError(f"{who}: sample({n}) returned NaN or Inf")
    if source.kind == "image":
        lo, hi = batch.min().item(), batch.max().item()
        if lo < -1 - RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
            raise PluginError(
                f"{who}: sample({n}) spans [{lo:.4g}, {hi:.4g}], expected images in [-1, 1] "
                "(ImageSource maps uint8 to it; or x / 127.5 - 1)"
            )


def probe_sample(who: str, source: Any, n: int = 8) -> None:
    """Draws n examples with a generator of its own (the training draws do not move) and checks
    them, so a source that breaks the contract stops the command before a run folder exists."""
    with guard.calling(guard.owner_of(source, who), "sample"):
        batch = source.sample(n, torch.Generator().manual_seed(0))
    check_sample(who, source, batch, n)


def load_data(dataset: Any, owner: guard.Owner, name: str, image_size: int | None, root: str | None):
    """`dataset.load(image_size, root)` as every command calls it: the class attributes enforced
    first (ganlab.data.base.check_request), any exception from `load` named, and the source's
    facts checked after."""
    from ganlab.data.base import check_request, require_no_image_size

    check_request(name, dataset, image_size, root)
    with guard.calling(owner, "load"):
        source = dataset.load(image_size, root)
    check_source(owner.who, source, image_size if image_size is not None else dataset.default_image_size)
    if source.kind == "points":  # a points dataset that forgot default_image_size = None
        require_no_image_size(name, image_size)
    return source


def check_source(who: str, source: Any, size: int | None) -> None:
    """A DataSource of kind "image" with shape (C, size, size) or "points" with shape (D,),
    non-empty, with JSON-serialisable meta (it travels in checkpoints and summary.json)."""
    from ganlab.data.base import DataSource

    if not isinstance(source, DataSource):
        raise PluginError(f"{who}: load returned {type(source).__name__}, expected a ganlab.data.base.DataSource")
    shape = tuple(source.shape)
    if source.kind == "image":
        if len(shape) != 3 or (size is not None and shape[1:] != (size, size)):
            raise PluginError(f"{who}: image shape is {shape}, expected (C, {size}, {size})")
    elif source.kind == "points":
        if len(shape) != 1:
            raise PluginError(f"{who}: point shape is {shape}, expected (D,)")
    else:
        raise PluginError(f"{who}: kind is {source.kind!r}, expected 'image' or 'points'")
    with guard.calling(guard.owner_of(source, who), "__len__"):
        empty = len(source) < 1
    if empty:
        raise PluginError(f"{who}: the dataset is empty")
    try:
        json.dumps(source.meta)
    except (TypeError, ValueError) as exc:
        raise PluginError(f"{who}: meta is not JSON-serialisable ({exc}); keep plain numbers, strings, lists") from exc
