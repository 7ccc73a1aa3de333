"""Runs survive crashes, damaged checkpoints, full disks, NaNs and malicious files."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
import warnings
from pathlib import Path

import pytest
import torch

from ganlab import files
from ganlab.errors import DivergenceError, GanlabNotice, RunError
from ganlab.run import checkpoint, runner
from ganlab.run.trainer import Trainer
from tests.conftest import TINY_IMAGE, tiny_config
from tests.helpers import ganlab_argv, process_env

REPO = Path(__file__).resolve().parents[1]


def test_checkpoint_round_trip_and_previous_is_kept(tmp_path):
    path = tmp_path / "last.pt"
    checkpoint.save(path, {"step": 1, "w": torch.arange(3.0)})
    checkpoint.save(path, {"step": 2, "w": torch.arange(4.0)})
    assert checkpoint.load(path)["step"] == 2
    assert checkpoint.load(files.previous_path(path))["step"] == 1
    assert not list(tmp_path.glob("*.tmp"))


def test_checksum_mismatch_is_detected(tmp_path):
    path = tmp_path / "last.pt"
    checkpoint.save(path, {"step": 1, "w": torch.zeros(100)})
    envelope = torch.load(path, weights_only=True)
    envelope["payload"][len(envelope["payload"]) // 2] ^= 0xFF  # one flipped byte inside the state
    torch.save(envelope, path)
    with pytest.raises(RunError, match="checksum mismatch"):
        checkpoint.load(path)


def test_torn_last_checkpoint_falls_back_to_previous_with_a_notice(tmp_path):
    path = tmp_path / "last.pt"
    checkpoint.save(path, {"step": 1})
    checkpoint.save(path, {"step": 2})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # torn: half a file
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = checkpoint.load_or_previous(path)
    assert state["step"] == 1
    assert len(caught) == 1 and issubclass(caught[0].category, GanlabNotice)
    assert "last.previous.pt (step 1)" in str(caught[0].message)


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "last.pt"
    checkpoint.save(path, {"step": 1})

    def boom(f):
        f.write(b"partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        files.atomic_write_bytes(path, boom, keep_previous=True)
    assert checkpoint.load(path)["step"] == 1 and not list(tmp_path.glob("*.tmp"))


@pytest.mark.slow
def test_full_disk_during_checkpoint_is_one_line_and_previous_stays_loadable(cli, tmp_path, monkeypatch):
    assert cli("train", *TINY_IMAGE, "--steps", "2", "--name", "r", "--checkpoint-every", "2").code == 0
    real_save = torch.save

    def full_disk(obj, f, *a, **k):
        if isinstance(obj, dict) and obj.get("format") == checkpoint.ENVELOPE:
            raise OSError(28, "No space left on device")
        return real_save(obj, f, *a, **k)

    monkeypatch.setattr(torch, "save", full_disk)
    result = cli("train", "--resume", "runs/r", "--steps", "4")
    assert result.code == 1 and "No space left on device" in result.err
    last = result.err.strip().splitlines()[-1]  # above it: the progress bar's final frame
    assert last.startswith("Error: ") and "ganlab train --resume" in last and result.err.count("Error") == 1
    assert checkpoint.load(tmp_path / "runs" / "r" / "checkpoints" / "last.pt")["step"] == 2


@pytest.mark.slow
def test_malicious_checkpoint_is_refused_and_runs_nothing(cli, tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    assert cli("train", *TINY_IMAGE, "--steps", "1", "--name", "r").code == 0
    last = tmp_path / "runs" / "r" / "checkpoints" / "last.pt"
    for name in ("last.pt", "last.previous.pt"):
        torch.save({"format": checkpoint.FORMAT, "step": 1, "x": Evil()}, last.with_name(name), pickle_protocol=2)
    with pytest.raises(RunError, match="cannot be loaded safely"):
        checkpoint.load(last)
    result = cli("train", "--resume", "runs/r", "--steps", "3")
    assert result.code == 1 and "cannot be loaded safely" in result.err
    assert not marker.exists()


def test_nan_loss_stops_at_that_step_and_keeps_last_checkpoint(tmp_path, monkeypatch):
    cfg = tiny_config(runs_dir=str(tmp_path), name="nan", steps=6, checkpoint_every=2)
    real_g_loss = None

    def poisoned(self, fake_logits, real_logits=None):
        return real_g_loss(self, fake_logits, real_logits) * (float("nan") if self_step[0] >= 3 else 1.0)

    from ganlab.losses.minimax import Minimax

    real_g_loss = Minimax.g_loss
    self_step = [0]
    monkeypatch.setattr(Minimax, "g_loss", poisoned)
    original_step = Trainer.train_step

    def counting(self):
        self_step[0] = self.step
        return original_step(self)

    monkeypatch.setattr(Trainer, "train_step", counting)
    with pytest.raises(DivergenceError, match="diverged at step 4: g_loss = nan"):
        runner.start(cfg)
    run = tmp_path / "nan"
    assert checkpoint.load(run / "checkpoints" / "last.pt")["step"] == 2
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "diverged" and "step 4" in summary["error"]
    # weights never saw the NaN
    state = checkpoint.load(run / "checkpoints" / "last.pt")
    assert all(torch.isfinite(v).all() for v in state["G"].values() if v.is_floating_point())


@pytest.mark.slow
def test_skip_batch_drops_nan_updates_and_counts_them(monkeypatch):
    from ganlab.losses.minimax import Minimax

    calls = [0]
    real = Minimax.d_loss

    def sometimes_nan(self, r, f):
        calls[0] += 1
        return real(self, r, f) * (
            float("nan") if calls[0] % 2 == 0 else 1.0
        )  # first call is finite: the contract check sees it

    monkeypatch.setattr(Minimax, "d_loss", sometimes_nan)
    trainer = Trainer(tiny_config(on_nan="skip-batch"))
    for _ in range(4):
        stats = trainer.train_step()
    assert trainer.skipped == 2 and stats["skipped"] == 2
    assert all(torch.isfinite(p).all() for p in trainer.D.parameters())


def _logged_steps(run: Path) -> int:
    log = run / "metrics.jsonl"
    return len(log.read_text().splitlines()) if log.exists() else 0


def _final_weights(run: Path) -> dict:
    state = checkpoint.load(run / "checkpoints" / "last.pt")
    return {k: v for k, v in state["G"].items()} | {"D." + k: v for k, v in state["D"].items()}


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_is_bit_identical(tmp_path):
    """Kills a real training process several times (with a checkpoint every step, so some kills
    land inside a checkpoint write), resumes each time, and compares with an uninterrupted run."""
    args = [
        "--image-size",
        "8",
        "--arch-opt",
        "width=8",
        "--batch-size",
        "8",
        "--latent-dim",
        "8",
        "--checkpoint-every",
        "1",
        "--sample-every",
        "1000",
        "--seed",
        "3",
    ]
    steps = 200
    env = process_env()
    base = ganlab_argv("train", *args, "--runs-dir", tmp_path)
    subprocess.run(base + ["--steps", str(steps), "--name", "clean"], check=True, env=env, capture_output=True)

    rng = random.Random(0)
    cmd = base + ["--steps", str(steps), "--name", "killed"]
    run = tmp_path / "killed"
    kills = 0
    for _attempt in range(15):
        done_before = _logged_steps(run)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 120
        while proc.poll() is None and _logged_steps(run) <= done_before and time.time() < deadline:
            time.sleep(0.02)  # wait until this attempt has trained (and checkpointed) a step
        time.sleep(rng.uniform(0.0, 0.2))  # then kill anywhere: mid-step or mid-checkpoint
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        summary = run / "summary.json"
        if summary.exists() and json.loads(summary.read_text()).get("status") == "complete":
            break
        if (run / "config.toml").exists():
            cmd = ganlab_argv("train", "--resume", run)
        if kills >= 4:  # enough interruptions; finish below without one
            subprocess.run(cmd, check=True, env=env, capture_output=True)
            break
    else:
        subprocess.run(cmd, check=True, env=env, capture_output=True)  # finish what is left
    assert kills >= 3
    a, b = _final_weights(tmp_path / "clean"), _final_weights(tmp_path / "killed")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    steps_logged = [
        json.loads(line)["step"] for line in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps_logged == list(range(1, steps + 1))


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path):
    cmd = ganlab_argv(
        "train",
        *TINY_IMAGE,
        "--steps",
        "100000",
        "--name",
        "int",
        "--runs-dir",
        tmp_path,
        "--checkpoint-every",
        "100000",
        "--sample-every",
        "100000",
    )
    proc = subprocess.Popen(cmd, env=process_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = tmp_path / "int"
    # Interrupt only once the log shows training under way (however slow a loaded machine makes
    # start-up), so the interrupt lands in the training loop, not in imports or setup.
    deadline = time.monotonic() + 120
    while proc.poll() is None and _logged_steps(run) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    if proc.poll() is not None or _logged_steps(run) < 3:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"training did not log 3 steps within 120 s (exit {proc.returncode}):\n{err}")
    logged = _logged_steps(run)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted at step" in err and f"ganlab train --resume {run}" in err
    state = checkpoint.load(run / "checkpoints" / "last.pt")
    assert state["step"] >= logged  # the checkpoint holds every step logged before the interrupt
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"
