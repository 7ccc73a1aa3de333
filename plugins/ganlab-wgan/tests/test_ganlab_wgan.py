"""ganlab-wgan: the contract suite, loss values by hand, the gradient penalty in closed form."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganlab import plugins
from ganlab.config import RunConfig
from ganlab.errors import ConfigError
from ganlab.run.trainer import Trainer
from ganlab.testing import check_loss
from ganlab_wgan.hinge import Hinge
from ganlab_wgan.wgan_gp import WGANGP, gradient_penalty


class Linear(nn.Module):
    """D(x) = <w, x> + b: grad_x D = w everywhere, so the penalty is lambda (||w|| - 1)^2 exactly."""

    def __init__(self, w: list[float], b: float = 0.5):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w, dtype=torch.float64))
        self.b = nn.Parameter(torch.tensor(b, dtype=torch.float64))

    def forward(self, x):
        return x.flatten(1) @ self.w + self.b  # (N,)


class HalfSquare(nn.Module):
    """D(x) = ||x||^2 / 2: grad_x D = x, so ||grad D(xhat)|| = ||xhat||."""

    def forward(self, x):
        return 0.5 * (x.flatten(1) ** 2).sum(1)


@pytest.mark.parametrize("name, cls", [("wgan-gp", WGANGP), ("hinge", Hinge)])
def test_installed_entry_point_comes_from_this_package(name, cls):
    spec = plugins.find("loss", name)
    assert (spec.dist, spec.version) == ("ganlab-wgan", "0.1.0")
    loaded, _ = plugins.load("loss", name)
    assert loaded is cls


@pytest.mark.parametrize("name, options", [("wgan-gp", None), ("wgan-gp", {"lambda_gp": 1.5}), ("hinge", None)])
def test_contract_suite(name, options):
    values = check_loss(name, options)
    assert set(values) == ({"d_loss", "g_loss", "penalty"} if name == "wgan-gp" else {"d_loss", "g_loss"})


def test_hinge_by_hand():
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-2.0, 0.0, 0.5])
    # relu(1 - real) = (0, 0.5, 2); relu(1 + fake) = (0, 1, 1.5)
    assert Hinge().d_loss(real, fake).item() == pytest.approx(2.5 / 3 + 2.5 / 3, rel=1e-6)
    assert Hinge().g_loss(fake).item() == pytest.approx(0.5, rel=1e-6)


def test_hinge_ignores_samples_outside_the_margin():
    real = torch.tensor([1.5, 0.2], requires_grad=True)  # 1.5 is past the margin of 1
    fake = torch.tensor([-3.0, 0.0], requires_grad=True)  # -3 is past the margin of -1
    Hinge().d_loss(real, fake).backward()
    assert real.grad.tolist() == pytest.approx([0.0, -0.5])
    assert fake.grad.tolist() == pytest.approx([0.0, 0.5])


def test_wasserstein_terms_by_hand():
    real, fake = torch.tensor([3.0, 1.0]), torch.tensor([-1.0, 0.0])
    assert WGANGP().d_loss(real, fake).item() == pytest.approx(-0.5 - 2.0)  # E[D(fake)] - E[D(real)]
    assert WGANGP().g_loss(fake).item() == pytest.approx(0.5)  # -E[D(fake)]


def test_penalty_of_a_linear_critic_is_closed_form():
    D = Linear([3.0, 4.0])  # ||w|| = 5
    real = torch.randn(6, 2, dtype=torch.float64)
    fake = torch.randn(6, 2, dtype=torch.float64)
    assert WGANGP().penalty(D, real, fake).item() == pytest.approx(10 * (5 - 1) ** 2, rel=1e-12)
    assert WGANGP(lambda_gp=2.5).penalty(D, real, fake).item() == pytest.approx(2.5 * 16, rel=1e-12)
    assert WGANGP(lambda_gp=0).penalty(D, real, fake).item() == 0.0


def test_penalty_on_images_uses_the_norm_over_all_pixels():
    D = Linear([1.0, 2.0, 2.0, 4.0])  # images (N, 1, 2, 2); ||w|| = 5
    x = torch.randn(3, 1, 2, 2, dtype=torch.float64)
    assert WGANGP().penalty(D, x, -x).item() == pytest.approx(160.0, rel=1e-12)


def test_penalty_gradient_with_respect_to_the_critic():
    """d/dw lambda (||w|| - 1)^2 = 2 lambda (||w|| - 1) w / ||w|| = 2*10*4*(0.6, 0.8) = (48, 64)."""
    D = Linear([3.0, 4.0])
    x = torch.randn(4, 2, dtype=torch.float64)
    WGANGP().penalty(D, x, x.flip(0)).backward()
    assert D.w.grad.tolist() == pytest.approx([48.0, 64.0], rel=1e-12)
    assert D.b.grad is None  # the bias drops out of grad_x D: the penalty's graph never reaches it


def test_interpolates_are_per_sample_and_drawn_from_the_seeded_torch_rng():
    """With D = ||x||^2/2, real = r and fake = 0, xhat = eps r and the norm is eps ||r||."""
    r = torch.tensor([[3.0, 4.0]] * 5, dtype=torch.float64)  # ||r|| = 5
    torch.manual_seed(7)
    got = gradient_penalty(HalfSquare(), r, torch.zeros_like(r)).item()
    torch.manual_seed(7)
    eps = torch.rand(5, 1, dtype=torch.float64).flatten()  # the draw the penalty makes
    assert 0 < eps.std() and got == pytest.approx(((eps * 5 - 1) ** 2).mean().item(), rel=1e-12)
    torch.manual_seed(8)
    assert gradient_penalty(HalfSquare(), r, torch.zeros_like(r)).item() != pytest.approx(got, rel=1e-6)


@pytest.mark.parametrize("bad", [-1.0, "ten", True])
def test_bad_lambda_is_a_config_error_naming_the_option(bad):
    with pytest.raises(ConfigError, match="lambda_gp must be a number >= 0"):
        plugins.create("loss", "wgan-gp", {"lambda_gp": bad})


def tiny(loss: str, seed: int = 0) -> RunConfig:
    return RunConfig(
        loss=loss,
        arch="mlp",
        data="ring",
        arch_options={"hidden": 16},
        batch_size=16,
        latent_dim=4,
        steps=3,
        seed=seed,
        device="cpu",
    )


@pytest.mark.parametrize("loss", ["wgan-gp", "hinge"])
def test_trains_and_seeded_runs_repeat_exactly(loss):
    runs = []
    for _ in range(2):
        trainer = Trainer(tiny(loss))
        before = [p.detach().clone() for p in trainer.G.parameters()]
        stats = [trainer.train_step() for _ in range(3)]
        assert all(math.isfinite(s["d_loss"]) and math.isfinite(s["g_loss"]) for s in stats)
        assert any(not torch.equal(a, b) for a, b in zip(before, trainer.G.parameters(), strict=True))
        runs.append(stats)
    assert runs[0] == runs[1]
    if loss == "wgan-gp":
        assert all(s["penalty"] > 0 for s in runs[0])
