"""Claim `convergence`: Algorithm 1 drives p_g to p_data when D stays near its optimum.

Goodfellow et al. 2014, Prop. 2: if D reaches D* for the current G at every step and p_g moves to
improve V(D*, G), p_g converges to p_data. Here p_data = N(0, 1), G(z) = mean + std * z (so p_g
ranges over Gaussians and can equal p_data), and D is a logistic regression on (x, x^2). That
family holds D* exactly for every Gaussian p_g (log p_data/p_g is quadratic in x), and fitting it
is convex, so "D near optimal" is a premise that k gradient steps can actually keep. The flexible
MLP D is tested on its own in `dstar`, `value` and `lsgan`. The JSD after each G step is exact up
to quadrature, computed from G's two parameters.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganlab import plugins
from ganlab.losses.base import Loss
from ganlab.theory import densities as dens
from ganlab.theory.common import AffineG, Check, ClaimResult, Settings
from ganlab.theory.dstar import P_DATA_1D, P_G_1D

ID = "convergence"
STATEMENT = "Algorithm 1 (k D steps per G step) with D near D* drives p_g to p_data (Goodfellow et al. 2014, Prop. 2)"
LOSSES = ("minimax", "nonsaturating")
KS = (1, 5)
JSD_AT_MOST = 1e-3  # the bar; the runs below end near 1e-5 (quick) and 1e-6 (full)
# D learns faster than G (two time scales, Heusel et al. 2017) so it tracks D* with k = 1 too;
# both rates fall linearly to 0 so the last steps average out minibatch noise
LR_D, LR_G = 0.1, 0.03
BETAS = (0.5, 0.999)


class QuadraticD(nn.Module):
    """logit(x) = w2 x^2 + w1 x + w0: the family of log-ratios of two Gaussians."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1).double()

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(torch.cat([x, x * x], dim=1)).flatten()


def train(loss: Loss, k: int, steps: int, batch: int, settings: Settings, salt: int) -> list[float]:
    """Algorithm 1 from G = N(1.5, 0.75^2); returns the JSD before the first and after every G step."""
    with settings.init_seed(salt):
        D = QuadraticD()
    G = AffineG(P_G_1D.mean[0], P_G_1D.std)
    gen = settings.generator(salt)
    opt_d = torch.optim.Adam(D.parameters(), lr=LR_D, betas=BETAS)
    opt_g = torch.optim.Adam(G.parameters(), lr=LR_G, betas=BETAS)
    decay = [torch.optim.lr_scheduler.LambdaLR(o, lambda i: 1 - i / steps) for o in (opt_d, opt_g)]
    grid = dens.grid1d(-15.0, 15.0, 3001)
    history = [jsd_of(G, grid)]
    for _ in range(steps):
        for _ in range(k):  # k D steps, each on a fresh minibatch
            real, fake = P_DATA_1D.sample(batch, gen), G.sample(batch, gen)
            d_loss = loss.d_loss(D(real), D(fake))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        z = torch.randn(batch, 1, generator=gen, dtype=torch.float64)
        real_logits = D(P_DATA_1D.sample(batch, gen)) if loss.needs_real_logits_in_g else None
        g_loss = loss.g_loss(D(G(z)), real_logits)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        for schedule in decay:
            schedule.step()
        history.append(jsd_of(G, grid))
    return history


def jsd_of(G: AffineG, grid: dens.Grid) -> float:
    """JSD(p_data || N(mean, std^2)) by quadrature; |std| since G(z) and G(-z) have one law."""
    with torch.no_grad():
        p_g = dens.gaussian1d(float(G.mean), abs(float(G.std)))
    return dens.jsd(P_DATA_1D, p_g, grid)


def run(settings: Settings) -> ClaimResult:
    steps, batch = (300, 512) if settings.quick else (1000, 1024)
    curves: dict[str, list[float]] = {}
    rows: list[dict] = []
    for i, (name, k) in enumerate((n, k) for n in LOSSES for k in KS):
        loss, _ = plugins.create("loss", name)
        history = train(loss, k, steps, batch, settings, salt=51 + i)
        label = f"{name}, k={k}"
        curves[label] = history
        rows.append({"loss": name, "k": k, "jsd_start": history[0], "jsd_final": history[-1], "jsd_min": min(history)})
    worst = max(history[-1] for history in curves.values())
    result = ClaimResult(
        ID,
        STATEMENT,
        [Check("largest final JSD over {minimax, nonsaturating} x {k=1, k=5}", worst, 0.0, JSD_AT_MOST, "at_most")],
        details={
            "p_data": "N(0, 1)",
            "g_start": "N(1.5, 0.75^2)",
            "d": "logistic regression on (x, x^2)",
            "g_steps": steps,
            "batch": batch,
            "lr_d": LR_D,
            "lr_g": LR_G,
        },
        tables={"runs": rows},
    )
    path = settings.plot_path("theory-convergence")
    if path is not None:
        _plot(path, curves)
        result.plots.append(str(path))
    return result


def _plot(path, curves: dict[str, list[float]]) -> None:
    from ganlab.viz import _pyplot, save_figure

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.4), dpi=100)
    for (label, values), color in zip(curves.items(), ("tab:red", "tab:orange", "tab:blue", "tab:cyan"), strict=False):
        ax.plot(range(len(values)), [max(v, 1e-12) for v in values], color=color, label=label, linewidth=1.2)
    ax.axhline(JSD_AT_MOST, color="gray", linestyle=":", label="1e-3")
    ax.set_yscale("log")
    ax.set_xlabel("generator step")
    ax.set_ylabel("JSD(p_data || p_g)  (exact, quadrature)")
    ax.set_title("Algorithm 1 on N(0, 1): p_g = N(mean, std²) from G's parameters")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    save_figure(fig, path)
