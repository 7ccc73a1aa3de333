"""Study mode: planning, reuse of identical runs (nothing retrained), resume after an interruption,
evaluation through ganlab.metrics.evaluate_run, and the CLI around it."""

from __future__ import annotations

import json
import shutil

import pytest

from ganlab.comparison import study
from ganlab.comparison.study import StudySpec, plan, run_study
from ganlab.errors import ConfigError, Interrupted, MetricError, PluginError
from ganlab.run import runner
from ganlab.run.rundir import RunDir
from ganlab.run.trainer import Callback
from tests.conftest import TINY_IMAGE

pytest_plugins = ["tests.fid_standin"]  # stand-in FID weights (fid_env), built once per session

# the same config as the CLI flags TINY_IMAGE --steps 4 --sample-every 2 --checkpoint-every 2
TINY = dict(
    image_size=8, arch_options={"width": 8}, batch_size=8, latent_dim=8, steps=4, sample_every=2, checkpoint_every=2
)


def spec(tmp_path, **kw) -> StudySpec:
    values = dict(
        losses=["minimax", "lsgan"],
        archs=["dcgan"],
        datas=["digits"],
        seeds=1,
        name="s",
        runs_dir=str(tmp_path / "runs"),
        overrides=dict(TINY),
        evaluate=False,
    )
    values.update(kw)
    return StudySpec(**values)


class Spy:
    """Records which runner function trained which run, then calls the real one."""

    def __init__(self, monkeypatch):
        self.calls = []
        real_start, real_resume = runner.start, runner.resume
        monkeypatch.setattr(runner, "start", lambda c, cb=(): self.calls.append(("start", c.name)) or real_start(c, cb))
        monkeypatch.setattr(
            runner, "resume", lambda p, s=None, cb=(): self.calls.append(("resume", p.name)) or real_resume(p, s, cb)
        )


class StopAt(Callback):
    """Presses Ctrl-C at a given step, as a user would."""

    def __init__(self, step):
        self.step = step

    def on_step(self, trainer, stats):
        if trainer.step == self.step:
            raise KeyboardInterrupt


class StopInRun(study.StudyHooks):
    def __init__(self, name, step):
        self.name, self.step = name, step

    def train_callbacks(self, item):
        return [StopAt(self.step)] if item.config.name == self.name else []


def test_plan_names_runs_and_passes_overrides(tmp_path):
    planned = plan(spec(tmp_path, seeds=2))
    names = [p.config.name for p in planned]
    assert names == [
        "minimax-dcgan-digits-s0",
        "minimax-dcgan-digits-s1",
        "lsgan-dcgan-digits-s0",
        "lsgan-dcgan-digits-s1",
    ]
    assert all(p.action == "train" for p in planned)
    c = planned[3].config
    assert (c.seed, c.image_size, c.arch_options, c.steps, c.runs_dir) == (
        1,
        8,
        {"width": 8},
        4,
        str(tmp_path / "runs" / "s"),
    )
    assert not (tmp_path / "runs").exists()  # planning writes nothing


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A study trained once: minimax and lsgan, seed 0; tests work on copies of it."""
    root = tmp_path_factory.mktemp("study")
    return root, run_study(spec(root))


@pytest.fixture
def base(trained, tmp_path):
    shutil.copytree(trained[0] / "runs", tmp_path / "runs")
    return tmp_path


@pytest.mark.slow
def test_a_new_study_trains_every_run(trained):
    root, result = trained
    assert [(p.config.name, p.action) for p in result.runs] == [
        ("minimax-dcgan-digits-s0", "train"),
        ("lsgan-dcgan-digits-s0", "train"),
    ]
    assert all(RunDir(p.path).summary()["status"] == "complete" for p in result.runs)
    assert result.path == root / "runs" / "s" and result.warnings == []


@pytest.mark.slow
def test_identical_runs_are_reused_not_retrained(base, monkeypatch):
    done = [base / "runs" / "s" / n for n in ("minimax-dcgan-digits-s0", "lsgan-dcgan-digits-s0")]
    before = {p: p.joinpath("checkpoints", "last.pt").read_bytes() for p in done}
    mtimes = {p: p.joinpath("summary.json").stat().st_mtime_ns for p in done}
    spy = Spy(monkeypatch)
    again = run_study(spec(base, seeds=2))  # one more seed: only those runs are new
    assert spy.calls == [("start", "minimax-dcgan-digits-s1"), ("start", "lsgan-dcgan-digits-s1")]
    assert [p.action for p in again.runs] == ["reuse", "train", "reuse", "train"]
    for path, data in before.items():
        assert path.joinpath("checkpoints", "last.pt").read_bytes() == data
        assert path.joinpath("summary.json").stat().st_mtime_ns == mtimes[path]


@pytest.mark.slow
def test_interrupted_study_resumes_where_it_stopped(base, monkeypatch):
    spy = Spy(monkeypatch)
    three = spec(base, losses=["minimax", "nonsaturating", "lsgan"])
    with pytest.raises(
        Interrupted,
        match="interrupted during nonsaturating-dcgan-digits-s0 at step 3 .checkpoint saved.; run the same command again to continue",
    ):
        run_study(three, StopInRun("nonsaturating-dcgan-digits-s0", step=3))
    assert spy.calls == [("start", "nonsaturating-dcgan-digits-s0")]
    stopped = RunDir(base / "runs" / "s" / "nonsaturating-dcgan-digits-s0")
    assert stopped.summary()["status"] == "interrupted" and stopped.summary()["step"] == 3

    spy.calls.clear()
    assert [p.action for p in plan(three)] == ["reuse", "resume", "reuse"]
    run_study(three)
    assert spy.calls == [("resume", "nonsaturating-dcgan-digits-s0")]
    assert [r["step"] for r in stopped.metrics()] == [1, 2, 3, 4]  # each step logged once
    assert stopped.summary()["status"] == "complete"


@pytest.mark.slow
def test_a_run_that_died_before_its_first_checkpoint_is_restarted(base, monkeypatch):
    path = base / "runs" / "s" / "minimax-dcgan-digits-s0"
    for saved in (path / "checkpoints").iterdir():
        saved.unlink()
    RunDir(path).update_summary(status="running")  # as after a kill -9
    assert [p.action for p in plan(spec(base))] == ["restart", "reuse"]
    spy = Spy(monkeypatch)
    run_study(spec(base))
    assert spy.calls == [("start", "minimax-dcgan-digits-s0")]
    assert RunDir(path).summary()["status"] == "complete" and (path / "checkpoints" / "last.pt").is_file()


@pytest.mark.slow
def test_a_folder_with_another_config_is_a_clash_before_any_training(base, monkeypatch):
    spy = Spy(monkeypatch)
    with pytest.raises(ConfigError, match=r"was made with steps=4 \(study: 6\).*pass --study ANOTHER_NAME"):
        run_study(spec(base, losses=["nonsaturating", "lsgan"], overrides=TINY | {"steps": 6}))
    assert spy.calls == [] and not (base / "runs" / "s" / "nonsaturating-dcgan-digits-s0").exists()


def test_an_unknown_plugin_fails_before_the_first_run_trains(tmp_path, monkeypatch):
    spy = Spy(monkeypatch)
    with pytest.raises(PluginError, match="nosuch"):
        run_study(spec(tmp_path, losses=["minimax", "nosuch"]))
    assert spy.calls == [] and not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_study_evaluates_only_what_lacks_metrics(base, monkeypatch):
    calls = []

    def fake_evaluate(path, metrics=None, n=None, dims=2048):
        calls.append((path.name, metrics, n))
        value = {
            "value": float(len(calls)),
            "std": None,
            "n": n,
            "dims": dims,
            "feature_net": "fake",
            "step": 4,
            "better": "lower",
        }
        RunDir(path).update_summary(metrics={"fid": value})

    monkeypatch.setattr(study, "evaluator", lambda: fake_evaluate)
    run_study(spec(base, evaluate=True, eval_n=50, metrics=["fid"]))
    assert calls == [(n, ["fid"], 50) for n in ("minimax-dcgan-digits-s0", "lsgan-dcgan-digits-s0")]
    calls.clear()
    run_study(spec(base, evaluate=True, eval_n=50, metrics=["fid"]))
    assert calls == []  # all evaluated with the same n
    run_study(spec(base, evaluate=True, eval_n=80, metrics=["fid"]))
    assert [c[2] for c in calls] == [80, 80]  # a different n is a new evaluation
    calls.clear()
    run_study(spec(base, evaluate=True, eval_n=80, metrics=["fid"], eval_options={"dims": 64}))
    assert [c[0] for c in calls] == ["minimax-dcgan-digits-s0", "lsgan-dcgan-digits-s0"]  # 64 != 2048 dims


@pytest.mark.slow
def test_one_warning_per_distinct_evaluation_error(base, monkeypatch):
    def failing(path, metrics=None, n=None):
        raise MetricError("no metric is available offline for dataset 'digits'; pass --fid-weights PATH")

    monkeypatch.setattr(study, "evaluator", lambda: failing)
    result = run_study(spec(base, evaluate=True))
    assert result.warnings == [
        "could not evaluate minimax-dcgan-digits-s0, lsgan-dcgan-digits-s0: no metric is "
        "available offline for dataset 'digits'; pass --fid-weights PATH"
    ]


def test_an_unknown_metric_fails_before_training(cli, tmp_path):
    result = cli("compare", "--loss", "lsgan", "--metrics", "kid,fdi", "--steps", "4", *TINY_IMAGE)
    assert result.code == 1 and "unknown metric 'fdi' (did you mean 'fid'?)" in result.err
    assert "Traceback" not in result.err and not (tmp_path / "runs" / "study" / "lsgan-dcgan-digits-s0").exists()


@pytest.mark.slow
def test_cli_study_trains_what_is_missing_then_reuses(cli, base):
    args = [
        "compare",
        "--loss",
        "minimax",
        "--loss",
        "lsgan",
        "--seeds",
        "2",
        "--steps",
        "4",
        "--study",
        "s",
        "--no-eval",
        "--sample-every",
        "2",
        "--checkpoint-every",
        "2",
        *TINY_IMAGE,
    ]
    ckpt = base / "runs" / "s" / "minimax-dcgan-digits-s0" / "checkpoints" / "last.pt"
    stamp = ckpt.stat().st_mtime_ns
    first = cli(*args, "--format", "json")
    assert first.code == 0, first.err
    rows = json.loads(first.out)
    assert [(r["name"], r["n_seeds"], r["seeds"]) for r in rows] == [
        ("minimax-dcgan-digits", 2, [0, 1]),
        ("lsgan-dcgan-digits", 2, [0, 1]),
    ]
    assert rows[0]["steps"]["mean"] == 4 and rows[0]["image_size"] == 8
    assert (base / "runs" / "s" / "lsgan-dcgan-digits-s1" / "summary.json").is_file()
    stamps = {p: p.stat().st_mtime_ns for p in (base / "runs" / "s").glob("*/checkpoints/last.pt")}
    second = cli(*args)
    assert second.code == 0 and "minimax-dcgan-digits" in second.out and "4 runs in 2 rows" in second.out
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps and ckpt.stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_cli_study_passes_the_schedule_and_ema_flags_to_every_run(cli, tmp_path):
    args = ["compare", "--loss", "lsgan", "--seeds", "2", "--steps", "2", "--study", "sched", "--no-eval"]
    result = cli(*args, "--lr-schedule", "linear", "--ema-decay", "0.9", *TINY_IMAGE, "--format", "json")
    assert result.code == 0, result.err
    for seed in (0, 1):
        summary = json.loads((tmp_path / "runs" / "sched" / f"lsgan-dcgan-digits-s{seed}" / "summary.json").read_text())
        assert (summary["config"]["lr_schedule"], summary["config"]["ema_decay"]) == ("linear", 0.9)
    bad = cli(*args, "--lr-schedule", "step", *TINY_IMAGE)
    assert bad.code == 1 and "unknown lr_schedule 'step'" in bad.err and "Traceback" not in bad.err


@pytest.mark.slow
def test_cli_study_takes_a_config_file_under_its_flags(cli, tmp_path):
    """The file's data and arch options reach every run; --loss and --arch-opt override it key by
    key; the file's name and seed do not (the study names its runs and picks the seeds)."""
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(
        'loss = "minimax"\narch = "mlp"\ndata = "ring"\nsteps = 2\nbatch_size = 8\npack = 2\n'
        'latent_dim = 2\nlr_g = 3e-4\nname = "ring"\nseed = 7\n\n[arch_options]\nhidden = 16\ndepth = 2\n'
    )
    args = ["compare", "--config", str(recipe), "--seeds", "2", "--study", "fromfile", "--no-eval"]
    result = cli(*args, "--loss", "lsgan", "--arch-opt", "depth=1", "--format", "json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert [(r["loss"], r["arch"], r["data"], r["seeds"]) for r in rows] == [("lsgan", "mlp", "ring", [0, 1])]
    config = json.loads((tmp_path / "runs" / "fromfile" / "lsgan-mlp-ring-s1" / "summary.json").read_text())["config"]
    assert (config["pack"], config["lr_g"], config["latent_dim"], config["seed"]) == (2, 3e-4, 2, 1)
    assert config["arch_options"] == {"hidden": 16, "depth": 1}
    only_file = cli("compare", "--config", str(recipe), "--study", "plain", "--no-eval", "--format", "json")
    assert [r["loss"] for r in json.loads(only_file.out)] == ["minimax"]  # the file's loss, no --loss
    recipe.write_text('data = "ring"\npak = 2\n')
    bad = cli(*args)
    assert bad.code == 1 and f"unknown key 'pak' in {recipe}" in bad.err and "Traceback" not in bad.err
    recipe.write_text('data = "ring"\npack = 0\n')
    bad = cli(*args)
    assert bad.code == 1 and "pack must be an integer >= 1, got 0" in bad.err and "Traceback" not in bad.err
    missing = cli("compare", "--config", str(tmp_path / "nope.toml"))
    assert missing.code == 1 and "does not exist" in missing.err


def test_cli_study_bad_input(cli, tmp_path):
    result = cli("compare", "--loss", "minimax", "--loss", "nosuch", "--steps", "4", *TINY_IMAGE)
    assert result.code == 1 and "nosuch" in result.err and "Traceback" not in result.err
    assert not (tmp_path / "runs").exists()
    result = cli("compare", "--loss", "lsgan", "--eval-every", "-1", *TINY_IMAGE)  # reaches RunConfig
    assert result.code == 1 and "eval_every must be an integer >= 0, got -1" in result.err
    result = cli("compare", "--seeds", "0", *TINY_IMAGE)
    assert result.code == 1 and "--seeds must be an integer >= 1" in result.err
    result = cli("compare", "--loss", "lsgan", "--study", "../x")
    assert result.code == 1 and "not a plain folder name" in result.err


@pytest.mark.slow
def test_study_with_the_real_evaluator_fills_the_table(base, fid_env):
    """ganlab.metrics.evaluate_run on stand-in Inception weights (tests/fid_standin.py): FID of
    32 samples per run (64-dim features keep it fast) lands in each summary and in the comparison."""
    from ganlab.comparison import rows as compare

    result = run_study(spec(base, evaluate=True, metrics=["fid"], eval_n=32, eval_options={"dims": 64}))
    assert result.warnings == []
    values = [RunDir(p.path).summary()["metrics"]["fid"] for p in result.runs]
    assert all(v["n"] == 32 and v["dims"] == 64 and v["step"] == 4 and v["value"] >= 0 for v in values)
    rows = compare.compare([str(result.path)]).rows
    cells = {r["name"]: r["metrics"]["fid"]["final"] for r in rows}
    assert [cells[p.config.name]["mean"] for p in result.runs] == [v["value"] for v in values]
    best = min(cells.values(), key=lambda c: c["mean"])
    assert [c["is_best"] for c in cells.values()] == [c is best for c in cells.values()]
    assert {c["feature_net"] for c in cells.values()} == {values[0]["feature_net"]}
