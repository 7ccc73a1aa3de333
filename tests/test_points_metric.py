"""The energy distance (ganlab.metrics.points) against closed forms, and as the points metric."""

from __future__ import annotations

import math

import pytest
import torch

from ganlab.data.base import MixtureSource
from ganlab.data.toy2d import Ring
from ganlab.metrics.points import energy_distance, repeated


def test_two_point_masses_are_twice_their_distance_apart():
    x = torch.tensor([[0.0, 0.0]]).repeat(5, 1)
    y = torch.tensor([[3.0, 4.0]]).repeat(7, 1)
    assert energy_distance(x, y) == pytest.approx(2 * 5.0, rel=1e-12)  # within-set terms are exactly 0
    assert energy_distance(x, x) == 0.0


def test_uniform_segment_against_its_end_point_is_two_thirds():
    """X = (U, 0), U ~ U[0, 1], Y = 0: 2 E|X| - E|X - X'| - 0 = 2 (1/2) - 1/3 = 2/3."""
    u = torch.rand(4000, 1, generator=torch.Generator().manual_seed(0))
    x = torch.cat([u, torch.zeros_like(u)], dim=1)
    assert energy_distance(x, torch.zeros(2, 2)) == pytest.approx(2 / 3, abs=0.01)


def test_scales_linearly_with_the_data():
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(300, 2, generator=gen), torch.randn(200, 2, generator=gen) + 1
    assert energy_distance(2 * x, 2 * y) == pytest.approx(2 * energy_distance(x, y), rel=1e-12)


@pytest.mark.slow
def test_a_source_against_itself_is_zero_within_noise_and_dropped_modes_are_far():
    ring = Ring().load(None, None)
    half = MixtureSource(ring.means[:4], ring.std)
    real = lambda r: ring.sample(1000, torch.Generator().manual_seed(100 + r))  # noqa: E731
    same, same_std = repeated(lambda r: ring.sample(1000, torch.Generator().manual_seed(r)), real, 5)
    dropped, dropped_std = repeated(lambda r: half.sample(1000, torch.Generator().manual_seed(r)), real, 5)
    assert abs(same) < 4 * same_std + 1e-3 and same_std < 0.01
    assert dropped > 0.3 and dropped > 10 * dropped_std
    assert not math.isnan(same_std)
