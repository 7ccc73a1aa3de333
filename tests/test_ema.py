"""The EMA generator (--ema-decay): the average itself, checkpoints and resume, and which weights
grids, eval, export and sample use."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganlab.config import RunConfig
from ganlab.errors import ConfigError
from ganlab.run import runner
from ganlab.run.ema import EMA
from ganlab.run.restore import restore
from ganlab.run.trainer import Trainer
from tests.conftest import tiny_config


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_ema_update_is_the_weighted_average_and_buffers_are_copied():
    G = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    ema = EMA(G, 0.9)
    start = {k: v.clone() for k, v in G.state_dict().items()}
    with torch.no_grad():
        for p in G.parameters():
            p.add_(1.0)
    G.train()
    G(torch.randn(8, 3))  # moves the batch-norm running statistics
    ema.update(G)
    got = ema.module.state_dict()
    for name, p in G.named_parameters():
        torch.testing.assert_close(got[name], 0.9 * start[name] + 0.1 * p.detach(), rtol=0, atol=1e-6)
    for name, b in G.named_buffers():
        assert torch.equal(got[name], b)  # copied, not averaged
    assert not any(p.requires_grad for p in ema.module.parameters())


@pytest.mark.parametrize("decay", [0, 1, 1.5, -0.1, "0.9", True])
def test_ema_decay_outside_the_open_interval_is_refused(decay):
    with pytest.raises(ConfigError, match="ema_decay must be a number between 0 and 1"):
        RunConfig(ema_decay=decay).validate()


@pytest.mark.slow
def test_training_keeps_the_ema_in_checkpoints_and_grids_use_it(tmp_path):
    run, summary = runner.start(tiny_config(runs_dir=str(tmp_path), name="e", steps=4, ema_decay=0.5))
    state = run.checkpoint("last")
    assert "G_ema" in state and not same(state["G_ema"], state["G"])
    assert summary["weights"] == "ema"
    trainer = Trainer(run.config())
    trainer.load_state_dict(state)
    with torch.no_grad():
        expected = trainer.ema.module.eval()(trainer.fixed_z)
    torch.testing.assert_close(trainer.samples(), expected, rtol=0, atol=0)
    assert trainer.G.training  # sampling from the EMA copy leaves G in training mode


@pytest.mark.slow
def test_ema_survives_resume_bit_identically(tmp_path):
    full, _ = runner.start(tiny_config(runs_dir=str(tmp_path), name="full", steps=6, ema_decay=0.8))
    half, _ = runner.start(tiny_config(runs_dir=str(tmp_path), name="half", steps=3, ema_decay=0.8))
    resumed, _ = runner.resume(half.path, {"steps": 6})
    a, b = full.checkpoint("last"), resumed.checkpoint("last")
    assert same(a["G_ema"], b["G_ema"]) and same(a["G"], b["G"])


@pytest.mark.slow
def test_a_checkpoint_without_ema_still_loads(tmp_path):
    run, _ = runner.start(tiny_config(runs_dir=str(tmp_path), name="old", steps=2))
    state = run.checkpoint("last")
    assert "G_ema" not in state
    Trainer(run.config()).load_state_dict(state)  # as before
    with_ema = Trainer(tiny_config(ema_decay=0.9))
    with_ema.load_state_dict(state)  # no G_ema: the average starts from G
    assert same(with_ema.ema.state_dict(), state["G"])
    assert restore(run.path).weights == "raw"


@pytest.mark.slow
def test_restore_picks_ema_by_default_and_raw_on_request(tmp_path):
    run, _ = runner.start(tiny_config(runs_dir=str(tmp_path), name="e", steps=3, ema_decay=0.5))
    state = run.checkpoint("last")
    ema, raw = restore(run.path), restore(run.path, weights="raw")
    assert (ema.weights, raw.weights) == ("ema", "raw")
    assert same(ema.G.state_dict(), state["G_ema"]) and same(raw.G.state_dict(), state["G"])
    with pytest.raises(ConfigError, match="choose ema or raw"):
        restore(run.path, weights="best")


@pytest.mark.slow
def test_eval_export_and_sample_say_which_weights(tmp_path, cli):
    import json

    import numpy as np
    import onnx

    from ganlab.comparison.rows import compare
    from ganlab.metrics.evaluate import evaluate_run

    ring = dict(data="ring", arch="mlp", image_size=None, arch_options={"hidden": 8}, latent_dim=4, batch_size=16)
    run, _ = runner.start(tiny_config(runs_dir=str(tmp_path), name="e", steps=3, ema_decay=0.5, **ring))
    result = cli("sample", run.path, "--n", "4", "--npy", tmp_path / "ema.npy")
    assert result.code == 0 and "ema weights" in result.out
    result = cli("sample", run.path, "--n", "4", "--npy", tmp_path / "raw.npy", "--weights", "raw")
    assert result.code == 0 and "raw weights" in result.out
    assert not np.array_equal(np.load(tmp_path / "ema.npy"), np.load(tmp_path / "raw.npy"))
    result = cli("export", run.path, "--weights", "raw", "--out", tmp_path / "g.onnx")
    assert result.code == 0, result.err
    assert "raw weights" in result.out
    meta = {p.key: p.value for p in onnx.load(tmp_path / "g.onnx").metadata_props}
    assert meta["weights"] == "raw"
    results = evaluate_run(run.path, "modes_covered", n=50)
    assert results["modes_covered"]["weights"] == "ema"
    summary = json.loads((run.path / "summary.json").read_text())
    assert summary["weights"] == "ema" and summary["metrics"]["modes_covered"]["weights"] == "ema"
    row = compare([str(run.path)]).rows[0]
    assert row["weights"] == "ema" and row["metrics"]["modes_covered"]["final"]["weights"] == "ema"
