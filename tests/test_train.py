"""The training loop: Algorithm 1's k, every loss x arch, determinism, resume, run folder."""

from __future__ import annotations

import json

import pytest
import torch

from ganlab.config import load_toml
from ganlab.run import runner
from ganlab.run.trainer import Callback, Trainer
from tests.conftest import tiny_config


def weights(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


LOSSES = ["minimax", "nonsaturating", "lsgan"]


@pytest.mark.slow
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("arch,data", [("dcgan", "digits"), ("mlp", "digits"), ("mlp", "ring")])
def test_a_few_steps_for_each_loss_and_arch(loss, arch, data):
    options = {"width": 8} if arch == "dcgan" else {"hidden": 16, "depth": 2}
    cfg = tiny_config(loss=loss, arch=arch, data=data, arch_options=options, image_size=None if data == "ring" else 8)
    trainer = Trainer(cfg)
    g0, d0 = weights(trainer.G), weights(trainer.D)
    for _ in range(3):
        stats = trainer.train_step()
    assert stats["step"] == 3
    assert all(torch.isfinite(torch.tensor(v)) for v in stats.values())
    assert 0 <= stats["d_real"] <= 1 and 0 <= stats["d_fake"] <= 1 and stats["g_grad_norm"] > 0
    assert not same_weights(g0, weights(trainer.G)) and not same_weights(d0, weights(trainer.D))


def test_k_discriminator_steps_per_generator_step():
    trainer = Trainer(tiny_config(d_steps=3))
    calls = {"d": 0, "g": 0}
    d_step, g_step = trainer.opt_d.step, trainer.opt_g.step
    trainer.opt_d.step = lambda *a, **k: (calls.__setitem__("d", calls["d"] + 1), d_step(*a, **k))[1]
    trainer.opt_g.step = lambda *a, **k: (calls.__setitem__("g", calls["g"] + 1), g_step(*a, **k))[1]
    batches = []
    sample = trainer.data.sample
    trainer.data.sample = lambda n, g: batches.append(sample(n, g)) or batches[-1]
    trainer.train_step()
    trainer.train_step()
    assert calls == {"d": 6, "g": 2}
    assert len(batches) == 6 and not torch.equal(batches[0], batches[1])  # a fresh minibatch each D step


def test_sgd_with_momentum_is_available():
    trainer = Trainer(tiny_config(optimizer="sgd", lr_g=0.1, lr_d=0.01))
    assert isinstance(trainer.opt_g, torch.optim.SGD) and trainer.opt_g.defaults["momentum"] == 0.5
    # G's step is the last of a train step, so each parameter's .grad afterwards is the gradient that
    # step used. Heavy-ball momentum: v1 = g1, p1 = p0 - lr v1; v2 = 0.5 v1 + g2, p2 = p1 - lr v2.
    params = list(trainer.G.parameters())
    p0 = [p.detach().clone() for p in params]
    trainer.train_step()
    g1 = [p.grad.clone() for p in params]
    p1 = [p.detach().clone() for p in params]
    trainer.train_step()
    g2 = [p.grad.clone() for p in params]
    for a, b, c, d1, d2 in zip(p0, p1, params, g1, g2, strict=True):
        torch.testing.assert_close(b, a - 0.1 * d1, rtol=0, atol=1e-6)
        torch.testing.assert_close(c.detach(), b - 0.1 * (0.5 * d1 + d2), rtol=0, atol=1e-6)
    # the momentum term lies far above the tolerance, so momentum 0 (or another value) would fail
    assert max(0.1 * 0.5 * d.abs().max().item() for d in g1) > 1e-4


@pytest.mark.slow
def test_same_seed_gives_bit_identical_weights_and_other_seed_does_not():
    runs = []
    for seed in (7, 7, 8):
        t = Trainer(tiny_config(seed=seed))
        for _ in range(5):
            t.train_step()
        runs.append((weights(t.G), weights(t.D)))
    assert same_weights(runs[0][0], runs[1][0]) and same_weights(runs[0][1], runs[1][1])
    assert not same_weights(runs[0][0], runs[2][0])


@pytest.mark.slow
def test_run_folder_contents(tmp_path):
    cfg = tiny_config(runs_dir=str(tmp_path), name="r1", steps=5, sample_every=2, checkpoint_every=2)
    run, summary = runner.start(cfg)
    assert run.path == tmp_path / "r1"
    rows = [json.loads(line) for line in run.metrics_file.read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5]
    assert set(rows[0]) >= {"d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm"}
    assert sorted(p.name for p in run.samples_dir.iterdir()) == [
        "step_000002.png",
        "step_000004.png",
        "step_000005.png",
    ]
    assert run.loss_curve.is_file() and run.last_checkpoint.is_file()
    assert load_toml(run.config_file)["steps"] == 5
    assert summary["status"] == "complete" and summary["step"] == 5
    assert summary["versions"]["torch"] == torch.__version__
    assert summary["versions"]["plugins"]["loss"] == "ganlab==0.1.0"
    assert summary["final"]["d_loss"] == rows[-1]["d_loss"]
    assert summary["wall_time_s"] > 0 and summary["steps_per_s"] > 0
    assert json.loads(run.summary_file.read_text()) == summary
    state = run.checkpoint("last")
    assert state["step"] == 5 and set(state["rng"]) == {"data", "torch", "cuda"}
    assert {"G", "D", "opt_g", "opt_d"} <= set(state)


@pytest.mark.slow
def test_resumed_run_ends_bit_identical_to_uninterrupted_run(tmp_path):
    full, _ = runner.start(tiny_config(runs_dir=str(tmp_path), name="full", steps=6, checkpoint_every=100))
    half, _ = runner.start(tiny_config(runs_dir=str(tmp_path), name="half", steps=3, checkpoint_every=100))
    resumed, summary = runner.resume(half.path, {"steps": 6})
    a, b = full.checkpoint("last"), resumed.checkpoint("last")
    assert a["step"] == b["step"] == 6
    for key in ("G", "D"):
        assert same_weights(a[key], b[key])
    assert torch.equal(a["rng"]["data"], b["rng"]["data"])
    assert [r["step"] for r in resumed.metrics()] == [1, 2, 3, 4, 5, 6]
    full_losses = [r["g_loss"] for r in full.metrics()]
    assert [r["g_loss"] for r in resumed.metrics()] == full_losses
    assert summary["status"] == "complete"


@pytest.mark.slow
def test_callbacks_see_start_every_step_and_end():
    seen = []

    class Spy(Callback):
        def on_start(self, trainer):
            seen.append(("start", trainer.step))

        def on_step(self, trainer, stats):
            seen.append(stats["step"])

        def on_end(self, trainer, timing):
            seen.append(("end", timing["steps"]))

    from ganlab.run.trainer import train

    trainer = Trainer(tiny_config())
    timing = train(trainer, 4, [Spy()])
    assert seen == [("start", 0), 1, 2, 3, 4, ("end", 4)]
    assert timing["steps"] == 4 and timing["wall_time_s"] > 0


def test_samples_use_fixed_noise_and_do_not_disturb_training():
    a, b = Trainer(tiny_config()), Trainer(tiny_config())
    first = a.samples()
    assert torch.equal(first, a.samples())  # fixed z, eval mode: no running-stat update
    a.train_step()
    b.train_step()
    assert same_weights(weights(a.G), weights(b.G))


def test_failed_first_step_leaves_no_run_folder(tmp_path, monkeypatch):
    from ganlab.errors import PluginError

    def broken_step(self):
        raise PluginError("arch 'x': generator returned (1,), expected shape (8, 1, 8, 8)")

    monkeypatch.setattr(Trainer, "train_step", broken_step)
    with pytest.raises(PluginError):
        runner.start(tiny_config(runs_dir=str(tmp_path), name="bad"))
    assert not (tmp_path / "bad").exists()


def test_a_config_that_cannot_be_written_leaves_no_run_folder(tmp_path, monkeypatch):
    import errno

    from ganlab import files
    from ganlab.errors import RunError

    def full_disk(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "atomic_write_text", full_disk)
    with pytest.raises(RunError, match=r"cannot write .*config.toml.* \(No space left on device\)"):
        runner.start(tiny_config(runs_dir=str(tmp_path), name="full"))
    assert not (tmp_path / "full").exists()
