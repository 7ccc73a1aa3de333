"""Loggers as plugins: discovery, the jsonl format, TensorBoard events read back with
EventAccumulator, the MLflow run read back with MlflowClient, and bad --log values."""

from __future__ import annotations

import importlib.util
import json

import pytest

from ganlab import plugins
from ganlab.errors import ConfigError, PluginError
from ganlab.loggers.base import Logger
from ganlab.run import runner
from tests.conftest import tiny_config

pytest_plugins = ["tests.logger_seam"]  # the builtin_loggers fixture

HAS_MLFLOW = importlib.util.find_spec("mlflow") is not None


def test_builtin_loggers_are_plugins_listed_with_the_others(builtin_loggers):
    assert {"jsonl", "tensorboard", "mlflow"} <= set(plugins.available("logger"))
    cls, spec = plugins.load("logger", "tensorboard")
    assert issubclass(cls, Logger) and spec.dist == "ganlab"
    listed = {(row.spec.kind, row.spec.name): row.status for row in plugins.list_all()}
    assert listed[("logger", "tensorboard")] == "ok" and listed[("logger", "jsonl")] == "ok"


def test_a_logger_that_is_not_a_logger_subclass_is_refused(builtin_loggers, monkeypatch):
    from tests.helpers import fake_entry_points

    fake_entry_points(monkeypatch)("logger", "wrong", "ganlab.losses.minimax:Minimax")
    with pytest.raises(PluginError, match="not a subclass of ganlab.loggers.base.Logger"):
        plugins.load("logger", "wrong")


@pytest.mark.slow
def test_unknown_logger_fails_before_the_run_folder_exists(builtin_loggers, tmp_path):
    with pytest.raises(PluginError, match="unknown logger 'tensorbord'; did you mean 'tensorboard'"):
        runner.start(tiny_config(runs_dir=str(tmp_path), name="x", log=["tensorbord"]))
    assert not (tmp_path / "x").exists()


def test_mlflow_missing_is_one_line_naming_the_extra(builtin_loggers, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    with pytest.raises(ConfigError) as err:
        runner.start(tiny_config(runs_dir=str(tmp_path), name="x", log=["mlflow"]))
    assert str(err.value) == "--log mlflow needs MLflow, which is not installed; pip install 'ganlab[mlflow]'"
    assert not (tmp_path / "x").exists()


def test_log_must_be_a_list_of_names():
    with pytest.raises(ConfigError, match="log must be a list of logger names"):
        tiny_config(log="tensorboard").validate()


@pytest.mark.slow
def test_jsonl_is_always_written_in_the_same_format(builtin_loggers, tmp_path):
    run, _ = runner.start(tiny_config(runs_dir=str(tmp_path), name="j", steps=3, log=["jsonl"]))
    lines = (run.path / "metrics.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert list(rows[0])[:6] == ["step", "d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm"]
    assert lines[0] == json.dumps(rows[0])  # one compact object per line, as before loggers existed


@pytest.mark.slow
def test_tensorboard_events_hold_scalars_grids_config_and_hparams(builtin_loggers, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run, summary = runner.start(
        tiny_config(runs_dir=str(tmp_path), name="tb", steps=5, sample_every=2, log=["tensorboard"])
    )
    events = EventAccumulator(str(run.path / "tb"), size_guidance={"images": 0, "scalars": 0}).Reload()
    rows = run.metrics()
    d_loss = events.Scalars("train/d_loss")
    assert [e.step for e in d_loss] == [1, 2, 3, 4, 5]
    assert [e.value for e in d_loss] == pytest.approx([r["d_loss"] for r in rows], rel=1e-6)  # float32 in events
    assert {"train/g_loss", "train/d_real", "train/d_fake", "train/g_grad_norm"} <= set(events.Tags()["scalars"])
    # grids at --sample-every (2, 4) and the final one (5), as PNGs of the run's own files
    assert [e.step for e in events.Images("samples")] == [2, 4, 5]
    final_png = (run.path / "samples" / "step_000005.png").read_bytes()
    assert events.Images("samples")[-1].encoded_image_string[:8] == final_png[:8] == b"\x89PNG\r\n\x1a\n"
    config_text = events.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert 'loss = "minimax"' in config_text and "steps = 5" in config_text
    assert events.Scalars("final/d_loss")[0].value == pytest.approx(summary["final_mean_last_100"]["d_loss"], rel=1e-6)
    hparams = events.PluginTagToContent("hparams")
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(hparams)
    assert b"final/d_loss" in hparams["_hparams_/experiment"] and b"minimax" in hparams["_hparams_/session_start_info"]


@pytest.mark.slow
def test_a_resumed_run_keeps_one_tensorboard_series(builtin_loggers, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run, _ = runner.start(tiny_config(runs_dir=str(tmp_path), name="tb", steps=3, log=["tensorboard"]))
    runner.resume(run.path, {"steps": 5})
    events = EventAccumulator(str(run.path / "tb"), size_guidance={"scalars": 0}).Reload()
    assert [e.step for e in events.Scalars("train/g_loss")] == [1, 2, 3, 4, 5]


@pytest.mark.slow
@pytest.mark.skipif(not HAS_MLFLOW, reason="mlflow is not installed (pip install 'ganlab[mlflow]')")
def test_mlflow_run_holds_params_metric_series_grids_and_final_metrics(builtin_loggers, tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)  # MLflow 3 puts artifacts in ./mlruns beside a sqlite store
    run, summary = runner.start(
        tiny_config(runs_dir=str(tmp_path), name="ml", steps=4, sample_every=2, log=["mlflow"], ema_decay=0.5)
    )
    client = MlflowClient(uri)
    run_id = (run.path / "mlflow_run_id").read_text().strip()
    got = client.get_run(run_id)
    assert got.info.status == "FINISHED" and got.info.run_name == "ml"
    assert got.data.params["loss"] == "minimax" and got.data.params["ema_decay"] == "0.5"
    assert got.data.tags["weights"] == "ema"
    history = client.get_metric_history(run_id, "g_loss")
    assert [m.step for m in history] == [1, 2, 3, 4]
    assert [m.value for m in history] == pytest.approx([r["g_loss"] for r in run.metrics()], rel=1e-12)
    assert got.data.metrics["final/d_loss"] == pytest.approx(summary["final_mean_last_100"]["d_loss"])
    grids = [a.path for a in client.list_artifacts(run_id, "samples")]
    assert grids == ["samples/step_000002.png", "samples/step_000004.png"]


@pytest.mark.slow
def test_train_flags_and_config_files_select_loggers_and_ema(builtin_loggers, cli, tmp_path):
    from tests.conftest import TINY_IMAGE

    r = cli("train", *TINY_IMAGE, "--steps", "2", "--name", "c", "--log", "tensorboard,jsonl", "--ema-decay", "0.9")
    assert r.code == 0, r.err
    assert "EMA generator (decay 0.9)" in r.out
    saved = (tmp_path / "runs" / "c" / "config.toml").read_text()
    assert 'log = ["tensorboard", "jsonl"]' in saved and "ema_decay = 0.9" in saved
    assert any((tmp_path / "runs" / "c" / "tb").iterdir())
    (tmp_path / "run.toml").write_text('log = ["tensorboard"]\nsteps = 1\nimage_size = 8\nbatch_size = 8\n')
    r = cli("train", "--config", "run.toml", "--name", "f", "--arch-opt", "width=8", "--latent-dim", "8")
    assert r.code == 0, r.err
    assert (tmp_path / "runs" / "f" / "tb").is_dir()
