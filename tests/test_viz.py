"""Pictures: grid cells enlarged by nearest neighbour, scatter frames that fit the data, loss curves
that label critic scores as scores."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab import viz


@pytest.mark.parametrize("height, factor", [(8, 8), (16, 4), (28, 3), (32, 2), (64, 1), (128, 1)])
def test_small_images_are_enlarged_to_a_readable_cell(height, factor):
    assert viz.upscale_factor(height) == factor and height * factor >= viz.READABLE_PX


def test_grid_cells_are_each_pixel_as_a_sharp_square(tmp_path):
    images = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    viz.save_grid(images, tmp_path / "g.png", nrow=3)
    grid = np.asarray(Image.open(tmp_path / "g.png"))[..., 0]
    assert grid.shape == (66 + 2, 3 * 66 + 2)  # 64 px cells, 2 px padding around each
    pixels = np.floor((images[1, 0].numpy().astype(np.float64) + 1) / 2 * 255 + 0.5)  # save_image's rounding
    np.testing.assert_allclose(grid[2:66, 68:132], np.kron(pixels, np.ones((8, 8))), atol=1)


def ring(n: int = 8) -> torch.Tensor:
    return torch.tensor([[math.cos(2 * math.pi * i / n), math.sin(2 * math.pi * i / n)] for i in range(n)])


def test_scatter_frame_fits_the_modes_and_the_samples():
    on_modes = ring()[torch.arange(400) % 8] + 0.01 * torch.randn(400, 2, generator=torch.Generator().manual_seed(0))
    (x0, x1), (y0, y1) = viz.frame([ring(), on_modes])
    assert x0 == pytest.approx(-1.2, abs=0.05) and x1 == pytest.approx(1.2, abs=0.05)  # span 2 plus 10 % a side
    assert (y0, y1) == pytest.approx((x0, x1), abs=0.01)  # square: circles stay circles
    grid_modes = torch.tensor([[a, b] for a in range(-4, 5, 2) for b in range(-4, 5, 2)], dtype=torch.float32)
    (gx0, gx1), _ = viz.frame([grid_modes, grid_modes])
    assert (gx0, gx1) == pytest.approx((-4.8, 4.8))  # not a fixed +-1.5 x the largest mode
    collapsed = torch.full((400, 2), 3.0)  # every sample far from the ring: still in the picture
    (cx0, cx1), (cy0, cy1) = viz.frame([ring(), collapsed])
    assert cx0 < -1 and cx1 > 3 and cy1 > 3


def test_a_few_wild_samples_do_not_shrink_the_rest_to_a_dot():
    points = torch.randn(1000, 2, generator=torch.Generator().manual_seed(1))
    points[:3] = 1e4  # 0.3 % diverged samples
    (x0, x1), _ = viz.frame([ring(), points])
    assert x1 < 10 and x0 > -10


def _bottom_panel(monkeypatch, rows, **kw):
    figures = []
    monkeypatch.setattr(viz, "save_figure", lambda fig, path: figures.append(fig))
    viz.save_loss_curve(rows, "unused.png", **kw)
    bottom = figures[0].axes[1]
    return bottom.get_ylabel(), [t.get_text() for t in bottom.get_legend().get_texts()], bottom.get_ylim()


def test_loss_curve_plots_critic_scores_as_scores(monkeypatch):
    base = [{"step": s, "d_loss": 1.0, "g_loss": 1.0} for s in range(1, 6)]
    probs = [r | {"d_real": 0.6, "d_fake": 0.4} for r in base]
    label, legend, ylim = _bottom_panel(monkeypatch, probs)
    assert label == "mean D output, sigmoid(D)" and legend == ["D(x)", "D(G(z))"] and ylim == (-0.02, 1.02)
    critic = [r | {"critic_real": 12.5, "critic_fake": -30.0} for r in base]
    label, legend, ylim = _bottom_panel(monkeypatch, critic, d_is_probability=False)
    assert label == "mean critic score (not a probability)" and legend == ["C(x)", "C(G(z))"]
    assert ylim[0] < -30 and ylim[1] > 12.5  # raw scores, not squeezed into [0, 1]
    label, _, _ = _bottom_panel(monkeypatch, probs, d_is_probability=False)  # a critic run from before critic_*
    assert label == "sigmoid of critic scores (not probabilities)"
