"""DDP under torchrun (issue 13), on the CPU with gloo and real processes: N ranks equal one process,
checkpoints move between world sizes, rank 0 alone writes, a failure on one rank ends every rank
with one line, a SIGKILLed worker is restarted from the last checkpoint, and two "nodes" on one
machine train together. Every test starts real processes (seconds each): all are marked slow, and
each has a timeout, so a hang fails instead of blocking the suite."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ganlab.run import checkpoint
from tests.helpers import ganlab_argv, process_env, run_ganlab

pytestmark = pytest.mark.slow

RING = ("--data", "ring", "--arch", "mlp", "--arch-opt", "hidden=64", "--batch-size", "64")
QUIET = ("--sample-every", "1000", "--log-every", "5")
TIMEOUT = 120  # seconds; a healthy run here takes 10-30 s under load


def train(tmp: Path, name: str, *args: str, env: dict | None = None):
    result = run_ganlab("train", *RING, *QUIET, "--name", name, *args, cwd=tmp, env=env, timeout=TIMEOUT)
    return result


def weights(run: Path) -> dict[str, torch.Tensor]:
    state = checkpoint.load(run / "checkpoints" / "last.pt")
    return {f"{net}.{k}": v for net in ("G", "D") for k, v in state[net].items()}


def max_diff(a: Path, b: Path) -> float:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    return max((wa[k].double() - wb[k].double()).abs().max().item() for k in wa)


def rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """One process, 40 steps, checkpoint at 20: what every DDP run below must equal."""
    tmp = tmp_path_factory.mktemp("one")
    result = train(tmp, "one", "--steps", "40", "--checkpoint-every", "20")
    assert result.code == 0, result.err
    return tmp / "runs" / "one"


def test_two_ranks_equal_one_process_and_rank_0_alone_writes(tmp_path, reference):
    result = train(tmp_path, "two", "--steps", "40", "--checkpoint-every", "20", "--nproc", "2")
    assert result.code == 0, result.err
    assert result.out.count("run folder") == 1  # rank 0 reports; the other rank prints nothing
    run = tmp_path / "runs" / "two"
    assert max_diff(run, reference) <= 1e-5
    # metrics.jsonl holds the losses averaged over ranks: the 1-process numbers of the global batch
    for mine, ref in zip(rows(run), rows(reference), strict=True):
        assert mine["step"] == ref["step"]
        for key in ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm"):
            assert mine[key] == pytest.approx(ref[key], rel=1e-5, abs=1e-6), (mine["step"], key)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["two"]
    assert json.loads((run / "summary.json").read_text())["status"] == "complete"


def test_a_two_rank_checkpoint_resumes_in_one_process_and_back(tmp_path, reference):
    first = train(tmp_path, "a", "--steps", "20", "--checkpoint-every", "20", "--nproc", "2")
    assert first.code == 0, first.err
    one = run_ganlab("train", "--resume", "runs/a", "--steps", "40", cwd=tmp_path, timeout=TIMEOUT)
    assert one.code == 0, one.err
    assert max_diff(tmp_path / "runs" / "a", reference) <= 1e-5

    second = train(tmp_path, "b", "--steps", "20", "--checkpoint-every", "20")
    assert second.code == 0, second.err
    two = run_ganlab("train", "--resume", "runs/b", "--steps", "40", "--nproc", "2", cwd=tmp_path, timeout=TIMEOUT)
    assert two.code == 0, two.err
    assert max_diff(tmp_path / "runs" / "b", reference) <= 1e-5
    assert [r["step"] for r in rows(tmp_path / "runs" / "b")] == [5, 10, 15, 20, 25, 30, 35, 40]


def test_dcgan_trains_under_gloo_with_per_rank_batchnorm(tmp_path):
    """SyncBatchNorm runs on GPUs only: on the CPU each rank normalises over its own slice, so the
    run completes but is not equal to one process (README says so)."""
    args = ("--arch", "dcgan", "--data", "digits", "--arch-opt", "width=8", "--batch-size", "16")
    result = run_ganlab(
        "train", *args, "--steps", "6", "--name", "dc", "--nproc", "2", *QUIET, cwd=tmp_path, timeout=TIMEOUT
    )
    assert result.code == 0, result.err
    summary = json.loads((tmp_path / "runs" / "dc" / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["step"] == 6
    state = checkpoint.load(tmp_path / "runs" / "dc" / "checkpoints" / "last.pt")
    assert all(torch.isfinite(v.float()).all() for v in state["G"].values())
    assert any("running_mean" in k for k in state["D"])  # plain BatchNorm, rank 0's statistics


@pytest.mark.third_party_plugins
def test_wgan_gp_gradient_penalty_trains_under_ddp(tmp_path):
    """The penalty's double backward runs through the eager D beside DDP's D."""
    pytest.importorskip("ganlab_wgan")
    env = process_env()
    env.pop("GANLAB_DISABLE_PLUGINS", None)
    result = train(tmp_path, "gp", "--loss", "wgan-gp", "--steps", "6", "--nproc", "2", env=env)
    assert result.code == 0, result.err
    assert rows(tmp_path / "runs" / "gp")[-1]["step"] == 6


def test_a_failure_on_rank_0_ends_every_rank_with_one_error_line(tmp_path):
    """A full disk on rank 0 (a file-size limit makes the sample grid's write fail): the other rank
    stops at the end of that step, every process exits 1, and the console holds one Error line."""
    args = ("--steps", "40", "--log-every", "5", "--sample-every", "10", "--checkpoint-every", "1000", "--nproc", "2")
    command = " ".join(map(str, ganlab_argv("train", *RING, *args)))
    done = subprocess.run(
        ["bash", "-c", f"ulimit -f 16 && exec {command}"],  # 16 KiB: config and metrics fit, a scatter plot does not
        cwd=tmp_path,
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert done.returncode == 1, done.stderr
    assert len(errors) == 1 and "cannot write" in errors[0] and "step_000010.png' at step 10" in errors[0], done.stderr
    assert "Traceback" not in done.stderr


RANK_FAILS = """
import os

from ganlab.losses.nonsaturating import NonSaturating


class RankFails(NonSaturating):
    \"\"\"Raises in d_loss from its 6th call on, on the rank $FAIL_RANK names only.\"\"\"

    calls = 0

    def d_loss(self, real_logits, fake_logits):
        RankFails.calls += 1
        if os.environ.get("RANK") == os.environ["FAIL_RANK"] and RankFails.calls > 5:
            raise ValueError("rank-local failure")
        return super().d_loss(real_logits, fake_logits)
"""


@pytest.mark.parametrize("rank", ["0", "1"])
def test_a_plugin_error_inside_one_ranks_step_is_one_line_and_leaves_no_run(tmp_path, rank):
    """The failing rank prints the plugin's one line and exits; the other is inside DDP's all_reduce
    when the peer's socket closes, and stops silently instead of printing gloo's traceback. Nothing
    was checkpointed, so no run folder is left."""
    from tests.helpers import write_plugin_package

    site = write_plugin_package(
        tmp_path / "site", "ganlab-rankfails", "0.0.1", {"ganlab.losses": {"rankfails": "ganlab_rankfails:RankFails"}},
        {"ganlab_rankfails": RANK_FAILS},
    )  # fmt: skip
    env = process_env(site, FAIL_RANK=rank)
    env.pop("GANLAB_DISABLE_PLUGINS", None)
    result = train(tmp_path, "rf", "--loss", "rankfails", "--steps", "40", "--nproc", "2", env=env)
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert result.code == 1, result.err
    assert len(errors) == 1 and "loss 'rankfails'" in errors[0] and "rank-local failure" in errors[0], result.err
    assert "Traceback" not in result.err and "Connection closed" not in result.err
    runs = tmp_path / "runs"
    assert not runs.exists() or not any(runs.iterdir())


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            children = (task / "children").read_text().split()
            out += map(int, children)
            todo += map(int, children)
    return out


def _rank_of(pid: int) -> str | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    found = [e.split(b"=", 1)[1].decode() for e in env if e.startswith(b"RANK=")]
    return found[0] if found else None


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the worker through /proc (Linux)")
def test_a_sigkilled_worker_is_restarted_from_the_last_checkpoint(tmp_path):
    args = ("--steps", "300", "--checkpoint-every", "20", "--nproc", "2")
    plain = train(tmp_path, "plain", *args)
    assert plain.code == 0, plain.err

    argv = ganlab_argv("train", *RING, *QUIET, "--name", "killed", *args, "--max-restarts", "1")
    proc = subprocess.Popen(argv, cwd=tmp_path, env=process_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    last = tmp_path / "runs" / "killed" / "checkpoints" / "last.pt"
    deadline = time.monotonic() + TIMEOUT
    killed = None
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        if last.exists():
            workers = [p for p in _descendants(proc.pid) if _rank_of(p) == "1"]
            if workers:
                os.kill(workers[0], signal.SIGKILL)
                killed = workers[0]
        time.sleep(0.02)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert killed is not None, "the run ended before a worker could be killed"
    assert proc.returncode == 0, err.decode()
    summary = json.loads((tmp_path / "runs" / "killed" / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["step"] == 300
    assert max_diff(tmp_path / "runs" / "killed", tmp_path / "runs" / "plain") == 0.0
    assert [r["step"] for r in rows(tmp_path / "runs" / "killed")] == list(range(5, 301, 5))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--batch-size", "63"), "Error: --batch-size 63 is the global batch and must divide evenly among 2 processes"),
        (("--no-such-flag",), "Error: No such option: --no-such-flag"),
    ],
)
def test_bad_input_under_a_bare_torchrun_is_one_line_not_one_per_rank(tmp_path, args, message):
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port"]
    command += [str(_free_port()), "-m", "ganlab", "--", "train", *RING, "--steps", "2", *args]
    done = subprocess.run(command, cwd=tmp_path, env=process_env(), capture_output=True, text=True, timeout=TIMEOUT)
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert done.returncode != 0, done.stderr
    assert len(errors) == 1 and errors[0].startswith(message), done.stderr


def test_two_nodes_on_one_machine_train_to_completion(tmp_path, reference):
    port = _free_port()
    nodes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nnodes",
                "2",
                "--node-rank",
                str(rank),
                "--nproc-per-node",
                "1",
                "--rdzv-backend",
                "c10d",
                "--rdzv-endpoint",
                f"127.0.0.1:{port}",
                "--rdzv-id",
                "ganlab-test",
                "-m",
                "ganlab",
                "train",
                *RING,
                *QUIET,
                "--name",
                "nodes",
                "--steps",
                "40",
                "--checkpoint-every",
                "20",
            ],
            cwd=tmp_path,
            env=process_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for rank in (0, 1)
    ]
    try:
        codes = [node.wait(timeout=TIMEOUT) for node in nodes]
    finally:
        for node in nodes:
            node.kill() if node.poll() is None else None
    errs = [node.stderr.read().decode()[-3000:] for node in nodes if node.stderr]
    assert codes == [0, 0], errs
    assert max_diff(tmp_path / "runs" / "nodes", reference) <= 1e-5


POINT_METRICS = ("--metrics", "energy_distance,modes_covered,high_quality_pct,mode_kl", "--n", "1001")


def metrics_of(run: Path) -> dict[str, float]:
    return {k: v["value"] for k, v in json.loads((run / "summary.json").read_text())["metrics"].items()}


def test_eval_under_torchrun_equals_one_process(tmp_path, reference):
    """Each rank samples its share (501 + 500 of 1001 here) and the rows are gathered in order."""
    import shutil

    for name in ("one", "two"):
        shutil.copytree(reference, tmp_path / name)
    single = run_ganlab("eval", "one", *POINT_METRICS, cwd=tmp_path, timeout=TIMEOUT)
    assert single.code == 0, single.err
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone"]
    # `--`: torchrun's own parser would take `--n` for an abbreviation of its --nnodes
    done = subprocess.run(
        [*torchrun, "-m", "ganlab", "--", "eval", "two", *POINT_METRICS],
        cwd=tmp_path,
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("written to") == 1  # rank 0 reports
    one, two = metrics_of(tmp_path / "one"), metrics_of(tmp_path / "two")
    assert one.keys() == two.keys() == {"energy_distance", "modes_covered", "high_quality_pct", "mode_kl"}
    for name in one:
        assert two[name] == pytest.approx(one[name], rel=1e-6, abs=1e-12), name


def test_eval_every_under_ddp_equals_ganlab_eval_in_one_process(tmp_path):
    import shutil

    result = train(tmp_path, "ev", "--steps", "20", "--eval-every", "20", "--nproc", "2")
    assert result.code == 0, result.err
    shutil.copytree(tmp_path / "runs" / "ev", tmp_path / "again")
    (tmp_path / "again" / "summary.json").write_text(json.dumps({}))
    single = run_ganlab("eval", "again", cwd=tmp_path, timeout=TIMEOUT)  # the same default metrics and n
    assert single.code == 0, single.err
    during, after = metrics_of(tmp_path / "runs" / "ev"), metrics_of(tmp_path / "again")
    assert during.keys() == after.keys() and "energy_distance" in during
    for name in during:
        assert during[name] == pytest.approx(after[name], rel=1e-6, abs=1e-12), name
