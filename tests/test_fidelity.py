"""Precision/recall (Kynkaanniemi et al. 2019), density/coverage (Naeem et al. 2020) and the
Inception Score, against hand computations on tiny feature sets, then through `ganlab eval`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ganlab.errors import MetricError
from ganlab.metrics import fidelity
from ganlab.run import runner
from tests.conftest import tiny_config
from tests.test_eval import digits_subject

pytest_plugins = ["tests.fid_standin"]
pytestmark = pytest.mark.usefixtures("one_thread_module")


def by_hand(real: np.ndarray, fake: np.ndarray, k_pr: int, k_dc: int) -> dict[str, float]:
    """The papers' definitions, written out with loops over points."""

    def radii(x, k):  # distance to the k-th nearest *other* point
        return np.array(
            [np.sort([np.linalg.norm(a - b) for j, b in enumerate(x) if j != i])[k - 1] for i, a in enumerate(x)]
        )

    def dist(a, b):
        return float(np.linalg.norm(a - b))

    r_pr, f_pr, r_dc = radii(real, k_pr), radii(fake, k_pr), radii(real, k_dc)
    precision = np.mean([any(dist(f, r) <= r_pr[i] for i, r in enumerate(real)) for f in fake])
    recall = np.mean([any(dist(r, f) <= f_pr[j] for j, f in enumerate(fake)) for r in real])
    density = sum(dist(f, r) <= r_dc[i] for f in fake for i, r in enumerate(real)) / (k_dc * len(fake))
    coverage = np.mean([min(dist(r, f) for f in fake) <= r_dc[i] for i, r in enumerate(real)])
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


def test_five_points_on_a_line_by_hand():
    real = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])  # k=1: every real radius is 1
    fake = np.array([[0.5], [10.0]])  # k=1: both fake radii are 9.5
    # precision: 0.5 is within 1 of 0 (and 1); 10 is in no ball -> 1/2
    # recall: every real point is within 9.5 of 0.5 -> 1
    # density: 0.5 lies in the balls of 0 and 1, 10 in none -> 2 / (1 * 2) = 1
    # coverage: the nearest fake point (0.5) is within 1 of 0 and 1 only -> 2/5
    assert fidelity.precision_recall(real, fake, k=1) == {"precision": 0.5, "recall": 1.0}
    assert fidelity.density_coverage(real, fake, k=1) == {"density": 1.0, "coverage": 0.4}
    # k=3 radii of the real line: 3, 2, 2, 2, 3; 10 is 6 from 4 -> still outside; 0.5 inside
    radii = fidelity.knn_radii(torch.tensor(real), 3) / (1 + fidelity.SLACK)
    assert radii.tolist() == pytest.approx([3.0, 2.0, 2.0, 2.0, 3.0], rel=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_definitions_on_random_sets(seed):
    rng = np.random.default_rng(seed)
    real, fake = rng.normal(size=(30, 4)), rng.normal(1.0, 1.0, size=(25, 4))
    want = by_hand(real, fake, fidelity.K_PR, fidelity.K_DC)
    got = fidelity.precision_recall(real, fake) | fidelity.density_coverage(real, fake)
    assert got == pytest.approx(want, abs=1e-12)
    assert 0 < got["precision"] < 1 and 0 < got["coverage"] < 1  # the sets overlap only partly


def test_identical_sets_closed_forms():
    x = np.random.default_rng(3).normal(size=(40, 3))
    pr, dc = fidelity.precision_recall(x, x), fidelity.density_coverage(x, x)
    assert pr == {"precision": 1.0, "recall": 1.0} and dc["coverage"] == 1.0
    # each real ball holds its centre and its k nearest neighbours (no ties): N (k + 1) / (k N)
    assert dc["density"] == pytest.approx((fidelity.K_DC + 1) / fidelity.K_DC, abs=1e-12)


def test_disjoint_sets_score_zero_and_tiny_sets_are_refused():
    a = np.random.default_rng(4).normal(size=(10, 2))
    assert fidelity.precision_recall(a, a + 100) == {"precision": 0.0, "recall": 0.0}
    assert fidelity.density_coverage(a, a + 100) == {"density": 0.0, "coverage": 0.0}
    with pytest.raises(MetricError, match="needs more than 5 samples, got 5"):
        fidelity.density_coverage(a[:5], a)


def test_inception_score_closed_forms():
    assert fidelity.inception_score(np.zeros((50, 7))) == pytest.approx((1.0, 0.0))  # p(y|x) = p(y)
    # confident and balanced over 5 classes in every split: exp(log 5) = 5
    confident = 100.0 * np.eye(5)[np.arange(100) % 5]
    mean, std = fidelity.inception_score(confident)
    assert mean == pytest.approx(5.0, rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(MetricError, match="needs at least 10 samples"):
        fidelity.inception_score(np.zeros((9, 3)))


@pytest.fixture
def offline(monkeypatch, tmp_path, session_cache):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "no_weights"))
    monkeypatch.setenv("GANLAB_CACHE", str(session_cache))
    monkeypatch.delenv("GANLAB_FID_WEIGHTS", raising=False)


@pytest.mark.slow
def test_classifier_features_tell_a_collapsed_generator_by_recall(offline):
    from ganlab import plugins
    from ganlab.metrics.evaluate import EvalOptions, evaluate

    real = plugins.create("dataset", "digits", {})[0].load(8, None)
    unit = real.images.float().div(127.5).sub(1)
    names = ["precision", "recall", "density", "coverage"]
    opts = EvalOptions(n=300)
    perfect = evaluate(digits_subject(unit, real), names, opts)
    collapsed = evaluate(digits_subject(unit[:1], real), names, opts)
    print({name: (perfect[name]["value"], collapsed[name]["value"]) for name in names})
    # samples are real images (drawn from all 1,797; the real side is a 300-image subset)
    assert perfect["precision"]["value"] > 0.8 and perfect["recall"]["value"] > 0.8
    assert collapsed["recall"]["value"] < 0.05  # one image, repeated: its k-NN balls have radius 0
    assert collapsed["coverage"]["value"] < 0.05 < perfect["coverage"]["value"]
    assert perfect["precision"]["feature_net"].startswith("ganlab classifier (digits 8x8")
    assert perfect["precision"]["k"] == 3 and perfect["coverage"]["k"] == 5


@pytest.mark.slow
def test_eval_cli_with_inception_features_and_the_inception_score(fid_env, cli, tmp_path):
    run, _ = runner.start(tiny_config(runs_dir=str(tmp_path), name="d", steps=2))
    r = cli(
        "eval", run.path, "--metrics", "precision,recall,density,coverage,inception_score", "--n", "20", "--dims", "64"
    )
    assert r.code == 0, r.err
    assert "precision" in r.out and "coverage" in r.out
    metrics = json.loads(run.summary_file.read_text())["metrics"]
    for name in ("precision", "recall", "density", "coverage"):
        assert "pt_inception-2015-12-05" in metrics[name]["feature_net"] and metrics[name]["dims"] == 64
    assert 0 <= metrics["precision"]["value"] <= 1 and metrics["density"]["value"] >= 0
    score = metrics["inception_score"]
    assert 1.0 <= score["value"] <= 1008 and score["std"] >= 0 and score["better"] == "higher"


def test_points_runs_and_unlabelled_sets_without_weights_are_refused(offline, cli, tmp_path):
    run, _ = runner.start(
        tiny_config(
            runs_dir=str(tmp_path),
            name="ring",
            data="ring",
            arch="mlp",
            image_size=None,
            arch_options={"hidden": 8},
            latent_dim=4,
            batch_size=16,
            steps=1,
        )
    )
    r = cli("eval", run.path, "--metrics", "precision")
    assert r.code == 1 and "metric 'precision' needs images" in r.err
