"""Run folders are safe to share (issue 19): one writer at a time through the run's lock, readers
never wait, a killed writer never leaves the run locked, and every file follows the umask."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import stat
import threading
import time
from pathlib import Path

import pytest
import torch

from ganlab.errors import GanlabNotice, RunError, RunLocked
from ganlab.run import checkpoint, lock, runner
from ganlab.run.lock import RunLock
from tests.conftest import tiny_config
from tests.helpers import one_line_error
from tests.lock_holder import go, holder_pid, holding, wait_until_held_by, warm_cli

RING = dict(data="ring", arch="mlp", image_size=None, arch_options={"hidden": 16}, latent_dim=4, batch_size=16)


def files_and_mtimes(run: Path) -> dict[str, int]:
    """Everything a writer could touch, except the lock file itself (a refused writer opens it)."""
    return {str(p): p.stat().st_mtime_ns for p in run.rglob("*") if p.name != lock.LOCK_NAME}


def weights(run: Path) -> dict[str, torch.Tensor]:
    state = checkpoint.load(run / "checkpoints" / "last.pt")
    return {"G." + k: v for k, v in state["G"].items()} | {"D." + k: v for k, v in state["D"].items()}


def busy_message(run: Path, pid: int, command: str) -> str:
    return f"run {str(run)!r} is being written by pid {pid} on host {socket.gethostname()} ({command}, since "


@pytest.fixture
def ring_run(tmp_path):
    run, _ = runner.start(tiny_config(runs_dir=str(tmp_path / "runs"), name="r", steps=2, **RING))
    assert (run.path / ".lock").read_text() == ""  # the training let go when it returned
    return run.path


# --- the lock itself --------------------------------------------------------------------------------
def test_the_lock_file_names_its_holder_while_held_and_is_emptied_after(tmp_path):
    before = time.time()
    with RunLock(tmp_path, command="ganlab train --resume runs/x"):
        holder = json.loads((tmp_path / ".lock").read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        assert holder["command"] == "ganlab train --resume runs/x"
        assert before - 1 <= holder["since"] <= time.time() + 1
    assert (tmp_path / ".lock").read_text() == ""


def test_a_second_writer_is_refused_at_once_with_the_holder_named(tmp_path):
    with holding(tmp_path, "ganlab eval RUN") as proc:
        started = time.monotonic()
        with pytest.raises(RunLocked) as info:
            RunLock(tmp_path).acquire()
        assert time.monotonic() - started < 5  # refused, not queued behind the holder
        message = str(info.value)
        assert message.startswith(busy_message(tmp_path, proc.pid, f"ganlab eval {tmp_path}"))
        assert message.endswith("); wait for it to finish or stop it") and "\n" not in message
        since = message.split("since ")[1].split(")")[0]
        assert time.mktime(time.strptime(since, "%Y-%m-%d %H:%M:%S")) == pytest.approx(time.time(), abs=120)
    with RunLock(tmp_path):  # the holder let go: free again
        pass


def test_one_thread_may_take_its_lock_again_and_another_thread_is_refused(tmp_path):
    refused = []

    def other_thread():
        try:
            RunLock(tmp_path).acquire()
        except RunLocked as exc:
            refused.append(str(exc))

    with RunLock(tmp_path):
        with RunLock(tmp_path):  # a callback evaluating the run it is training
            pass
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert json.loads((tmp_path / ".lock").read_text())["pid"] == os.getpid()  # still held after the inner exit
    assert len(refused) == 1 and f"pid {os.getpid()}" in refused[0]
    assert (tmp_path / ".lock").read_text() == ""


def test_a_sigkilled_holder_does_not_block_the_next_command(cli, ring_run):
    with holding(ring_run) as proc:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert holder_pid(ring_run) == proc.pid  # its details stay behind; its lock did not
    result = cli("train", "--resume", ring_run, "--steps", "3")
    assert result.code == 0, result.err
    assert json.loads((ring_run / "summary.json").read_text())["step"] == 3
    assert (ring_run / ".lock").read_text() == ""


def test_a_filesystem_without_locks_trains_with_a_notice(tmp_path, monkeypatch):
    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(lock.fcntl, "flock", no_locks)
    with pytest.warns(GanlabNotice, match="does not support file locks"):
        run, summary = runner.start(tiny_config(runs_dir=str(tmp_path), name="r", steps=1, **RING))
    assert summary["status"] == "complete"


def test_a_new_run_is_not_left_behind_when_its_lock_cannot_be_taken(tmp_path, monkeypatch):
    def refused(fd, operation):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(lock.fcntl, "flock", refused)
    with pytest.raises(RunError, match=r"cannot lock run .*Permission denied"):
        runner.start(tiny_config(runs_dir=str(tmp_path), name="r", steps=1, **RING))
    assert list(tmp_path.iterdir()) == []


# --- every writing command takes it, readers never do ------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [("train", "--resume", "RUN", "--steps", "3"), ("eval", "RUN", "--n", "100"), ("export", "RUN")],
    ids=["resume", "eval", "export"],
)
def test_a_writer_of_a_run_in_use_gets_one_line_naming_the_holder_and_changes_nothing(cli, ring_run, args):
    before = files_and_mtimes(ring_run)
    with holding(ring_run) as proc:
        result = cli(*[str(ring_run) if a == "RUN" else a for a in args])
    one_line_error(
        result, busy_message(ring_run, proc.pid, f"ganlab train --resume {ring_run}"), "wait for it to finish"
    )
    assert files_and_mtimes(ring_run) == before


def test_readers_do_not_wait_for_a_writer(cli, ring_run, tmp_path):
    with holding(ring_run):
        assert cli("compare", ring_run).code == 0
        result = cli("sample", ring_run, "--n", "8", "--npy", tmp_path / "s.npy")
        assert result.code == 0, result.err
        result = cli("export", ring_run, "--out", tmp_path / "g.onnx", "--no-verify")  # not into the run
        assert result.code == 0, result.err


def test_a_study_does_not_restart_a_run_another_process_is_starting(tmp_path, monkeypatch):
    from ganlab.comparison.work import RunTask, _train

    config = tiny_config(runs_dir=str(tmp_path), name="r", steps=1, **RING)
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "config.toml").write_text("")  # what a run looks like before its first checkpoint
    with holding(tmp_path / "r"):
        with pytest.raises(RunLocked, match="is being written by pid"):
            _train(RunTask(config.to_dict(), "restart"), [])
    assert (tmp_path / "r" / "config.toml").is_file()


# --- real concurrency ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_two_concurrent_resumes_one_is_refused_and_the_weights_equal_one_run(tmp_path):
    # one thread here and in the resuming processes (the saved config says so): one reduction order
    config = dict(steps=2, checkpoint_every=2, sample_every=1000, seed=5, threads=1)
    threads = torch.get_num_threads()
    try:
        run, _ = runner.start(tiny_config(runs_dir=str(tmp_path), name="shared", **config))
        clean, _ = runner.start(tiny_config(runs_dir=str(tmp_path), name="clean", **(config | {"steps": 30})))
    finally:
        torch.set_num_threads(threads)
    procs = [warm_cli("train", "--resume", run.path, "--steps", "30") for _ in range(2)]
    try:
        go(procs[0])  # the first reaches the lock first; the second starts the moment it holds it
        wait_until_held_by(run.path, procs[0].pid)
        go(procs[1])
        outcomes = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            p.kill()
    first, second = procs
    assert first.returncode == 0, outcomes[0][1]
    assert second.returncode == 1, outcomes[1]
    err = outcomes[1][1]
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    assert busy_message(run.path, first.pid, f"ganlab train --resume {run.path} --steps 30") in err
    a, b = weights(clean.path), weights(run.path)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    steps = [json.loads(line)["step"] for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 31))  # every step once: nobody else wrote into the log


@pytest.mark.slow
def test_eval_during_training_is_refused_and_no_evaluation_is_lost(cli, tmp_path):
    run, _ = runner.start(tiny_config(runs_dir=str(tmp_path), name="r", steps=2, eval_every=20, **RING))
    trainer = warm_cli("train", "--resume", run.path, "--steps", "60")
    try:
        go(trainer)
        wait_until_held_by(run.path, trainer.pid)
        refused = cli("eval", run.path, "--n", "200", "--metrics", "modes_covered")
        out, err = trainer.communicate(timeout=300)
    finally:
        trainer.kill()
    one_line_error(refused, busy_message(run.path, trainer.pid, f"ganlab train --resume {run.path} --steps 60"))
    assert trainer.returncode == 0, err
    done = cli("eval", run.path, "--n", "200", "--metrics", "modes_covered")  # its turn: after the training
    assert done.code == 0, done.err
    summary = json.loads((run.path / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["step"] == 60
    assert summary["evaluations"][-1]["metrics"]["modes_covered"]["n"] == 200  # ganlab eval's result, kept
    # the training's own evaluation of step 60 drew more samples, so it stays the run's number (issue 18)
    assert summary["metrics"]["modes_covered"]["n"] == 2500
    assert [h["step"] for h in summary["metrics_history"]] == [2, 20, 40, 60]  # and the training's own


# --- permissions ---------------------------------------------------------------------------------------
@pytest.fixture(params=[0o022, 0o077], ids=["umask022", "umask077"])
def umask(request):
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def modes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): oct(stat.S_IMODE(p.stat().st_mode)) for p in [root, *root.rglob("*")]}


def test_atomic_writes_follow_the_umask_even_over_an_older_file(tmp_path, umask):
    from ganlab import files

    path = tmp_path / "summary.json"
    path.write_text("old")
    path.chmod(0o600)  # written by an older ganlab
    files.atomic_write_bytes(path, lambda f: f.write(b"new"), keep_previous=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert path.read_bytes() == b"new" and sorted(p.name for p in tmp_path.iterdir()) == [
        "summary.json",
        "summary.previous.json",
    ]


def test_feature_caches_and_sample_folders_follow_the_umask(tmp_path, umask):
    import numpy as np

    from ganlab.deploy.sample import save_pngs
    from ganlab.metrics.fid import save_npz

    save_npz(tmp_path / "cache" / "fid-stats" / "digits.npz", np.zeros(2), np.eye(2))  # as fid.py caches
    (tmp_path / "cache" / "classifiers").mkdir()
    checkpoint.save(tmp_path / "cache" / "classifiers" / "digits.pt", {"state": {}})  # as classifier.py caches
    save_pngs(np.zeros((2, 1, 4, 4), dtype=np.uint8), tmp_path / "pngs")  # sample --out-dir
    found = {p: m for p, m in modes(tmp_path).items() if p != "."}
    want = {p: oct((0o777 if (tmp_path / p).is_dir() else 0o666) & ~umask) for p in found}
    assert found == want and len(found) == 8, found


@pytest.mark.slow
def test_a_trained_evaluated_exported_run_follows_the_umask(tmp_path, umask):
    from ganlab.deploy import sample
    from ganlab.deploy.export import export_onnx
    from ganlab.metrics.evaluate import evaluate_run

    run, _ = runner.start(tiny_config(runs_dir=str(tmp_path / "runs"), name="r", steps=2, eval_every=2, **RING))
    evaluate_run(run.path, ["modes_covered"], n=100)
    export_onnx(run.path)
    gen = sample.load(run.path)
    sample.write(gen, gen.sample(8), out=tmp_path / "grid.png", npy=tmp_path / "s.npy")
    found = modes(run.path) | {p: m for p, m in modes(tmp_path).items() if p in ("grid.png", "s.npy")}
    want = {p: oct((0o777 if (run.path / p).is_dir() else 0o666) & ~umask) for p in modes(run.path)}
    want |= {"grid.png": oct(0o666 & ~umask), "s.npy": oct(0o666 & ~umask)}
    assert found == want
    expected = {".lock", "config.toml", "metrics.jsonl", "summary.json", "loss_curve.png", "generator.onnx"}
    assert expected <= set(found) and {"checkpoints/last.pt", "checkpoints/best.pt"} <= set(found)
