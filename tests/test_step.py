"""The device-friendly step (issue 12), checked on the CPU: statistics read once per logging step,
one host read per optimizer update, the NaN/Inf guarantee, and every speed flag trains and resumes."""

from __future__ import annotations

import json

import pytest
import torch

from ganlab.config import load_toml
from ganlab.run import device as device_mod
from ganlab.run import runner
from ganlab.run import trainer as trainer_mod
from ganlab.run.trainer import Trainer, train
from tests.conftest import tiny_config


def weights(state):
    return {f"{net}.{k}": v for net in ("G", "D") for k, v in state[net].items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_weights_do_not_depend_on_log_every_and_logged_rows_keep_their_keys(tmp_path):
    runs = {}
    for every in (1, 3):
        cfg = tiny_config(runs_dir=str(tmp_path), name=f"log{every}", steps=7, log_every=every, checkpoint_every=100)
        runs[every], _ = runner.start(cfg)
    a, b = runs[1].checkpoint("last"), runs[3].checkpoint("last")
    assert same(weights(a), weights(b))
    every_step, sparse = runs[1].metrics(), runs[3].metrics()
    assert [r["step"] for r in sparse] == [3, 6, 7]  # every 3rd step, and the last
    assert all(set(r) == set(every_step[0]) for r in sparse)
    assert [every_step[r["step"] - 1] for r in sparse] == sparse  # the same numbers, only fewer rows
    assert load_toml(runs[3].config_file)["log_every"] == 3


def test_log_every_defaults_to_1_on_the_cpu_and_the_config_records_it(tmp_path):
    run, summary = runner.start(tiny_config(runs_dir=str(tmp_path), name="r", steps=2))
    assert load_toml(run.config_file)["log_every"] == 1 and summary["config"]["log_every"] == 1
    assert summary["threads"] == torch.get_num_threads()


class CountReads:
    """Counts the step's allowed host reads; any other read of a tensor inside a step (.item(),
    bool(), float()) raises, as torch.cuda.set_sync_debug_mode("error") does on a GPU. Reads
    inside optimizer.step are let through: they read Adam's step counter, which torch keeps on
    the host for a non-fused optimizer (and on CUDA ganlab's Adam is fused, which reads nothing)."""

    def __init__(self, monkeypatch, trainer):
        self.reads, self.inside = 0, False
        real = device_mod.host_read

        def counted(device):
            self.reads += 1
            self.inside = True
            try:
                with real(device):
                    yield
            finally:
                self.inside = False

        from contextlib import contextmanager

        monkeypatch.setattr(trainer_mod, "host_read", contextmanager(counted))
        for opt in (trainer.opt_g, trainer.opt_d):
            monkeypatch.setattr(opt, "step", self._allowed(opt.step))
        for name in ("item", "__bool__", "__float__"):
            original = getattr(torch.Tensor, name)
            monkeypatch.setattr(torch.Tensor, name, self._guard(original, name))

    def _allowed(self, step):
        def inside(*args, **kwargs):
            self.inside = True
            try:
                return step(*args, **kwargs)
            finally:
                self.inside = False

        return inside

    def _guard(self, original, name):
        def guarded(t, *args):
            if not self.inside:
                raise AssertionError(f"Tensor.{name} read a value to the host outside an allowed read")
            return original(t, *args)

        return guarded


def test_one_host_read_per_update_and_one_per_logging_step(monkeypatch):
    trainer = Trainer(tiny_config(d_steps=2, log_every=2))
    trainer.train_step()  # the first step runs the plugin contract checks, which read values
    counter = CountReads(monkeypatch, trainer)
    train(trainer, 5)  # steps 2..5: logging steps 2 and 4, and 5 (the last)
    assert counter.reads == 4 * (2 + 1) + 3


def test_a_nan_gradient_with_a_finite_loss_never_reaches_the_weights(monkeypatch):
    trainer = Trainer(tiny_config(on_nan="skip-batch"))
    trainer.train_step()
    first = next(trainer.G.parameters())
    handle = first.register_hook(lambda g: g * float("nan"))
    before = [p.detach().clone() for p in trainer.G.parameters()]
    stats = trainer.train_step()
    handle.remove()
    assert trainer.skipped == 1 and stats["skipped"] == 1
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.G.parameters(), strict=True))
    first.register_hook(lambda g: g * float("inf"))
    trainer.config.on_nan = "stop"
    with pytest.raises(Exception, match="diverged at step 3: generator gradients hold NaN/Inf"):
        trainer.train_step()


def test_fp16_skip_batch_drops_a_nan_loss_and_lowers_the_loss_scale(monkeypatch):
    from ganlab.losses.minimax import Minimax

    calls, real = [0], Minimax.d_loss

    def nan_on_3rd(self, r, f):
        calls[0] += 1
        return real(self, r, f) * (float("nan") if calls[0] == 3 else 1.0)

    monkeypatch.setattr(Minimax, "d_loss", nan_on_3rd)
    trainer = Trainer(tiny_config(precision="fp16", on_nan="skip-batch"))
    trainer.train_step()
    trainer.train_step()
    scale = trainer.scalers["d"].get_scale()
    stats = trainer.train_step()
    assert trainer.skipped == 1 and stats["skipped"] == 1
    assert trainer.scalers["d"].get_scale() == scale / 2  # GradScaler's backoff factor
    assert all(torch.isfinite(p).all() for p in trainer.D.parameters())


@pytest.mark.parametrize(
    "flags",
    [{"precision": "bf16"}, {"precision": "fp16"}, {"channels_last": True}, {"deterministic": True}, {"threads": 1}],
    ids=["bf16", "fp16", "channels-last", "deterministic", "threads"],
)
def test_each_speed_flag_trains_records_itself_and_resumes_bit_identically_on_the_cpu(tmp_path, flags):
    def cfg(name, steps):
        return tiny_config(runs_dir=str(tmp_path), name=name, steps=steps, checkpoint_every=100, **flags)

    full, summary = runner.start(cfg("full", 4))
    half, _ = runner.start(cfg("half", 2))
    resumed, _ = runner.resume(half.path, {"steps": 4})
    a, b = full.checkpoint("last"), resumed.checkpoint("last")
    assert same(weights(a), weights(b))
    assert all(torch.isfinite(v).all() for v in weights(a).values() if v.is_floating_point())
    for key, value in flags.items():
        assert summary["config"][key] == value and load_toml(full.config_file)[key] == value
    if flags.get("precision") == "fp16":  # one loss scale per optimizer, checkpointed
        assert set(a["scalers"]) == {"g", "d"} and a["scalers"]["g"]["scale"] > 0
    if "threads" in flags:
        assert summary["threads"] == 1


def test_bf16_changes_the_arithmetic_but_not_the_loss_dtype():
    fp32, bf16 = Trainer(tiny_config()), Trainer(tiny_config(precision="bf16"))
    a, b = fp32.train_step(), bf16.train_step()
    assert b["d_loss"].dtype == torch.float32 and b["g_loss"].dtype == torch.float32  # losses in fp32
    assert not torch.equal(a["d_loss"], b["d_loss"])  # autocast did run D in bf16
    torch.testing.assert_close(a["d_loss"], b["d_loss"], rtol=0.05, atol=0.05)


def test_channels_last_run_restores_and_samples_like_any_run(tmp_path):
    from ganlab.run.restore import restore

    run, _ = runner.start(tiny_config(runs_dir=str(tmp_path), name="cl", steps=2, channels_last=True))
    trainer = Trainer(tiny_config(channels_last=True))
    conv = next(m for m in trainer.D.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    restored = restore(run.path)
    assert restored.sample(4).shape == (4, 1, 8, 8)


def test_threads_follow_the_flag_then_omp_num_threads_then_physical_cores(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert device_mod.resolve_threads(3) == 3
    assert device_mod.resolve_threads(None) == device_mod.physical_cores() >= 1
    monkeypatch.setenv("OMP_NUM_THREADS", "5")
    assert device_mod.resolve_threads(None) == 5 and device_mod.resolve_threads(2) == 2
    try:
        Trainer(tiny_config(threads=1))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(2)  # conftest's setting, for the tests that follow


def test_image_source_moved_to_a_device_draws_the_same_batches():
    trainer = Trainer(tiny_config())
    moved = trainer.data.to(torch.device("cpu"))
    assert moved is not trainer.data and moved.images.data_ptr() == trainer.data.images.data_ptr()
    a = trainer.data.sample(5, torch.Generator().manual_seed(1))
    b = moved.sample(5, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and moved.nbytes() == trainer.data.images.numel()


@pytest.mark.slow
def test_compile_trains_g_and_d_and_keeps_eager_modules_for_checkpoints(tmp_path):
    run, summary = runner.start(tiny_config(runs_dir=str(tmp_path), name="c", steps=2, compile=True))
    state = run.checkpoint("last")
    assert not any(k.startswith("_orig_mod") for k in state["G"])  # the eager module's names
    assert summary["config"]["compile"] is True and json.loads(run.summary_file.read_text())["step"] == 2


@pytest.mark.slow
@pytest.mark.third_party_plugins
@pytest.mark.parametrize("flags", [{"precision": "bf16"}, {"compile": True}], ids=["bf16", "compile"])
def test_wgan_gp_penalty_double_backward_works_under_bf16_and_compile(flags):
    """The penalty differentiates D's input gradient (double backward): it runs in fp32 on the eager
    D, while the compiled / autocast D scores the batches."""
    pytest.importorskip("ganlab_wgan")
    from ganlab.run.trainer import read_stats

    ring = dict(data="ring", arch="mlp", arch_options={"hidden": 16}, image_size=None, batch_size=16, latent_dim=4)
    trainer = Trainer(tiny_config(loss="wgan-gp", d_steps=2, **ring, **flags))
    before = [p.detach().clone() for p in trainer.D.parameters()]
    rows = [read_stats(trainer, trainer.train_step()) for _ in range(3)]
    assert all(r["penalty"] > 0 and torch.isfinite(torch.tensor(r["d_loss"])) for r in rows)
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.D.parameters(), strict=True))
