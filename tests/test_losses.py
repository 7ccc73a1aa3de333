"""Loss values against hand computation, the minimax/non-saturating gradient gap, and the
optimal-discriminator identities of Goodfellow et al. 2014."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganlab.losses.base import bce_discriminator_loss
from ganlab.losses.least_squares import LeastSquares
from ganlab.losses.minimax import Minimax
from ganlab.losses.nonsaturating import NonSaturating


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_discriminator_loss_is_minus_value_function():
    real, fake = torch.tensor([logit(0.9), logit(0.6)]), torch.tensor([logit(0.2), logit(0.3)])
    expected = -((math.log(0.9) + math.log(0.6)) / 2 + (math.log(0.8) + math.log(0.7)) / 2)
    for loss in (Minimax(), NonSaturating()):
        assert loss.d_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)


def test_generator_losses_by_hand():
    fake = torch.tensor([logit(0.2), logit(0.4)])
    # minimax: G minimises E[log(1 - D(G(z)))]; non-saturating: -E[log D(G(z))]
    assert Minimax().g_loss(fake).item() == pytest.approx((math.log(0.8) + math.log(0.6)) / 2, rel=1e-6)
    assert NonSaturating().g_loss(fake).item() == pytest.approx(-(math.log(0.2) + math.log(0.4)) / 2, rel=1e-6)


def test_minimax_is_the_saturating_form_not_the_nonsaturating_one():
    fake = torch.tensor([logit(0.01)])
    assert Minimax().g_loss(fake).item() == pytest.approx(math.log(0.99), rel=1e-6)  # about -0.01
    assert Minimax().g_loss(fake).item() != pytest.approx(NonSaturating().g_loss(fake).item(), rel=0.5)


def test_gradient_gap_at_d_of_fake_0_01():
    """d/dl log(1 - sigmoid(l)) = -sigmoid(l) = -0.01; d/dl -log sigmoid(l) = -(1 - sigmoid(l)) = -0.99."""
    grads = {}
    for name, loss in (("minimax", Minimax()), ("nonsaturating", NonSaturating())):
        fake_logit = torch.tensor([logit(0.01)], dtype=torch.float64, requires_grad=True)
        loss.g_loss(fake_logit).backward()
        grads[name] = fake_logit.grad.item()
    assert grads["minimax"] == pytest.approx(-0.01, rel=1e-9)
    assert grads["nonsaturating"] == pytest.approx(-0.99, rel=1e-9)
    assert grads["nonsaturating"] / grads["minimax"] == pytest.approx(99.0, rel=1e-9)


def test_losses_are_stable_at_extreme_logits():
    big = torch.tensor([-200.0, 200.0], requires_grad=True)
    for loss in (Minimax(), NonSaturating()):
        for value in (loss.d_loss(big, big), loss.g_loss(big)):
            assert torch.isfinite(value)
            (g,) = torch.autograd.grad(value, big)
            assert torch.isfinite(g).all()
    # log(sigmoid(-200)) underflows to -inf; softplus gives the exact -200
    assert NonSaturating().g_loss(torch.tensor([-200.0])).item() == pytest.approx(200.0, rel=1e-6)


def test_lsgan_values_and_codes():
    real, fake = torch.tensor([0.5, 1.5]), torch.tensor([0.2, -0.4])
    loss = LeastSquares()  # a=0, b=1, c=1
    expected_d = 0.5 * ((0.5 - 1) ** 2 + (1.5 - 1) ** 2) / 2 + 0.5 * (0.2**2 + 0.4**2) / 2
    assert loss.d_loss(real, fake).item() == pytest.approx(expected_d, rel=1e-6)
    assert loss.g_loss(fake).item() == pytest.approx(0.5 * ((0.2 - 1) ** 2 + (-0.4 - 1) ** 2) / 2, rel=1e-6)
    pearson = LeastSquares(a=-1, b=1, c=0)
    expected_d = 0.5 * ((0.5 - 1) ** 2 + (1.5 - 1) ** 2) / 2 + 0.5 * ((0.2 + 1) ** 2 + (-0.4 + 1) ** 2) / 2
    assert pearson.d_loss(real, fake).item() == pytest.approx(expected_d, rel=1e-6)
    assert pearson.g_loss(fake).item() == pytest.approx(0.5 * (0.2**2 + 0.4**2) / 2, rel=1e-6)
    with pytest.raises(ValueError):
        LeastSquares(a=1, b=1)


def _jsd(p: np.ndarray, q: np.ndarray) -> float:
    m = (p + q) / 2

    def kl(a, b):
        return float(np.sum(np.where(a > 0, a * np.log(np.where(a > 0, a, 1) / b), 0.0)))

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def _value_on_support(loss, logits: torch.Tensor, p_counts, q_counts) -> torch.Tensor:
    """V(D, G) with samples placed on a discrete support in proportion to p_data and p_g."""
    real = torch.cat([logits[i].repeat(c) for i, c in enumerate(p_counts)])
    fake = torch.cat([logits[i].repeat(c) for i, c in enumerate(q_counts)])
    return -loss.d_loss(real, fake)


def test_optimal_discriminator_gives_minus_log4_plus_2_jsd():
    """D*(x) = p_data / (p_data + p_g) and V(D*, G) = -log 4 + 2 JSD(p_data || p_g)."""
    p_counts, q_counts = [4, 2, 2, 0], [1, 1, 2, 4]  # p = counts / 8
    p, q = np.array(p_counts) / 8, np.array(q_counts) / 8
    d_star = p / (p + q)
    logits = torch.tensor([logit(d) if 0 < d < 1 else -50.0 for d in d_star], dtype=torch.float64)
    value = _value_on_support(Minimax(), logits, p_counts, q_counts).item()
    assert value == pytest.approx(-math.log(4) + 2 * _jsd(p, q), abs=1e-9)
    # and no other discriminator does better: D* is the maximiser
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        other = logits + 0.3 * torch.randn(4, generator=gen, dtype=torch.float64)
        assert _value_on_support(Minimax(), other, p_counts, q_counts).item() < value


def test_value_is_minus_log4_when_generator_matches_data():
    counts = [3, 1, 4]
    logits = torch.zeros(3, dtype=torch.float64)  # D* = 1/2 everywhere
    assert _value_on_support(Minimax(), logits, counts, counts).item() == pytest.approx(-math.log(4), abs=1e-12)


def test_bce_helper_matches_torch_reference():
    gen = torch.Generator().manual_seed(3)
    real, fake = torch.randn(50, generator=gen) * 3, torch.randn(50, generator=gen) * 3
    ref = torch.nn.functional.binary_cross_entropy_with_logits(
        real, torch.ones(50)
    ) + torch.nn.functional.binary_cross_entropy_with_logits(fake, torch.zeros(50))
    torch.testing.assert_close(bce_discriminator_loss(real, fake), ref, rtol=1e-6, atol=1e-7)
