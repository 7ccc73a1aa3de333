"""Numbers you can trust and failures in one line (issue 18, items 3 and 4): full disks and
read-only run folders, stale and replaced metrics, resumes with nothing to do, repeated seeds,
group names, running vs crashed runs, and a metrics log that can be followed while it grows."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import shutil
import warnings
from pathlib import Path

import pytest

from ganlab import files
from ganlab.comparison import rows as compare
from ganlab.metrics.evaluate import merge, small_n_notes
from ganlab.run import checkpoint, runner
from ganlab.run.lock import RunLock, writer
from ganlab.run.rundir import RunDir
from tests.conftest import tiny_config
from tests.helpers import read_only

RING = dict(data="ring", arch="mlp", arch_options={"hidden": 16}, batch_size=16, latent_dim=4, image_size=None)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One finished 4-step run (dcgan on digits, 8 px), trained once for the module."""
    root = tmp_path_factory.mktemp("trained")
    runner.start(tiny_config(runs_dir=str(root), name="r"))
    return root


@pytest.fixture
def ws(trained, tmp_path, monkeypatch):
    """A working folder holding a fresh copy of the run as runs/r, as the working directory."""
    shutil.copytree(trained, tmp_path / "runs")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file but the lock, with its bytes and mtime: what "touches nothing" means."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def last_line(err: str) -> str:
    return err.rstrip("\n").splitlines()[-1]


# --- item 3: a full disk while writing a checkpoint ---------------------------------------------------
class FullDisk(io.RawIOBase):
    """A file on a disk with `room` bytes left: writes past it fail with ENOSPC, as write(2) does."""

    def __init__(self, real, room: int):
        self.real, self.room = real, room

    def write(self, data) -> int:
        data = bytes(data)
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.real.write(data)

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.real.fileno()

    def flush(self) -> None:
        if not self.real.closed:
            self.real.flush()

    def close(self) -> None:
        self.real.close()
        super().close()


@contextlib.contextmanager
def filling_up(room: int):
    """Every file ganlab.files opens for an atomic write is on a disk with `room` bytes left."""
    real_fdopen = os.fdopen
    with pytest.MonkeyPatch.context() as m:
        m.setattr(os, "fdopen", lambda fd, *a, **k: FullDisk(real_fdopen(fd, *a, **k), room))
        yield


def test_a_checkpoint_that_does_not_fit_is_an_oserror_and_leaves_the_old_one(tmp_path):
    """torch.save into the file turned ENOSPC into RuntimeError ("unexpected pos ..."); the
    checkpoint is now serialised in memory and written as bytes, so the OSError comes through."""
    import torch

    path = tmp_path / "last.pt"
    checkpoint.save(path, {"step": 1, "w": torch.zeros(1000)})
    with filling_up(room=1000), pytest.raises(OSError) as caught:  # less than the ~5 kB the state takes
        checkpoint.save(path, {"step": 2, "w": torch.ones(1000)})
    assert caught.value.errno == errno.ENOSPC
    assert checkpoint.load(path)["step"] == 1 and not list(tmp_path.glob(".*.tmp"))


def test_full_disk_at_a_checkpoint_mid_run_is_one_line_and_the_run_resumes(ws, cli):
    before = checkpoint.load(ws / "runs/r/checkpoints/last.pt")["step"]
    with filling_up(room=10_000):  # config, log and summary fit; a 40 kB checkpoint does not
        result = cli("train", "--resume", "runs/r", "--steps", "8")
    assert result.code == 1 and "Traceback" not in result.err, result.err
    assert result.err.count("Error:") == 1
    line = last_line(result.err)
    assert line.startswith(
        "Error: cannot write 'runs/r/checkpoints/last.pt' at step 6 (No space left on device)"
    )  # checkpoint_every 2
    assert line.endswith("then ganlab train --resume runs/r")
    assert checkpoint.load(ws / "runs/r/checkpoints/last.pt")["step"] == before
    assert cli("train", "--resume", "runs/r", "--steps", "8").code == 0  # space again: it goes on


# --- item 3: a read-only run folder --------------------------------------------------------------------
def test_resume_of_a_read_only_run_is_one_line_and_changes_nothing(ws, cli):
    before = snapshot(ws)
    with read_only(ws / "runs" / "r"):
        result = cli("train", "--resume", "runs/r", "--steps", "8")
    assert result.code == 1 and "Traceback" not in result.err
    assert last_line(result.err) == (
        "Error: cannot write run 'runs/r' (Read-only file system on 'runs/r/.lock'); a command that writes a run "
        "needs write access to its folder: copy the run to a writable folder (cp -r runs/r DEST) and use the copy"
    )
    assert snapshot(ws) == before


def test_resume_checks_checkpoints_and_samples_before_training(ws, cli):
    """The folder itself is writable (the lock is taken) but checkpoints/ is not: refused up front,
    not at the first checkpoint after the training it would lose."""
    before = snapshot(ws)
    with read_only(ws / "runs/r/checkpoints", errno.EACCES):
        result = cli("train", "--resume", "runs/r", "--steps", "8")
    assert result.code == 1 and "Traceback" not in result.err
    assert last_line(result.err) == (
        "Error: cannot write run 'runs/r' (Permission denied on 'runs/r/checkpoints'); --resume writes "
        "checkpoints, samples and the log there: copy the run to a writable folder (cp -r runs/r DEST) "
        "and resume the copy"
    )
    assert snapshot(ws) == before


@pytest.mark.slow
def test_eval_of_a_read_only_run_prints_its_numbers_then_one_error_line(ws, cli):
    before = snapshot(ws)
    with read_only(ws / "runs" / "r"):
        result = cli("eval", "runs/r", "--n", "200")
    assert result.code == 1 and "Traceback" not in result.err
    assert "classifier_fd" in result.out and "classes_covered" in result.out  # the table, not lost
    assert "written to" not in result.out
    assert result.err.count("Error:") == 1
    assert last_line(result.err) == (
        "Error: could not write 'runs/r/summary.json' (Read-only file system); the numbers above were not "
        "saved: copy the run to a writable folder (cp -r runs/r DEST) and evaluate the copy"
    )
    assert snapshot(ws) == before


@pytest.mark.slow
def test_export_of_a_read_only_run_suggests_out_before_exporting(ws, cli, monkeypatch):
    from ganlab.deploy import export

    def never(*a, **k):
        raise AssertionError("exported before checking where it goes")

    before = snapshot(ws)
    with read_only(ws / "runs" / "r"), monkeypatch.context() as m:
        m.setattr(export, "to_onnx", never)
        result = cli("export", "runs/r")
    assert result.code == 1 and "Traceback" not in result.err
    assert last_line(result.err) == (
        "Error: cannot write 'runs/r/generator.onnx' (Read-only file system); "
        "pass --out PATH.onnx in a folder you can write"
    )
    assert snapshot(ws) == before
    with read_only(ws / "runs" / "r"):  # what the message says works
        result = cli("export", "runs/r", "--out", "g.onnx", "--no-verify")
    assert result.code == 0, result.err
    assert (ws / "g.onnx").stat().st_size > 0


# --- item 4: resume, the log, eval's history ------------------------------------------------------------
def test_resume_to_the_step_already_reached_says_so_and_touches_nothing(ws, cli):
    before = snapshot(ws)
    result = cli("train", "--resume", "runs/r", "--steps", "4")
    assert result.code == 0, result.err
    assert "Note: run 'r' is already at step 4, complete; nothing was trained or written" in result.err
    assert snapshot(ws) == before  # last.pt not rewritten, no previous copy rotated away
    summary = json.loads((ws / "runs/r/summary.json").read_text())
    assert summary["steps_per_s"] > 0  # not the 0.0 of a session that trained nothing


def test_metrics_jsonl_can_be_followed_while_the_run_writes_it(tmp_path):
    from ganlab.loggers.jsonl import JsonlLogger

    log = JsonlLogger()
    log.on_start(tmp_path, {}, 0)
    try:
        log.log_scalars(1, {"d_loss": 1.5})
        follower = (tmp_path / "metrics.jsonl").read_text()  # another reader, as `tail -f` is
        assert follower == '{"step": 1, "d_loss": 1.5}\n'
        log.log_scalars(2, {"d_loss": 1.25})
        assert (tmp_path / "metrics.jsonl").read_text().count("\n") == 2
    finally:
        log.close()


def entry(value, n, step=4, weights="raw"):
    return {"value": value, "std": None, "n": n, "dims": 128, "feature_net": "clf", "step": step, "weights": weights}


def test_eval_keeps_the_larger_n_of_the_same_step_and_every_evaluation():
    summary = {"metrics": {"classifier_fd": entry(3.0, 20000)}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sections, notes = merge(summary, {"classifier_fd": entry(90.0, 2)}, "last")
    assert sections["metrics"]["classifier_fd"]["n"] == 20000  # not replaced by an n=2 guess
    assert [e["metrics"]["classifier_fd"]["n"] for e in sections["evaluations"]] == [2]
    assert notes == [
        "summary.json keeps classifier_fd from n=20000 over this n=2 evaluation (both at step 4; this one is "
        "in its 'evaluations' list); pass --replace to record it as the run's"
    ]
    # a later step, or --replace, or more samples do replace it
    assert merge(summary, {"classifier_fd": entry(5.0, 2, step=8)}, "last")[0]["metrics"]["classifier_fd"]["n"] == 2
    assert merge(summary, {"classifier_fd": entry(90.0, 2)}, "last", replace=True)[0]["metrics"]["classifier_fd"][
        "value"
    ] == pytest.approx(90.0)
    assert merge(summary, {"classifier_fd": entry(3.1, 50000)}, "last")[0]["metrics"]["classifier_fd"]["n"] == 50000
    # the history grows by one per evaluation
    again = merge({**summary, **sections}, {"classifier_fd": entry(4.0, 30000)}, "best")[0]
    assert [(e["checkpoint"], e["metrics"]["classifier_fd"]["n"]) for e in again["evaluations"]] == [
        ("last", 2),
        ("best", 30000),
    ]


def test_frechet_distance_below_its_feature_dimension_gets_a_note():
    low = {"fid": {**entry(1.0, 500), "dims": 2048, "n_real": 500}, "kid": {**entry(0.1, 500), "dims": 2048}}
    (note,) = small_n_notes(low)
    assert note.startswith("fid from n=500 samples in 2048 feature dimensions: the covariance is singular")
    assert small_n_notes({"fid": {**entry(1.0, 5000), "dims": 2048, "n_real": 5000}}) == []
    assert len(small_n_notes({"fid": {**entry(1.0, 5000), "dims": 2048, "n_real": 100}})) == 1  # few real images
    assert small_n_notes({"energy_distance": {**entry(0.1, 5), "dims": 2}}) == []  # no covariance in it


@pytest.mark.slow
def test_eval_every_measures_at_eval_n(tmp_path):
    run, summary = runner.start(tiny_config(runs_dir=str(tmp_path), name="p", steps=4, eval_every=2, eval_n=64, **RING))
    assert {e["n"] for e in summary["metrics"].values()} == {64}
    assert {e["n"] for e in summary["metrics_best"].values()} == {64}
    assert run.config().eval_n == 64


def test_a_study_sizes_its_eval_every_evaluations_with_eval_n(tmp_path):
    from ganlab.comparison.study import StudySpec, plan

    planned = plan(StudySpec(runs_dir=str(tmp_path), seeds=2, eval_n=64, overrides={"eval_every": 2}))
    assert [p.config.eval_n for p in planned] == [64, 64]


def test_eval_n_is_checked_with_the_config():
    from ganlab.errors import ConfigError

    with pytest.raises(ConfigError, match=r"eval_n must be an integer >= 2 .* got 1; set --eval-n 2 or more"):
        tiny_config(eval_n=1).validate()


# --- item 4: compare ----------------------------------------------------------------------------------------
def fake_run(root: Path, name: str, seed: int = 0, step: int = 4, status: str | None = "complete", **summary):
    """A run folder as compare reads it (config.toml and summary.json), with no training."""
    run = RunDir(root / name)
    (run.path / "checkpoints").mkdir(parents=True)
    config = tiny_config(runs_dir=str(root), name=name, seed=seed)
    run.write_config(config)
    if status is not None:
        run.write_summary({"status": status, "step": step, "config": config.to_dict(), **summary})
    return run


def fid(value, step):
    return {"value": value, "std": None, "n": 1000, "dims": 64, "feature_net": "clf", "step": step, "better": "lower"}


def test_final_metrics_from_before_a_resume_are_stale_and_not_ranked(tmp_path):
    fake_run(tmp_path, "old", seed=0, step=8, metrics={"fid": fid(1.0, 4)})  # evaluated at 4, trained on to 8
    (tmp_path / "other").mkdir()
    fake_run(tmp_path / "other", "new", seed=0, step=8, metrics={"fid": fid(5.0, 8)})
    result = compare.compare([str(tmp_path / "old"), str(tmp_path / "other" / "new")], group=False)
    cells = {row["name"]: row["metrics"]["fid"]["final"] for row in result.rows}
    assert cells["old"]["stale"] is True and cells["old"]["step"] == 4
    assert cells["new"]["stale"] is False
    assert not cells["old"]["is_best"]  # 1.0 is lower, but of a generator that no longer exists
    assert any(
        w.startswith("stale metrics, marked (stale) and not ranked: old (measured at step 4, now at 8)")
        for w in result.warnings
    )
    from ganlab.comparison.render import to_json, to_markdown

    assert json.loads(to_json(result))[0]["metrics"]["fid"]["final"]["stale"] in (True, False)
    assert "1.000 (stale)" in to_markdown(result)


def test_repeats_of_a_seed_count_once(tmp_path):
    fake_run(tmp_path, "a", seed=0, metrics={"fid": fid(10.0, 4)})
    fake_run(tmp_path, "a-2", seed=0, metrics={"fid": fid(10.0, 4)})  # the same config and seed again
    fake_run(tmp_path, "b", seed=1, metrics={"fid": fid(14.0, 4)})
    result = compare.compare([str(tmp_path)])
    (row,) = result.rows
    assert row["n_seeds"] == 2 and sorted(row["seeds"]) == [0, 1]
    assert row["metrics"]["fid"]["final"]["mean"] == pytest.approx(12.0)  # (10 + 14) / 2, not (10 + 10 + 14) / 3
    assert row["metrics"]["fid"]["final"]["std"] == pytest.approx(8**0.5)
    assert any("repeat a seed with the same config and are left out" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["try", "test"], "try (+1)"),  # not "t"
        (["lsgan-s0", "lsgan-s1"], "lsgan"),
        (["study-a-x", "study-a-y"], "study-a"),
        (["study-ab", "study-ac"], "study"),
        (["run1", "run2"], "run1 (+1)"),
    ],
)
def test_group_names_are_whole_words(tmp_path, names, expected):
    records = [compare.RunRecord(RunDir(tmp_path / n), {}, {}) for n in names]
    assert compare.group_name(records) == expected


def test_a_run_still_training_and_a_crashed_run_look_different(tmp_path):
    live = fake_run(tmp_path, "live", status="running")
    dead = fake_run(tmp_path, "dead", seed=1, status="running")
    (dead.path / ".lock").write_text('{"pid": 999999, "host": "h", "command": "ganlab train", "since": 0}\n')
    never = fake_run(tmp_path, "never", seed=2, status=None)  # killed before its first summary
    with RunLock(live.path):
        assert writer(live.path) is not None and writer(dead.path) is None and writer(never.path) is None
        result = compare.compare([str(tmp_path)], group=False)
        statuses = {row["name"]: row["status"] for row in result.rows}
    assert statuses == {"live": "running", "dead": "crashed", "never": "crashed"}
    assert writer(live.path) is None  # released: the lock file is emptied


@pytest.mark.slow
def test_a_run_says_running_in_its_summary_while_it_trains(tmp_path):
    seen = []

    class Peek(runner.Callback):
        def on_step(self, trainer, stats):
            seen.append(RunDir(tmp_path / "r").summary().get("status"))

    _, summary = runner.start(tiny_config(runs_dir=str(tmp_path), name="r", steps=2), [Peek()])
    assert seen == ["running", "running"] and summary["status"] == "complete"


def test_unwritable_names_the_reason_and_leaves_nothing(tmp_path):
    assert files.unwritable(tmp_path) is None and list(tmp_path.iterdir()) == []
    with read_only(tmp_path):
        problem = files.unwritable(tmp_path)
    assert problem is not None and problem.errno == errno.EROFS and files.reason(problem) == "Read-only file system"
