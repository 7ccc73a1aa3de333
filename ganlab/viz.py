"""Pictures: sample grids (torchvision), scatter plots of 2D samples and loss curves (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor

from ganlab.losses.readout import CRITIC_KEYS, d_output_keys_in


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> None:
    """Lays out, writes and closes a matplotlib figure (pyplot keeps every open figure alive)."""
    fig.tight_layout()
    fig.savefig(path)
    _pyplot().close(fig)


READABLE_PX = 64  # a grid cell is at least this tall: 8 px digits are 8 screen pixels a pixel, 16 px 4


def upscale_factor(height: int) -> int:
    """The whole number by which images `height` px tall are enlarged in a grid (1: already readable)."""
    return max(1, -(-READABLE_PX // height))  # ceil: 8 -> 8, 16 -> 4, 28 -> 3, 32 -> 2, 64 -> 1


def save_grid(images: Tensor, path: Path, nrow: int = 8) -> None:
    """(N, C, H, W) in [-1, 1] -> one PNG grid; small images are enlarged by a whole factor with
    nearest-neighbour sampling first, so each pixel is a sharp square (a 10x10 px cell of 8 px digits
    is unreadable, and image viewers blur it when they zoom)."""
    from torchvision.utils import save_image

    factor = upscale_factor(images.shape[-2])
    if factor > 1:
        images = torch.nn.functional.interpolate(images, scale_factor=factor, mode="nearest")  # (N, C, fH, fW)
    save_image((images.clamp(-1, 1) + 1) / 2, path, nrow=nrow, padding=2, pad_value=1.0)


def save_scatter(
    points: Tensor,
    path: Path,
    modes: Sequence[Sequence[float]] | None = None,
    title: str = "",
    real: Tensor | None = None,
) -> None:
    """(N, 2) generated points drawn over what they should match: real points (N', 2) in grey
    and/or the declared mode centres; the axes frame the real data, so plots of one run compare."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    reference = []
    if real is not None:
        real = torch.as_tensor(real).detach().cpu()
        ax.scatter(real[:, 0], real[:, 1], s=3, alpha=0.3, c="tab:gray", label="real", zorder=1)
        reference.append(real[:, :2])
    if modes is not None:
        m = torch.as_tensor(modes)
        ax.scatter(m[:, 0], m[:, 1], s=80, marker="x", c="tab:red", label="true modes", zorder=3)
        reference.append(m[:, :2])
    points = torch.as_tensor(points).detach().cpu()
    (x0, x1), (y0, y1) = frame([*reference, points[:, :2]])
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.4, c="tab:blue", label="generated", zorder=2)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title)
    save_figure(fig, path)


def frame(sets: list[Tensor], margin: float = 0.1, keep: float = 0.99) -> tuple[tuple[float, float], ...]:
    """((x0, x1), (y0, y1)) around every set of (N, 2) points: the real points and modes fully, the
    generated ones up to their 0.5 % and 99.5 % quantiles (a few far-off samples of an unstable run
    would otherwise shrink everything else to a dot), plus `margin` of the span on each side.
    Both axes get the larger span so `set_aspect("equal")` shows circles as circles."""
    *reference, generated = [s.float() for s in sets]
    tail = (1 - keep) / 2
    lows = [r.min(0).values for r in reference if len(r)]
    highs = [r.max(0).values for r in reference if len(r)]
    if len(generated):
        lows.append(torch.quantile(generated, tail, dim=0))
        highs.append(torch.quantile(generated, 1 - tail, dim=0))
    low, high = torch.stack(lows).min(0).values, torch.stack(highs).max(0).values
    centre, half = (low + high) / 2, float((high - low).max()) / 2 * (1 + 2 * margin) or 1.0
    return tuple((float(c) - half, float(c) + half) for c in centre)  # type: ignore[return-value]


def save_samples(
    samples: Tensor, kind: str, path: Path, meta: dict[str, Any], title: str = "", real: Tensor | None = None
) -> None:
    """A grid for images; for points a scatter plot over `real` points and the declared modes."""
    if kind == "points":
        save_scatter(samples, path, meta.get("modes"), title, real)
    else:
        save_grid(samples, path)


def _smooth(values: list[float], window: int) -> list[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def save_loss_curve(rows: list[dict[str, Any]], path: Path, title: str = "", d_is_probability: bool = True) -> None:
    """Losses and the penalty (top) and mean D outputs (bottom) against step; raw faded, moving
    average solid. The bottom panel shows mean sigmoid(D) on a 0-1 axis for losses whose D gives
    probabilities, a critic's mean raw scores (critic_real/critic_fake) otherwise; a critic run from
    before those keys logged sigmoids of its scores, and says so."""
    if not rows:
        return
    plt = _pyplot()
    window = max(1, len(rows) // 50)
    d_outputs = d_output_keys_in(rows[-1]) or ()
    losses = (("d_loss", "D loss"), ("g_loss", "G loss")) + (
        (("penalty", "D penalty"),) if "penalty" in rows[-1] else ()
    )
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), dpi=100, sharex=True)
    for ax, keys in ((top, losses), (bottom, d_outputs)):
        for (key, label), color in zip(keys, ("tab:blue", "tab:orange", "tab:green"), strict=False):
            have = [r for r in rows if key in r]  # a penalty or D output may start mid-run (resume)
            steps, values = [r["step"] for r in have], [r[key] for r in have]
            ax.plot(steps, values, color=color, alpha=0.25, linewidth=0.8)
            ax.plot(steps, _smooth(values, window), color=color, label=label)
        ax.legend(loc="upper right")
        ax.grid(alpha=0.3)
    top.set_ylabel("loss")
    if d_outputs == CRITIC_KEYS:  # unbounded scores: no probability axis for them
        bottom.set_ylabel("mean critic score (not a probability)")
    elif not d_is_probability:
        bottom.set_ylabel("sigmoid of critic scores (not probabilities)")
    else:
        bottom.set_ylabel("mean D output, sigmoid(D)")
        bottom.set_ylim(-0.02, 1.02)  # probabilities: the whole range, so 0.5 (D cannot tell) sits mid-panel
    bottom.set_xlabel("generator step")
    top.set_title(title)
    save_figure(fig, path)
