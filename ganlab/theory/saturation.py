"""Claim `saturation`: log(1 - D(G(z))) stops teaching G once D rejects its samples; -log D(G(z)) does not.

Goodfellow et al. 2014, section 3: "Early in learning, when G is poor, D can reject samples with
high confidence ... log(1 - D(G(z))) saturates." With D(G(z)) = sigmoid(l), the minimax generator
loss has d/dl = -D(G(z)) per sample and the non-saturating one -(1 - D(G(z))): as D grows
confident, the first vanishes and the second tends to its largest value. Here G is fixed far from
the data, D (trained with the shared D loss, -V) grows stronger step by step, and both generator
gradients are measured with respect to G's parameters.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganlab import plugins
from ganlab.losses.base import Loss
from ganlab.theory.common import AffineG, Check, ClaimResult, Settings, mlp_discriminator, train_discriminator
from ganlab.theory.dstar import P_DATA_1D

ID = "saturation"
STATEMENT = (
    "G loss log(1 - D(G(z))) saturates as D rejects fakes; -log D(G(z)) does not (Goodfellow et al. 2014, sec. 3)"
)
DEFAULT_LOSS = "nonsaturating"
D_STEPS = (0, 10, 100, 1000)
RATIO_AT_LEAST = 10.0  # the bar; measured ~100 at 1000 D steps
G_MEAN, G_STD = 5.0, 0.5  # a poor G, early in training: p_g = N(5, 0.5^2) against p_data = N(0, 1)
N_Z = 4096  # fixed noise for the gradient norms


def g_grad_norm(G: AffineG, D: nn.Module, loss: Loss, z: Tensor, real: Tensor) -> float:
    """|d g_loss / d (mean, std)| on the fixed noise z."""
    real_logits = D(real) if loss.needs_real_logits_in_g else None
    g_loss = loss.g_loss(D(G(z)), real_logits)
    grads = torch.autograd.grad(g_loss, list(G.parameters()))
    return float(torch.linalg.vector_norm(torch.stack([g.reshape(()) for g in grads])))


def logit_gradient_gap(loss: Loss, logits: Tensor) -> float:
    """max |d g_loss / d l_i - (-D(G(z_i)) / N)|: the minimax closed form the claim rests on."""
    logits = logits.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss.g_loss(logits), [logits])
    return float((grad + torch.sigmoid(logits.detach()) / len(logits)).abs().max())


def run(settings: Settings) -> ClaimResult:
    name = settings.loss or DEFAULT_LOSS
    other, _ = plugins.create("loss", name)
    minimax, _ = plugins.create("loss", "minimax")
    with settings.init_seed(41):
        D = mlp_discriminator(1, hidden=32)
    G = AffineG(G_MEAN, G_STD)
    gen = settings.generator(41)
    z = torch.randn(N_Z, 1, generator=settings.generator(42), dtype=torch.float64)
    real = P_DATA_1D.sample(N_Z, settings.generator(43))
    rows, done = [], 0
    for steps in D_STEPS:
        # D ascends V on fresh batches (constant rate: one D, trained on between the checkpoints)
        train_discriminator(D, minimax, P_DATA_1D.sample, G.sample, steps - done, gen, lr=3e-3, decay=False)
        done = steps
        with torch.no_grad():
            d_fake = float(torch.sigmoid(D(G(z))).mean())
        norm_mm, norm_other = g_grad_norm(G, D, minimax, z, real), g_grad_norm(G, D, other, z, real)
        rows.append(
            {
                "d_steps": steps,
                "mean_D_G_z": d_fake,
                "grad_norm_minimax": norm_mm,
                f"grad_norm_{name}": norm_other,
                "ratio": norm_other / norm_mm if norm_mm > 0 else float("inf"),
            }
        )
    with torch.no_grad():
        logits = D(G(z))
    result = ClaimResult(
        ID,
        STATEMENT,
        [
            Check(
                f"|grad {name}| / |grad minimax| at {D_STEPS[-1]} D steps",
                rows[-1]["ratio"],
                RATIO_AT_LEAST,
                0.0,
                "at_least",
            ),
            Check("max |d(minimax g_loss)/d logit + D(G(z))/N|", logit_gradient_gap(minimax, logits), 0.0, 1e-12),
        ],
        details={"loss": name, "g": f"G(z) = {G_MEAN:g} + {G_STD:g} z, p_data = N(0, 1)", "d_loss": "minimax (-V)"},
        tables={"by_d_steps": rows},
    )
    path = settings.plot_path("theory-saturation")
    if path is not None:
        _plot(path, rows, name)
        result.plots.append(str(path))
    return result


def _plot(path, rows: list[dict], name: str) -> None:
    from ganlab.viz import _pyplot, save_figure

    plt = _pyplot()
    x = [r["mean_D_G_z"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.5, 4.4), dpi=100)
    ax.plot(x, [r["grad_norm_minimax"] for r in rows], "o-", color="tab:red", label="minimax: log(1 - D(G(z)))")
    ax.plot(x, [r[f"grad_norm_{name}"] for r in rows], "s-", color="tab:blue", label=f"{name}")
    for r in rows:
        ax.annotate(
            f"{r['d_steps']} D steps",
            (r["mean_D_G_z"], r["grad_norm_minimax"]),
            fontsize=7,
            textcoords="offset points",
            xytext=(4, -10),
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.invert_xaxis()  # D grows stronger to the right
    ax.set_xlabel("mean D(G(z))  (stronger D to the right)")
    ax.set_ylabel("|generator gradient|")
    ax.set_title("Generator gradient as D learns to reject a fixed G")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    save_figure(fig, path)
