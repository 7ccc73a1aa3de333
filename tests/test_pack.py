"""PacGAN packing (--pack m, issue 15): D sees m samples side by side, real with real and fake with
fake, batch_size / m decisions per batch; resume keeps pack, export writes G alone. Also the mlp
options of PacGAN's networks and the fixed training set of the toy mixtures."""

from __future__ import annotations

import math

import pytest
import torch

from ganlab.archs.base import packed_shape
from ganlab.archs.mlp import MLP, Maxout
from ganlab.config import RunConfig
from ganlab.data.toy2d import Grid, Ring
from ganlab.errors import ConfigError
from ganlab.run import runner
from ganlab.run.restore import restore
from ganlab.run.trainer import Trainer
from tests.conftest import tiny_config

RING = dict(data="ring", arch="mlp", arch_options={"hidden": 16}, image_size=None, batch_size=12, latent_dim=4)


def recording(module: torch.nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Every (input, output) of `module`'s forward calls from now on."""
    calls: list[tuple[torch.Tensor, torch.Tensor]] = []
    module.register_forward_hook(lambda _m, args, out: calls.append((args[0].detach(), out.detach())))
    return calls


def test_pack_puts_consecutive_samples_side_by_side_along_features_and_channels():
    trainer = Trainer(tiny_config(pack=3, **RING))
    points = torch.arange(12 * 2.0).reshape(12, 2)  # (N, 2)
    packed = trainer._pack(points)
    assert packed.shape == (4, 6)
    assert torch.equal(packed[1], torch.cat([points[3], points[4], points[5]]))
    images = torch.arange(4 * 2 * 3 * 3.0).reshape(4, 2, 3, 3)  # (N, C, H, W)
    trainer.config.pack = 2
    packed = trainer._pack(images)
    assert packed.shape == (2, 4, 3, 3)
    assert torch.equal(packed[1], torch.cat([images[2], images[3]]))  # channels of sample 2, then of sample 3


def test_d_judges_packed_real_with_real_and_fake_with_fake(monkeypatch):
    trainer = Trainer(tiny_config(pack=3, d_steps=1, **RING))
    real = 100 + torch.rand(12, 2)  # every real coordinate > 100, every fake one < -100
    fake = -100 - torch.rand(12, 2)
    monkeypatch.setattr(trainer, "real_batch", lambda: real)
    trainer.G_fast = lambda z: fake[: len(z)]
    calls = recording(trainer.D)
    trainer.train_step()
    (d_real, real_logits), (d_fake, fake_logits), (g_fake, g_logits) = calls  # D step, then G step
    assert torch.equal(d_real, real.reshape(4, 6)) and torch.equal(d_fake, fake.reshape(4, 6))
    assert torch.equal(g_fake, fake.reshape(4, 6))
    assert (d_real > 100).all() and (d_fake < -100).all()  # no row mixes real and fake
    assert real_logits.shape == fake_logits.shape == g_logits.shape == (4,)  # batch_size / pack decisions


def test_packed_d_takes_m_times_the_features_or_channels_and_g_is_unchanged():
    plain, packed = Trainer(tiny_config(**RING)), Trainer(tiny_config(pack=4, **RING))
    assert packed.D.net[1].in_features == 4 * 2 and plain.D.net[1].in_features == 2
    for a, b in zip(plain.G.state_dict().values(), packed.G.state_dict().values(), strict=True):
        assert torch.equal(a, b)  # same seed, same G: packing only changes D
    image = Trainer(tiny_config(pack=2))  # dcgan on digits, 1 channel
    first_conv = next(m for m in image.D.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.in_channels == 2
    assert packed_shape((3, 8, 8), 4) == (12, 8, 8) and packed_shape((2,), 3) == (6,)


def test_batch_size_not_a_multiple_of_pack_is_refused():
    with pytest.raises(ConfigError, match=r"batch_size 10 is not a multiple of pack 4.*--batch-size"):
        RunConfig(batch_size=10, pack=4).validate()
    with pytest.raises(ConfigError, match="pack must be an integer >= 1"):
        RunConfig(pack=0).validate()


@pytest.mark.slow
def test_a_packed_run_resumes_bit_identically_and_keeps_its_pack(tmp_path):
    cfg = dict(RING, pack=2, checkpoint_every=100)
    full, _ = runner.start(tiny_config(runs_dir=str(tmp_path), name="full", steps=6, **cfg))
    half, _ = runner.start(tiny_config(runs_dir=str(tmp_path), name="half", steps=3, **cfg))
    with pytest.raises(ConfigError, match="drop --pack"):
        runner.resume(half.path, {"steps": 6, "pack": 1})
    resumed, _ = runner.resume(half.path, {"steps": 6})
    a, b = full.checkpoint("last"), resumed.checkpoint("last")
    for net in ("G", "D"):
        assert a[net].keys() == b[net].keys() and all(torch.equal(a[net][k], b[net][k]) for k in a[net])
    restored = restore(resumed.path)  # D comes back packed, G as trained
    assert restored.config.pack == 2 and restored.D.net[1].in_features == 4
    assert restored.sample(5).shape == (5, 2)


@pytest.mark.slow
@pytest.mark.third_party_plugins
def test_gradient_penalty_runs_on_packed_batches():
    pytest.importorskip("ganlab_wgan")
    trainer = Trainer(tiny_config(loss="wgan-gp", pack=2, **RING))
    calls = recording(trainer.D)
    trainer.train_step()
    assert all(x.shape[1] == 4 for x, _ in calls)  # the interpolates are packed too
    assert len(calls) > 3  # real, fake, interpolates, G step


# --- PacGAN's networks as mlp options ------------------------------------------------------------
PACGAN = dict(g_hidden=400, g_depth=4, g_norm="batch", d_hidden=200, d_depth=3, d_maxout=5, init="normal")


def test_pacgan_options_build_papers_networks():
    torch.manual_seed(0)
    G, D = MLP(**PACGAN).build((2 * 4,), 2)  # pack 4 on 2D points
    linears = [m for m in G.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features, m.bias is None) for m in linears] == [
        (2, 400, True),
        (400, 400, True),
        (400, 400, True),
        (400, 400, True),
        (400, 8, False),
    ]
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in G.modules()) == 4
    maxouts = [m for m in D.modules() if isinstance(m, Maxout)]
    assert [(m.linear.in_features, m.units, m.pieces) for m in maxouts] == [(8, 200, 5), (200, 200, 5), (200, 200, 5)]
    weights = torch.cat([m.weight.flatten() for m in D.modules() if isinstance(m, torch.nn.Linear)])
    assert weights.std().item() == pytest.approx(0.02, rel=0.02)
    assert D(torch.randn(10, 8)).shape == (10,)


def test_maxout_is_the_max_of_its_pieces():
    layer = Maxout(3, units=2, pieces=4)
    x = torch.randn(5, 3)
    pieces = layer.linear(x).reshape(5, 2, 4)
    expected = torch.stack([pieces[:, u, :].max(dim=1).values for u in range(2)], dim=1)
    assert torch.equal(layer(x), expected)


def test_mlp_defaults_build_the_networks_they_built_before():
    torch.manual_seed(0)
    G, D = MLP(hidden=16, depth=2).build((2,), 4)
    assert not any(isinstance(m, (torch.nn.BatchNorm1d, Maxout)) for m in [*G.modules(), *D.modules()])
    assert all(m.bias is not None for m in G.modules() if isinstance(m, torch.nn.Linear))


@pytest.mark.parametrize(
    "options, fragment",
    [({"g_norm": "layer"}, "g_norm"), ({"d_maxout": -1}, "d_maxout"), ({"init": "xavier"}, "init")],
)
def test_bad_mlp_options_name_the_option(options, fragment):
    with pytest.raises(ValueError, match=fragment):
        MLP(**options)


# --- a fixed training set ----------------------------------------------------------------------
def test_n_train_draws_one_fixed_set_and_batches_come_from_it():
    source = Ring(n_train=500).load(None, None)
    again = Ring(n_train=500).load(None, None)
    assert len(source) == 500 and torch.equal(source.points, again.points)  # the same set every run
    batch = source.sample(64, torch.Generator().manual_seed(1))
    assert (batch[:, None, :] == source.points[None]).all(dim=2).any(dim=1).all()  # every point is one of the set
    assert source.meta["n_train"] == 500 and len(source.meta["modes"]) == 8
    # the set is a fair draw from the mixture: about 1/25 of the points at each grid mode
    grid = Grid(n_train=25_000).load(None, None)
    share = torch.bincount(torch.cdist(grid.points, grid.means).argmin(dim=1), minlength=25) / 25_000
    assert ((share - 1 / 25).abs() < 5 * math.sqrt(1 / 25 * 24 / 25 / 25_000)).all()


def test_n_train_zero_keeps_fresh_draws():
    source = Ring().load(None, None)
    assert not hasattr(source, "points") and "n_train" not in source.meta
    with pytest.raises(ValueError, match="n_train"):
        Ring(n_train=-5)


# --- --lr-schedule ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "schedule, factors",
    [
        ("constant", [1.0, 1.0, 1.0, 1.0]),
        ("linear", [1.0, 0.75, 0.5, 0.25]),
        ("cosine", [1.0, 0.5 * (1 + math.cos(math.pi / 4)), 0.5, 0.5 * (1 + math.cos(3 * math.pi / 4))]),
    ],
)
def test_lr_schedule_sets_both_rates_from_the_step(schedule, factors):
    trainer = Trainer(tiny_config(steps=4, lr_g=4e-4, lr_d=2e-4, lr_schedule=schedule, **RING))
    seen = []
    for _ in range(4):
        trainer.schedule_lr()
        seen.append((trainer.opt_g.param_groups[0]["lr"], trainer.opt_d.param_groups[0]["lr"]))
        trainer.train_step()
    assert seen == [pytest.approx((4e-4 * f, 2e-4 * f), rel=1e-12) for f in factors]


def test_unknown_lr_schedule_is_refused():
    with pytest.raises(ConfigError, match="unknown lr_schedule 'step'; choose constant, linear, cosine"):
        RunConfig(lr_schedule="step").validate()


def test_a_scheduled_run_interrupted_and_resumed_ends_bit_identical():
    """The rate is a function of the step alone: a trainer rebuilt from a mid-run state continues
    the schedule exactly (an interrupted run resumed to the same --steps)."""
    from ganlab.run.trainer import train

    cfg = dict(RING, lr_schedule="cosine", steps=6)
    whole = Trainer(tiny_config(**cfg))
    train(whole, 6)
    first = Trainer(tiny_config(**cfg))
    train(first, 3)
    second = Trainer(tiny_config(**cfg))
    second.load_state_dict(first.state_dict())
    train(second, 6)
    for a, b in zip(whole.G.state_dict().values(), second.G.state_dict().values(), strict=True):
        assert torch.equal(a, b)
