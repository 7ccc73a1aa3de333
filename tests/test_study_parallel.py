"""Studies on several processes: local workers and a real local Ray cluster give the rows and the
weights of the sequential study; a killed worker, a failed run and Ctrl-C leave a study that the
same command completes; bad executor settings are one-line errors."""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from ganlab.comparison import rows as comparing
from ganlab.comparison import study
from ganlab.comparison.executors import Execution, LocalWorkers, Reporter
from ganlab.comparison.study import StudySpec, run_study
from ganlab.comparison.work import RunTask, pack, unpack
from ganlab.errors import ConfigError, Interrupted
from ganlab.run import checkpoint
from ganlab.run.rundir import RunDir
from tests.conftest import TINY_POINTS

# TINY_POINTS as StudySpec overrides: a 2D ring, a small MLP, about a second per run
POINTS = dict(arch_options={"hidden": 16}, batch_size=16, latent_dim=4, sample_every=1000, checkpoint_every=30)
STEPS = 120  # about a second a run: long enough to kill or interrupt a run mid-way
RUN_BOOKKEEPING = ("paths", "wall_time_s", "steps_per_s")  # the only row fields allowed to differ


def spec(root: Path, name: str, steps: int = STEPS, **kw) -> StudySpec:
    values = dict(
        losses=["minimax", "lsgan"],
        archs=["mlp"],
        datas=["ring"],
        seeds=2,
        name=name,
        runs_dir=str(root / "runs"),
        overrides=POINTS | {"steps": steps},
        evaluate=False,
    )
    return StudySpec(**(values | kw))


def rows(path: Path) -> list[dict]:
    table = comparing.compare([str(path)], group=False).rows
    return [{k: v for k, v in r.items() if k not in RUN_BOOKKEEPING} for r in table]


def weights(run: Path) -> dict[str, torch.Tensor]:
    state = checkpoint.load(run / "checkpoints" / "last.pt")
    return {f"{net}.{k}": v for net in ("G", "D") for k, v in state[net].items()}


def assert_same_study(a: Path, b: Path) -> None:
    assert rows(a) == rows(b)
    names = sorted(p.name for p in a.iterdir() if RunDir(p).is_run)
    assert names == sorted(p.name for p in b.iterdir() if RunDir(p).is_run) and len(names) == 4
    for name in names:
        wa, wb = weights(a / name), weights(b / name)
        assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa), name


@pytest.fixture(autouse=True)
def bounded():
    """No pytest-timeout here: a hung worker or cluster dumps every thread's stack and ends the run."""
    faulthandler.dump_traceback_later(300, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    """The reference: the 4-run study trained one run after another in this process."""
    root = tmp_path_factory.mktemp("sequential")
    result = run_study(spec(root, "s"))
    assert result.failures == [] and all(RunDir(p.path).summary()["status"] == "complete" for p in result.runs)
    return result.path


class KillWorker(study.StudyHooks):
    """SIGKILLs the worker training `name` once it has passed `step` (a checkpoint is behind it)."""

    def __init__(self, name: str, step: int):
        self.name, self.step, self.where, self.killed = name, step, {}, False

    def on_run_start(self, item, where):
        self.where[item.config.name] = where

    def on_run_progress(self, item, step, total, stats):
        if item.config.name == self.name and step >= self.step and not self.killed:
            self.killed = True
            os.kill(int(self.where[self.name].split()[-1]), signal.SIGKILL)


# --- local workers ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_two_workers_give_the_rows_and_weights_of_the_sequential_study(cli, tmp_path, sequential):
    args = ["--loss", "minimax", "--loss", "lsgan", "--seeds", "2", "--steps", str(STEPS), "--study", "w", *TINY_POINTS]
    result = cli("compare", *args, "--sample-every", "1000", "--checkpoint-every", "30", "--no-eval", "--workers", "2")
    assert result.code == 0, result.err
    assert "4 runs" in result.out
    assert_same_study(tmp_path / "runs" / "w", sequential)


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_its_run_resumes_from_its_checkpoint(tmp_path, sequential):
    hooks = KillWorker("lsgan-mlp-ring-s0", step=40)
    result = run_study(spec(tmp_path, "k"), hooks, Execution(workers=2))
    assert hooks.killed and result.failures == []
    killed = RunDir(result.path / "lsgan-mlp-ring-s0")
    assert [r["step"] for r in killed.metrics()] == list(range(1, STEPS + 1))  # resumed, each step logged once
    assert_same_study(result.path, sequential)


class CtrlC(study.StudyHooks):
    """Presses Ctrl-C in the study process once `name` has reached `step`."""

    def __init__(self, name: str, step: int):
        self.name, self.step, self.done = name, step, []

    def on_run_progress(self, item, step, total, stats):
        if item.config.name == self.name and step >= self.step:
            raise KeyboardInterrupt

    def on_run_done(self, item, outcome):
        self.done.append(outcome)


@pytest.mark.slow
def test_ctrl_c_keeps_finished_runs_and_the_same_study_resumes(tmp_path, sequential):
    long = spec(tmp_path, "c")
    hooks = CtrlC("lsgan-mlp-ring-s0", step=20)
    with pytest.raises(Interrupted, match="run the same command again to continue"):
        run_study(long, hooks, Execution(workers=2))
    statuses = {o.name: o.status for o in hooks.done}
    assert "interrupted" in statuses.values() and all(s in ("complete", "interrupted") for s in statuses.values())
    assert RunDir(long.path / "lsgan-mlp-ring-s0").summary()["status"] == "interrupted"
    planned = study.plan(long)
    assert {p.action for p in planned if p.config.name in statuses and statuses[p.config.name] == "complete"} <= {
        "reuse"
    }
    result = run_study(long, None, Execution(workers=2))
    assert result.failures == []
    assert_same_study(result.path, sequential)


@pytest.mark.slow
def test_a_failing_run_is_an_outcome_and_the_other_runs_complete(tmp_path):
    good = spec(tmp_path, "f", seeds=1)
    tasks = [RunTask(p.config.to_dict(), p.action) for p in study.plan(good)]
    broken = RunTask(tasks[0].config | {"name": "broken", "loss": "nosuch"}, "train")
    outcomes = LocalWorkers(workers=2, threads=1).run([broken, *tasks], Reporter())
    assert [o.status for o in outcomes] == ["failed", "complete", "complete"]
    assert "unknown loss 'nosuch'" in outcomes[0].reason
    saved = RunDir(Path(good.path) / "broken").summary()
    assert saved["status"] == "failed" and "unknown loss 'nosuch'" in saved["error"]


def nan_after(loss_class, monkeypatch, calls: int) -> None:
    """The loss's g_loss turns NaN after `calls` calls (one per generator step)."""
    real = loss_class.g_loss

    def g_loss(self, *args, **kw):
        self.calls = getattr(self, "calls", 0) + 1
        return real(self, *args, **kw) * (float("nan") if self.calls > calls else 1.0)

    monkeypatch.setattr(loss_class, "g_loss", g_loss)


@pytest.mark.slow
def test_failed_and_diverged_runs_are_shown_with_their_reasons_and_the_command_exits_1(cli, tmp_path, monkeypatch):
    from ganlab.losses.least_squares import LeastSquares
    from ganlab.losses.nonsaturating import NonSaturating

    fixed = LeastSquares.g_loss
    nan_after(LeastSquares, monkeypatch, 0)  # NaN at step 1: the plugin contract check names the plugin
    nan_after(NonSaturating, monkeypatch, 2)  # NaN at step 3: training diverged
    losses = ["--loss", "minimax", "--loss", "lsgan", "--loss", "nonsaturating"]
    result = cli("compare", *losses, "--steps", "5", "--study", "d", "--no-eval", *TINY_POINTS, "--format", "json")
    assert result.code == 1
    table = {r["name"]: r for r in json.loads(result.out)}
    assert [table[n]["status"] for n in table] == ["complete", "failed", "diverged"]
    failed = table["lsgan-mlp-ring-s0"]["errors"]["lsgan-mlp-ring-s0"]
    assert (
        failed.startswith("loss 'lsgan' (ganlab.losses.least_squares:LeastSquares") and "g_loss returned nan" in failed
    )
    assert "training diverged at step 3" in table["nonsaturating-mlp-ring-s0"]["errors"]["nonsaturating-mlp-ring-s0"]
    assert table["minimax-mlp-ring-s0"]["errors"] == {}
    last = result.err.strip().splitlines()[-1]
    assert last.startswith("Error: 2 of 3 study runs failed: lsgan-mlp-ring-s0 failed: loss 'lsgan'")
    assert (
        "(and 1 more: nonsaturating-mlp-ring-s0)" in last
        and [ln.startswith("Error:") for ln in result.err.splitlines()].count(True) == 1
    )
    markdown = cli("compare", "runs/d", "--format", "markdown")
    assert markdown.code == 0 and "| diverged (nonsaturating-mlp-ring-s0: training diverged at step 3" in markdown.out
    assert RunDir(tmp_path / "runs" / "d" / "lsgan-mlp-ring-s0").summary()["status"] == "failed"

    monkeypatch.setattr(
        LeastSquares, "g_loss", fixed
    )  # the same command retries the failed run, keeps the diverged one
    again = cli("compare", *losses, "--steps", "5", "--study", "d", "--no-eval", *TINY_POINTS, "--format", "json")
    assert again.code == 1 and "1 of 3 study runs failed: nonsaturating-mlp-ring-s0 diverged" in again.err
    assert [r["status"] for r in json.loads(again.out)] == ["complete", "complete", "diverged"]


# --- pieces and bad input (fast) --------------------------------------------------------------------------
def test_a_run_folder_travels_as_an_archive_and_replaces_the_old_one_whole(tmp_path):
    src = tmp_path / "src"
    (src / "checkpoints").mkdir(parents=True)
    (src / "config.toml").write_text("steps = 3\n")
    (src / "checkpoints" / "last.pt").write_bytes(bytes(range(256)) * 10)
    target = tmp_path / "runs" / "r"
    target.mkdir(parents=True)
    (target / "stale.txt").write_text("from an interrupted attempt")
    unpack(pack(src), target)
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == [
        "checkpoints",
        "checkpoints/last.pt",
        "config.toml",
    ]
    assert (target / "checkpoints" / "last.pt").read_bytes() == bytes(range(256)) * 10
    assert [p.name for p in target.parent.iterdir()] == ["r"]  # no temp folders left beside it


@pytest.mark.parametrize(
    "execution, message",
    [
        (Execution(executor="dask"), "unknown --executor 'dask'; choose one of: local, ray"),
        (Execution(workers=0), "--workers must be an integer >= 1, got 0"),
        (Execution(threads=-1), "--threads must be an integer >= 1, got -1"),
        (Execution(ray_address="auto"), "--ray-address is for Ray; add --executor ray"),
        (Execution(shared_fs=True), "--shared-fs is for Ray; add --executor ray"),
    ],
)
def test_bad_execution_settings_fail_before_planning(tmp_path, execution, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_study(spec(tmp_path, "x"), None, execution)
    assert not (tmp_path / "runs").exists()


def test_ray_missing_is_one_line_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where it is not installed
    with pytest.raises(ConfigError, match=r"needs Ray, which is not installed; pip install 'ganlab\[ray\]'"):
        run_study(spec(tmp_path, "x"), None, Execution(executor="ray"))
    assert not (tmp_path / "runs").exists()


def test_an_unreachable_ray_address_fails_fast(tmp_path):
    pytest.importorskip("ray")
    started = time.monotonic()
    with pytest.raises(ConfigError, match="cannot reach the Ray cluster at --ray-address 127.0.0.1:1"):
        run_study(spec(tmp_path, "x"), None, Execution(executor="ray", ray_address="127.0.0.1:1"))
    assert time.monotonic() - started < 10 and not (tmp_path / "runs").exists()


# --- Ray ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_tasks_give_the_rows_and_weights_of_the_sequential_study(tmp_path, sequential, ray_cluster):
    result = run_study(spec(tmp_path, "r"), None, Execution(executor="ray"))
    assert result.failures == []
    assert_same_study(result.path, sequential)
    assert oct(result.path.joinpath("minimax-mlp-ring-s0").stat().st_mode & 0o777) != "0o700"


def _ray_task_pids() -> list[int]:
    """Ray names a worker process after the task it runs (ray::run_task)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and b"ray::run_task" in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds Ray's worker through /proc")
@pytest.mark.parametrize("shared_fs", [True, False], ids=["shared-fs", "scratch"])
def test_a_ray_worker_killed_mid_run_is_retried_and_resumes(tmp_path, sequential, ray_cluster, shared_fs):
    from ganlab.comparison.ray_executor import scratch_folder

    s = spec(tmp_path, "rk", losses=["minimax"], seeds=1, overrides=POINTS | {"steps": 400, "checkpoint_every": 50})
    (planned,) = study.plan(s)
    target = s.path / "minimax-mlp-ring-s0"
    # where the task writes: in place, or in its scratch folder (the retry on this node finds it there)
    watched = target if shared_fs else scratch_folder(RunTask(planned.config.to_dict(), "train")) / target.name
    killed = []

    def kill_after_first_checkpoint():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            pids = _ray_task_pids()
            if pids and RunDir(watched).has_checkpoint() and RunDir(watched).summary().get("status") != "complete":
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.05)

    killer = threading.Thread(target=kill_after_first_checkpoint, daemon=True)
    killer.start()
    result = run_study(s, None, Execution(executor="ray", shared_fs=shared_fs))
    killer.join(timeout=5)
    assert killed and result.failures == []
    run = RunDir(target)
    assert run.summary()["status"] == "complete"
    assert [r["step"] for r in run.metrics()] == list(range(1, 401))  # resumed, each step logged once
    assert not watched.exists() or shared_fs  # the scratch copy is gone once the driver has the run
    reference = run_study(spec(tmp_path, "rk-ref", losses=["minimax"], seeds=1, overrides=s.overrides))
    a, b = weights(target), weights(reference.path / "minimax-mlp-ring-s0")
    assert all(torch.equal(a[k], b[k]) for k in a)
