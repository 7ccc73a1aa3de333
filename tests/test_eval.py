"""`ganlab eval` and evaluation during training: the default offline metrics, the classifier, the
summary format, best/last tracking, and one-line errors."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from ganlab.metrics.evaluate import EvalOptions, evaluate, evaluate_run
from ganlab.metrics.subject import Subject
from ganlab.run import runner
from tests.conftest import tiny_config

pytest_plugins = ["tests.fid_standin"]  # the stand-in FID weights, built once per session
pytestmark = pytest.mark.usefixtures("one_thread_module")  # see tests/fid_standin.py

FIELDS = {"value", "std", "n", "dims", "feature_net", "step", "better"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    digits, _ = runner.start(tiny_config(runs_dir=str(root), name="digits", steps=4))
    ring, _ = runner.start(
        tiny_config(
            runs_dir=str(root),
            name="ring",
            data="ring",
            arch="mlp",
            image_size=None,
            arch_options={"hidden": 16},
            latent_dim=4,
            batch_size=16,
            steps=4,
        )
    )
    return {"digits": digits, "ring": ring}


@pytest.fixture
def offline(monkeypatch, tmp_path, session_cache):
    """No FID weights anywhere (an empty TORCH_HOME), the session's classifier cache."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "no_weights"))
    monkeypatch.setenv("GANLAB_CACHE", str(session_cache))
    monkeypatch.delenv("GANLAB_FID_WEIGHTS", raising=False)


class Replay(nn.Module):
    """A "generator" that returns stored images, picked by z: a stand-in for a perfect (all real
    images) or a collapsed (one image) generator."""

    def __init__(self, images: torch.Tensor):
        super().__init__()
        self.register_buffer("images", images)
        self.anchor = nn.Parameter(torch.zeros(1))  # Subject looks up the device from a parameter

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        idx = (z[:, 0].abs() * 1e6).long() % len(self.images)
        return self.images[idx]


def digits_subject(images: torch.Tensor, real) -> Subject:
    return Subject(
        Replay(images),
        8,
        torch.device("cpu"),
        0,
        "image",
        tuple(real.shape),
        real.meta,
        "digits",
        {},
        None,
        lambda: real,
    )


@pytest.mark.slow
def test_default_offline_eval_of_a_digits_run(runs, offline, cli):
    r = cli("eval", runs["digits"].path, "--n", "300")
    assert r.code == 0, r.err
    assert "Note: FID and KID left out: the Inception weights pt_inception-2015-12-05-6726825d.pth" in r.err
    for name in ("classifier_fd", "classes_covered", "class_kl"):
        assert name in r.out
    summary = json.loads(runs["digits"].summary_file.read_text())
    metrics = summary["metrics"]
    assert set(metrics) == {"classifier_fd", "classes_covered", "class_kl"}
    for entry in metrics.values():
        assert FIELDS <= set(entry) and entry["n"] == 300 and entry["step"] == 4
        assert "ganlab classifier (digits 8x8, test accuracy" in entry["feature_net"]
    assert metrics["classifier_fd"]["dims"] == 128 and metrics["classifier_fd"]["better"] == "lower"
    assert summary["status"] == "complete"  # the training summary is kept, metrics are added


@pytest.mark.slow
def test_classifier_is_accurate_and_cached(offline, monkeypatch):
    from ganlab.metrics import classifier

    clf = classifier.get_classifier("digits", (1, 16, 16))
    assert clf.test_accuracy > 0.9
    monkeypatch.setattr(classifier, "_loaded", {})
    monkeypatch.setattr(classifier, "train_classifier", lambda *a: pytest.fail("retrained despite the cache"))
    again = classifier.get_classifier("digits", (1, 16, 16))
    assert again.test_accuracy == clf.test_accuracy
    x = torch.rand(6, 1, 16, 16) * 2 - 1
    torch.testing.assert_close(again.net(x), clf.net(x))


@pytest.mark.slow
def test_classifier_metrics_tell_real_images_from_collapse(offline):
    """Real images as "samples": small distance, all 10 classes, KL about 0. One image repeated:
    one class, KL = -log p_real(that class), a large distance."""
    from ganlab import plugins

    real = plugins.create("dataset", "digits", {})[0].load(8, None)
    as_float = real.images.float().div(127.5).sub(1)
    names = ["classifier_fd", "classes_covered", "class_kl"]
    good = evaluate(digits_subject(as_float, real), names, EvalOptions(n=1500))
    bad = evaluate(digits_subject(as_float[:1], real), names, EvalOptions(n=1500))
    assert good["classes_covered"]["value"] == 10 and bad["classes_covered"]["value"] == 1
    assert good["class_kl"]["value"] < 0.02
    assert bad["class_kl"]["value"] > math.log(5)  # one class of ten: about log 10
    assert bad["classifier_fd"]["value"] > 20 * good["classifier_fd"]["value"]


@pytest.mark.slow
def test_ring_run_gets_mode_metrics_and_energy_distance_by_default(runs, offline):
    results = evaluate_run(runs["ring"].path)
    assert set(results) == {"modes_covered", "high_quality_pct", "mode_kl", "energy_distance"}
    assert all(r["n"] == 2500 and r["dims"] == 2 for k, r in results.items() if k != "energy_distance")
    energy = results["energy_distance"]
    assert energy["n"] == 2000 and energy["std"] > 0 and energy["value"] > 5 * energy["std"]  # 4 steps: far from ring
    assert 0 <= results["modes_covered"]["value"] <= 8 and 0 <= results["mode_kl"]["value"] <= math.log(8) + 1e-9
    assert json.loads(runs["ring"].summary_file.read_text())["metrics"]["mode_kl"] == results["mode_kl"]


@pytest.mark.slow
def test_fid_and_kid_with_standin_weights(runs, fid_env, cli):
    r = cli(
        "eval",
        runs["digits"].path,
        "--metrics",
        "fid,kid",
        "--n",
        "12",
        "--dims",
        "64",
        "--kid-subset-size",
        "6",
        "--kid-subsets",
        "3",
    )
    assert r.code == 0, r.err
    metrics = json.loads(runs["digits"].summary_file.read_text())["metrics"]
    fid, kid = metrics["fid"], metrics["kid"]
    assert fid["dims"] == 64 and fid["n"] == 12 and "pt_inception-2015-12-05-6726825d.pth" in fid["feature_net"]
    assert fid["value"] > 0 and fid["std"] is None and kid["std"] is not None and kid["std"] >= 0
    assert "classifier_fd" in metrics  # an evaluation of other metrics keeps the earlier ones


@pytest.mark.slow
def test_default_metrics_include_fid_when_weights_are_present(runs, fid_env):
    from ganlab.metrics.evaluate import default_metrics
    from ganlab.run.restore import restore

    subject = Subject.from_restored(restore(runs["digits"].path))
    assert default_metrics(subject, EvalOptions()) == ["fid", "kid", "classifier_fd", "classes_covered", "class_kl"]
    assert default_metrics(subject, EvalOptions(n=200))[:2] == ["fid", "classifier_fd"]  # too few for KID


# --- during training ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_eval_every_records_last_and_best_and_saves_the_best_checkpoint(tmp_path, offline, monkeypatch):
    """Scripted primary values 5, 3, 4 (lower is better) at steps 2, 4, 6: best is step 4."""
    from ganlab.metrics import callback
    from ganlab.run import checkpoint

    script = iter([5.0, 3.0, 4.0])

    def scripted(subject, names, options):
        return {
            "classifier_fd": {
                "value": next(script),
                "std": None,
                "n": 1,
                "dims": 128,
                "feature_net": "x",
                "step": subject.step,
                "better": "lower",
            }
        }

    monkeypatch.setattr(callback, "evaluate", scripted)
    config = tiny_config(runs_dir=str(tmp_path), name="scripted", steps=6, checkpoint_every=100, eval_every=2)
    run, summary = runner.start(config)
    assert summary["metrics"]["classifier_fd"]["value"] == 4.0 and summary["metrics"]["classifier_fd"]["step"] == 6
    assert summary["metrics_best"]["classifier_fd"]["value"] == 3.0
    assert summary["metrics_best"]["classifier_fd"]["step"] == 4
    assert checkpoint.load(run.best_checkpoint)["step"] == 4
    assert json.loads(run.summary_file.read_text())["metrics_best"] == summary["metrics_best"]
    assert summary["metrics_history"] == [
        {"step": 2, "classifier_fd": 5.0},
        {"step": 4, "classifier_fd": 3.0},
        {"step": 6, "classifier_fd": 4.0},
    ]
    from ganlab.comparison.plot import metric_history
    from ganlab.comparison.rows import (
        load_record,  # the curve `ganlab compare --plot` draws
    )

    record = load_record(run)
    assert metric_history(record)["classifier_fd"] == [(2, 5.0), (4, 3.0), (6, 4.0)]


@pytest.mark.slow
def test_train_eval_every_flag(tmp_path, offline, cli):
    from tests.conftest import TINY_IMAGE

    r = cli("train", *TINY_IMAGE, "--steps", "4", "--eval-every", "2", "--name", "ev", "--runs-dir", tmp_path)
    assert r.code == 0, r.err
    summary = json.loads((tmp_path / "ev" / "summary.json").read_text())
    assert set(summary["metrics"]) == {"classifier_fd", "classes_covered", "class_kl"}
    assert summary["metrics"]["class_kl"]["step"] == 4
    assert {e["step"] for e in summary["metrics_best"].values()} <= {2, 4}
    assert (tmp_path / "ev" / "checkpoints" / "best.pt").is_file()
    fd = summary["metrics"]["classifier_fd"]
    assert f"│ classifier_fd   │ {fd['value']:.4g} at step 4 (n 5000; lower is better)" in r.out  # the summary table


# --- bad input ------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    "args, message",
    [
        (["--metrics", "fud"], "unknown metric 'fud' (did you mean 'fid'?); choose from fid, kid"),
        (
            ["--metrics", "mode_kl"],
            "metric 'mode_kl' needs points, but dataset 'digits' is images; use --metrics classifier_fd",
        ),
        (["--metrics", "kid", "--n", "50"], "KID needs at least 1000 samples per set (its subset size), got 50"),
        (["--metrics", "classifier_fd", "--n", "1"], "--n must be at least 2"),
    ],
)
def test_bad_eval_requests_are_one_line_errors(runs, offline, cli, args, message):
    r = cli("eval", runs["digits"].path, *args)
    assert r.code == 1
    assert message in r.err and r.err.count("Error:") == 1 and "Traceback" not in r.err


def test_eval_of_a_run_without_checkpoint_or_not_a_run(tmp_path, offline, cli):
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "config.toml").write_text('data = "digits"\n')
    r = cli("eval", bare)
    assert r.code == 1 and "has no checkpoint 'last'" in r.err and "train it first" in r.err
    r = cli("eval", tmp_path / "nothing")
    assert r.code == 1 and "does not exist" in r.err


def test_the_classifier_streams_batches_with_the_values_of_one_tensor():
    """features_and_labels over batches as they come from a sampler (kept on G's device) gives the
    features and classes it gives for the same images as one tensor."""
    import numpy as np
    import torch

    from ganlab.metrics.classifier import Classifier, SmallCNN

    torch.manual_seed(0)
    clf = Classifier(SmallCNN(1, 10).eval(), "digits", (1, 16, 16), 0.0)
    images = torch.rand(37, 1, 16, 16) * 2 - 1
    whole_feats, whole_labels = clf.features_and_labels(images, batch_size=500)
    feats, labels = clf.features_and_labels(iter(images.split(8)), device="cpu")
    assert feats.shape == (37, 128) and labels.shape == (37,)
    np.testing.assert_allclose(feats, whole_feats, rtol=1e-5, atol=1e-6)
    assert (labels == whole_labels).all()
