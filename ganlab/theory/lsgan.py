"""Claim `lsgan`: least-squares D* and the Pearson chi^2 its generator minimises (Mao et al. 2017).

Mao et al. 2017, section 3.2: D minimises 1/2 E_pdata[(D - b)^2] + 1/2 E_pg[(D - a)^2], so for a
fixed G, D*_LS = (b p_data + a p_g) / (p_data + p_g) (eq. 5). The generator's objective, extended
by 1/2 E_pdata[(D(x) - c)^2] (which does not depend on G), is at D*_LS

    C(G) = 1/2 integral (p_data + p_g) (D*_LS - c)^2,

and with b - c = 1 and b - a = 2, 2 C(G) = chi^2_Pearson(p_data + p_g || 2 p_g) (eq. 8), where
chi^2_Pearson(P || Q) = integral (Q - P)^2 / P. So C(G) is *half* that divergence. The coding here
is a = -1, b = 1, c = 0, the one the paper names for it.
"""

from __future__ import annotations

import torch

from ganlab import plugins
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
from ganlab.theory.dstar import P_DATA_1D, P_G_1D

ID = "lsgan"
STATEMENT = (
    "LSGAN: D* = (b p_data + a p_g) / (p_data + p_g); if b - c = 1 and b - a = 2, G's objective "
    "is 1/2 Pearson chi^2(p_data + p_g || 2 p_g) (Mao et al. 2017)"
)
CODING = {"a": -1.0, "b": 1.0, "c": 0.0}
D_TOLERANCE = 0.03  # mean |D - D*_LS| where the mass is; measured 0.005-0.013 over seeds 0-7
# C(D) - C(D*_LS) = 1/2 integral (p_data + p_g)(D - D*_LS)(D + D*_LS - 2c), and |D + D*_LS - 2c|
# stays near 2 at most, so |C(D) - C(D*_LS)| <= about 2 * mean|D - D*_LS|: first order in D's
# error, hence a looser bar than dstar's. Measured |gap| <= 0.015 over seeds 0-7 (--quick).
TOLERANCE = 0.04
QUADRATURE_TOLERANCE = 1e-9  # two integrals of the same function on the same grid


def half_pearson(grid: dens.Grid) -> float:
    """1/2 chi^2_Pearson(p_data + p_g || 2 p_g), from the divergence's own definition."""
    p = P_DATA_1D.log_prob(grid.points).exp()
    q = P_G_1D.log_prob(grid.points).exp()
    return 0.5 * dens.pearson_chi2(p + q, 2 * q, grid)


def objective_at_dstar(grid: dens.Grid) -> float:
    """C(G) = 1/2 integral (p_data + p_g)(D*_LS - c)^2, from D*_LS's formula."""
    lp, lq = P_DATA_1D.log_prob(grid.points), P_G_1D.log_prob(grid.points)
    d = dens.lsgan_dstar(lp, lq, CODING["a"], CODING["b"])
    return 0.5 * grid.integrate((lp.exp() + lq.exp()) * (d - CODING["c"]) ** 2)


def run(settings: Settings) -> ClaimResult:
    loss, _ = plugins.create("loss", "lsgan", dict(CODING))
    steps, n_mc = (600, 50_000) if settings.quick else (2000, 200_000)
    with settings.init_seed(31):
        D = mlp_discriminator(1, hidden=32)
    gen = settings.generator(31)
    train_discriminator(D, loss, P_DATA_1D.sample, P_G_1D.sample, steps, gen)
    c = CODING["c"]
    real, fake = logits_on(D, P_DATA_1D.sample(n_mc, gen)), logits_on(D, P_G_1D.sample(n_mc, gen))
    trained = float(0.5 * ((real - c) ** 2).mean() + 0.5 * ((fake - c) ** 2).mean())

    wide = dens.covering_grid1d(P_DATA_1D, P_G_1D)
    expected, at_dstar = half_pearson(wide), objective_at_dstar(wide)
    grid = dens.grid1d(-4.0, 4.0, 801)
    lp, lq = P_DATA_1D.log_prob(grid.points), P_G_1D.log_prob(grid.points)
    d, d_star = logits_on(D, grid.points), dens.lsgan_dstar(lp, lq, CODING["a"], CODING["b"])
    d_error = weighted_mean_abs(d, d_star, (lp.exp() + lq.exp()) / 2, grid)
    result = ClaimResult(
        ID,
        STATEMENT,
        [
            Check("G objective at the trained D (Monte Carlo)", trained, expected, TOLERANCE),
            Check("G objective at D*_LS (quadrature)", at_dstar, expected, QUADRATURE_TOLERANCE),
            Check("mean |D - D*_LS| weighted by (p_data + p_g)/2 on [-4, 4]", d_error, 0.0, D_TOLERANCE),
        ],
        details={
            "loss": "lsgan",
            "coding": dict(CODING),
            "pair": "p_data = N(0, 1), p_g = N(1.5, 0.75^2)",
            "half_pearson_chi2": expected,
            "d_steps": steps,
            "monte_carlo_n": n_mc,
        },
    )
    path = settings.plot_path("theory-lsgan")
    if path is not None:
        _plot(path, grid, d, d_star)
        result.plots.append(str(path))
    return result


def _plot(path, grid: dens.Grid, d: torch.Tensor, d_star: torch.Tensor) -> None:
    from ganlab.viz import _pyplot, save_figure

    plt = _pyplot()
    x = grid.points[:, 0].numpy()
    fig, ax = plt.subplots(figsize=(6.5, 4.4), dpi=100)
    ax.plot(x, P_DATA_1D.log_prob(grid.points).exp().numpy(), color="tab:green", alpha=0.6, label="p_data")
    ax.plot(x, P_G_1D.log_prob(grid.points).exp().numpy(), color="tab:orange", alpha=0.6, label="p_g")
    ax.plot(x, d_star.numpy(), color="black", linewidth=2, label="D*_LS = (p_data - p_g) / (p_data + p_g)")
    ax.plot(x, d.numpy(), color="tab:blue", linestyle="--", linewidth=2, label="trained D (lsgan, a=-1 b=1 c=0)")
    ax.set_xlabel("x")
    ax.set_title("LSGAN: trained D against D*_LS")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save_figure(fig, path)
