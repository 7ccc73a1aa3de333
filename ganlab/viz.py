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


def save_grid(images: Tensor, path: Path, nrow: int = 8) -> None:
    """(N, C, H, W) in [-1, 1] -> one PNG grid."""
    from torchvision.utils import save_image

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
    if reference:
        lim = float(torch.cat([r.float() for r in reference]).abs().max()) * 1.5
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
    points = torch.as_tensor(points).detach().cpu()
    ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.4, c="tab:blue", label="generated", zorder=2)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title)
    save_figure(fig, path)


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


def save_loss_curve(rows: list[dict[str, Any]], path: Path, title: str = "") -> None:
    """Losses (top) and mean D outputs (bottom) against step; raw faded, moving average solid."""
    if not rows:
        return
    plt = _pyplot()
    window = max(1, len(rows) // 50)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), dpi=100, sharex=True)
    d_outputs = d_output_keys_in(rows[-1]) or ()
    losses = (("d_loss", "D loss"), ("g_loss", "G loss")) + (
        (("penalty", "D penalty"),) if "penalty" in rows[-1] else ()
    )
    for ax, keys in ((top, losses), (bottom, d_outputs)):
        for (key, label), color in zip(keys, ("tab:blue", "tab:orange", "tab:green"), strict=False):
            have = [r for r in rows if key in r]
            values = [r[key] for r in have]
            ax.plot([r["step"] for r in have], values, color=color, alpha=0.25, linewidth=0.8)
            ax.plot([r["step"] for r in have], _smooth(values, window), color=color, label=label)
        ax.legend(loc="upper right")
        ax.grid(alpha=0.3)
    top.set_ylabel("loss")
    # a critic's scores are unbounded: no probability axis for them
    bottom.set_ylabel("mean critic score" if d_outputs == CRITIC_KEYS else "mean D = sigmoid(logit)")
    bottom.set_xlabel("generator step")
    top.set_title(title)
    save_figure(fig, path)
