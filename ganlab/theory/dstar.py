"""Claim `dstar`: for a fixed G, the discriminator that maximises V is p_data / (p_data + p_g)."""

from __future__ import annotations

import torch

from ganlab import plugins
from ganlab.errors import ConfigError
from ganlab.losses.base import Loss, bce_discriminator_loss
from ganlab.theory import densities as dens
from ganlab.theory.common import (
    Check,
    ClaimResult,
    Settings,
    logits_on,
    mlp_discriminator,
    train_discriminator,
    weighted_mean_abs,
)

ID = "dstar"
STATEMENT = "For a fixed G the optimal D is D* = p_data / (p_data + p_g) (Goodfellow et al. 2014, Prop. 1)"
DEFAULT_LOSS = "minimax"
# measured: the mean |D - D*| where the mass is; a D trained as below lands near 0.002 (1D) and
# 0.01 (2D), far below 0.03; a D off by a constant 0.05 everywhere would fail
TOLERANCE = 0.03

# the pair every 1D claim uses: p_g overlaps p_data but is shifted and narrower
P_DATA_1D = dens.gaussian1d(0.0, 1.0)
P_G_1D = dens.gaussian1d(1.5, 0.75)
# a 2D pair whose D* is not a function of one direction: two blobs against one broad Gaussian
P_DATA_2D = dens.Mixture((dens.Gaussian((-1.0, 0.0), 0.5), dens.Gaussian((1.0, 0.0), 0.5)))
P_G_2D = dens.Gaussian((0.0, 0.5), 1.0)


def applies_to(loss: Loss) -> str | None:
    """None when the claim applies to `loss`, else the reason. D* = p_data / (p_data + p_g) is the
    optimum of the D loss -V(D, G) (binary cross-entropy); a loss whose d_loss differs, or that
    adds a penalty, has another optimum (lsgan has its own claim)."""
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        real, fake = torch.randn(16, generator=gen) * 3, torch.randn(16, generator=gen) * 3
        got, want = loss.d_loss(real, fake), bce_discriminator_loss(real, fake)
        if not torch.allclose(got.detach().double(), want.double(), atol=1e-5):
            return "its d_loss is not -V(D, G) (the binary cross-entropy of minimax and nonsaturating)"
    D = mlp_discriminator(1, hidden=4, depth=1).float()
    if loss.penalty(D, torch.randn(8, 1, generator=gen), torch.randn(8, 1, generator=gen)) is not None:
        return "it adds a penalty to the D loss, which moves D's optimum"
    return None


def load_loss(name: str | None) -> tuple[str, Loss]:
    """The D loss through the plugin registry; a loss the claim does not apply to is a ConfigError."""
    name = name or DEFAULT_LOSS
    loss, _ = plugins.create("loss", name)
    reason = applies_to(loss)
    if reason is not None:
        raise ConfigError(
            f"claim 'dstar' does not apply to loss {name!r}: {reason}; "
            "run it with --loss minimax or nonsaturating, or run `ganlab theory saturation --loss "
            f"{name}`"
        )
    return name, loss


def _fit(p_data, p_g, loss: Loss, steps: int, settings: Settings, salt: int):
    with settings.init_seed(salt):
        D = mlp_discriminator(p_data.dim, hidden=32)
    train_discriminator(D, loss, p_data.sample, p_g.sample, steps, settings.generator(salt))
    return D


def _error(D, p_data, p_g, grid: dens.Grid) -> tuple[float, torch.Tensor, torch.Tensor]:
    lp, lq = p_data.log_prob(grid.points), p_g.log_prob(grid.points)
    d, d_star = torch.sigmoid(logits_on(D, grid.points)), dens.dstar(lp, lq)
    weight = (lp.exp() + lq.exp()) / 2
    return weighted_mean_abs(d, d_star, weight, grid), d, d_star


def run(settings: Settings) -> ClaimResult:
    name, loss = load_loss(settings.loss)
    steps_1d, steps_2d = (300, 800) if settings.quick else (1500, 4000)
    grid1 = dens.grid1d(-4.0, 4.0, 801)
    grid2 = dens.grid2d(-4.0, 4.0, 121 if settings.quick else 201)
    D1 = _fit(P_DATA_1D, P_G_1D, loss, steps_1d, settings, salt=1)
    D2 = _fit(P_DATA_2D, P_G_2D, loss, steps_2d, settings, salt=2)
    err1, d1, star1 = _error(D1, P_DATA_1D, P_G_1D, grid1)
    err2, d2, star2 = _error(D2, P_DATA_2D, P_G_2D, grid2)
    result = ClaimResult(
        ID,
        STATEMENT,
        [
            Check("1D: mean |D - D*| weighted by (p_data + p_g)/2 on [-4, 4]", err1, 0.0, TOLERANCE),
            Check("2D: mean |D - D*| weighted by (p_data + p_g)/2 on [-4, 4]^2", err2, 0.0, TOLERANCE),
        ],
        details={
            "loss": name,
            "d_steps": {"1d": steps_1d, "2d": steps_2d},
            "pair_1d": "p_data = N(0, 1), p_g = N(1.5, 0.75^2)",
            "pair_2d": "p_data = mixture of N((-1, 0), 0.5^2 I) and N((1, 0), 0.5^2 I); p_g = N((0, 0.5), I)",
            "max_abs_error_1d": float((d1 - star1).abs().max()),
        },
    )
    path = settings.plot_path("theory-dstar")
    if path is not None:
        _plot(path, grid1, d1, star1, grid2, d2, star2, name)
        result.plots.append(str(path))
    return result


def _plot(path, grid1, d1, star1, grid2, d2, star2, loss_name: str) -> None:
    from ganlab.viz import _pyplot

    plt = _pyplot()
    fig, (ax, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.4), dpi=100, layout="constrained")
    x = grid1.points[:, 0].numpy()
    ax.plot(x, P_DATA_1D.log_prob(grid1.points).exp().numpy(), color="tab:green", alpha=0.6, label="p_data = N(0, 1)")
    ax.plot(x, P_G_1D.log_prob(grid1.points).exp().numpy(), color="tab:orange", alpha=0.6, label="p_g = N(1.5, 0.75²)")
    ax.plot(x, star1.numpy(), color="black", linewidth=2, label="D* = p_data / (p_data + p_g)")
    ax.plot(x, d1.numpy(), color="tab:blue", linestyle="--", linewidth=2, label=f"trained D ({loss_name} D loss)")
    ax.set_xlabel("x")
    ax.set_title("1D: trained D against D*")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    n = int(round(len(grid2.points) ** 0.5))
    extent = (-4, 4, -4, 4)
    for axis, values, title in ((ax2, star2, "2D: D*"), (ax3, d2, "2D: trained D")):
        im = axis.imshow(values.reshape(n, n).T.numpy(), origin="lower", extent=extent, vmin=0, vmax=1, cmap="RdBu_r")
        axis.set_title(title)
    fig.colorbar(im, ax=[ax2, ax3], shrink=0.85)
    fig.savefig(path)
    plt.close(fig)
