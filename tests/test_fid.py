"""FID on pytorch-fid's network with stand-in weights: the stand-in is informative, `ganlab fid`
gives `python -m pytorch_fid`'s number, statistics files, the real-feature cache, weights lookup,
and one-line errors for bad input."""

from __future__ import annotations

import inspect
import io
import runpy
import sys
import urllib.error
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.metrics import fid
from ganlab.metrics.frechet import (
    frechet_distance,
    frechet_distance_features,
    statistics,
)
from tests.conftest import tiny_config

pytest_plugins = ["tests.fid_standin"]  # the stand-in FID weights, built once per session
pytestmark = pytest.mark.usefixtures("one_thread_module")  # see tests/fid_standin.py


def digit_images(start: int, count: int, size: int = 16) -> np.ndarray:
    """uint8 (count, size, size) greyscale digits from scikit-learn's bundled set."""
    from sklearn.datasets import load_digits

    pixels = load_digits().images[start : start + count] * (255 / 16)
    return np.stack(
        [np.asarray(Image.fromarray(p.astype(np.uint8)).resize((size, size), Image.BILINEAR)) for p in pixels]
    )


def write_folder(path: Path, images: np.ndarray, fmt: str = "png") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        Image.fromarray(img).save(path / f"{i:03d}.{fmt}")
    return path


def noise_images(count: int, seed: int, size: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("folders")
    return write_folder(root / "a", digit_images(0, 12)), write_folder(root / "b", digit_images(200, 12))


def pytorch_fid_cli(*args: str) -> float:
    """`python -m pytorch_fid ARGS` in this process; returns the FID it prints."""
    from pytorch_fid import fid_score

    argv, out = sys.argv, io.StringIO()
    sys.argv = ["pytorch_fid", "--device", "cpu", "--num-workers", "0", *args]
    try:
        with warnings.catch_warnings(), redirect_stdout(out):
            warnings.simplefilter("ignore")  # SciPy 1.17: sqrtm's `disp` is deprecated
            if "disp" not in inspect.signature(fid_score.linalg.sqrtm).parameters:  # SciPy >= 1.18
                pytest.MonkeyPatch().setattr(fid_score, "calculate_frechet_distance", frechet_distance)
            runpy.run_module("pytorch_fid", run_name="__main__")
    finally:
        sys.argv = argv
    return float(out.getvalue().split("FID:")[-1])


# --- the stand-in network -----------------------------------------------------------------------------
@pytest.mark.slow
def test_standin_separates_image_sets_and_matches_itself(fid_env):
    """Pool3 (2048-d) features of calibrated random weights are informative: digits against noise
    is far from 0, a set against itself is 0 to rounding."""
    net = fid.feature_net(dims=2048)
    assert net.weights == fid_env.weights  # found through TORCH_HOME, as pytorch-fid finds it
    digits = torch.from_numpy(digit_images(0, 4)).float().div(255).unsqueeze(1)  # greyscale -> repeated
    noise = torch.from_numpy(noise_images(4, 0)).permute(0, 3, 1, 2).float().div(255)
    fa, fb = net.features([digits]), net.features([noise])
    assert fa.shape == (4, 2048) and fa.std(axis=0).mean() > 1e-2  # not collapsed
    far = frechet_distance_features(fa, fb)
    assert far > 1.0
    assert abs(frechet_distance_features(fa, fa)) < 1e-9 * far


@pytest.mark.slow
def test_pool3_features_match_pytorch_fids_own_path(fid_env, tmp_path):
    """Same files, same network at 2048 dims: pytorch-fid's get_activations (PIL -> RGB ->
    ToTensor -> InceptionV3) and ours give the same features."""
    from pytorch_fid.fid_score import get_activations
    from pytorch_fid.inception import InceptionV3

    from ganlab.metrics.fid_sources import file_batches, folder_images

    files = folder_images(write_folder(tmp_path / "four", digit_images(40, 4)))
    with redirect_stdout(io.StringIO()):
        theirs = get_activations(files, InceptionV3([3]), batch_size=4, dims=2048, device="cpu", num_workers=0)
    ours = fid.feature_net(dims=2048).features(file_batches(files, 4))
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4 * np.abs(theirs).max())


@pytest.mark.slow
def test_ganlab_fid_equals_python_m_pytorch_fid(fid_env, folders, cli):
    expected = pytorch_fid_cli("--dims", "64", str(folders[0]), str(folders[1]))
    r = cli("fid", folders[0], folders[1], "--dims", "64", "--device", "cpu")
    assert r.code == 0, r.err
    value = float(r.out.split("FID:")[-1])
    assert value == pytest.approx(expected, rel=1e-3)
    assert expected > 0.01  # the two folders hold different digits: not a vacuous comparison
    assert "folder" in r.out and "12 images" in r.out


@pytest.mark.slow
def test_save_stats_writes_pytorch_fid_npz(fid_env, folders, cli, tmp_path):
    out = tmp_path / "a_stats.npz"
    r = cli("fid", "--save-stats", folders[0], out, "--dims", "64")
    assert r.code == 0, r.err
    with np.load(out) as f:
        assert set(f.files) == {"mu", "sigma"} and f["mu"].shape == (64,) and f["sigma"].shape == (64, 64)
    from_folder = float(cli("fid", folders[0], folders[1], "--dims", "64").out.split("FID:")[-1])
    from_npz = float(cli("fid", out, folders[1], "--dims", "64").out.split("FID:")[-1])
    assert from_npz == pytest.approx(from_folder, rel=1e-9)
    from pytorch_fid.fid_score import (
        compute_statistics_of_path,  # how pytorch-fid reads a .npz
    )

    mu, sigma = compute_statistics_of_path(str(out), None, 50, 64, "cpu")
    ours = fid.load_npz(out)
    np.testing.assert_array_equal(mu, ours[0])
    np.testing.assert_array_equal(sigma, ours[1])
    again = cli("fid", "--save-stats", folders[0], out, "--dims", "64")
    assert again.code == 1 and "already exists" in again.err


@pytest.mark.slow
def test_fid_of_a_folder_with_itself_is_zero(fid_env, folders, cli):
    r = cli("fid", folders[0], folders[0], "--dims", "64")
    assert r.code == 0 and abs(float(r.out.split("FID:")[-1])) < 1e-6


# --- runs, datasets and the real-feature cache -----------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from ganlab.run import runner

    run, _ = runner.start(tiny_config(runs_dir=str(tmp_path_factory.mktemp("runs")), name="r"))
    return run


@pytest.mark.slow
def test_run_and_dataset_sources(fid_env, folders, cli, tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    r = cli("fid", tiny_run.path, folders[0], "--n", "10", "--dims", "64")
    assert r.code == 0, r.err
    assert "run" in r.out and "10 images" in r.out and float(r.out.split("FID:")[-1]) > 0
    d = cli("fid", "digits", folders[0], "--n", "10", "--dims", "64", "--image-size", "16")
    assert d.code == 0, d.err
    assert "dataset  digits (10 images, 16 px)" in d.out
    assert len(list((tmp_path / "cache" / "fid-stats").glob("digits-*.npz"))) == 1


@pytest.mark.slow
def test_real_features_are_cached_by_key(fid_env, tiny_run, tmp_path, monkeypatch):
    from ganlab.metrics.evaluate import evaluate_run

    monkeypatch.setenv("GANLAB_CACHE", str(tmp_path / "cache"))
    calls = []
    original = fid.FeatureNet.features
    monkeypatch.setattr(fid.FeatureNet, "features", lambda self, b: calls.append(1) or original(self, b))
    first = evaluate_run(tiny_run.path, ["fid"], n=8, dims=64)["fid"]
    assert len(calls) == 2  # generated + real
    files = list((tmp_path / "cache" / "fid-stats").glob("*.npz"))
    assert len(files) == 1 and files[0].name.startswith("digits-train-8-8-64-")
    second = evaluate_run(tiny_run.path, ["fid"], n=8, dims=64)["fid"]
    assert len(calls) == 3  # only the generated side again
    assert second["value"] == pytest.approx(first["value"], rel=1e-12)
    with np.load(files[0]) as f:  # the cache file is also pytorch-fid statistics
        mu, sigma = statistics(f["features"])
        np.testing.assert_allclose(f["mu"], mu)
        np.testing.assert_allclose(f["sigma"], sigma)
    evaluate_run(tiny_run.path, ["fid"], n=9, dims=64)  # another n is another key
    assert len(calls) == 5 and len(list((tmp_path / "cache" / "fid-stats").glob("*.npz"))) == 2


def test_a_cache_that_cannot_be_written_is_a_notice_not_a_crash(tmp_path, monkeypatch):
    from ganlab.errors import GanlabNotice

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GANLAB_CACHE", str(blocker / "cache"))  # mkdir under a file fails, even as root
    feats = np.arange(12.0).reshape(4, 3)
    with pytest.warns(GanlabNotice, match="could not cache real-data features in .*; set GANLAB_CACHE"):
        out = fid.cached_features({"dataset": "digits", "n": 4}, lambda: feats)
    np.testing.assert_array_equal(out, feats)


# --- weights lookup ---------------------------------------------------------------------------------------
def test_missing_weights_offline_name_the_file_and_where_to_put_it(cli, folders, tmp_path, monkeypatch):
    from pytorch_fid import inception

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_home"))
    monkeypatch.delenv("GANLAB_FID_WEIGHTS", raising=False)

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(inception, "load_state_dict_from_url", offline)  # never touch the network in tests
    r = cli("fid", folders[0], folders[1])
    assert r.code == 1
    line = r.err.strip()
    assert "\n" not in line and "Traceback" not in r.err
    hub = tmp_path / "empty_home" / "hub" / "checkpoints" / "pt_inception-2015-12-05-6726825d.pth"
    assert "pt_inception-2015-12-05-6726825d.pth are missing" in line and str(hub) in line.replace("\n", "")
    assert "--fid-weights PATH" in line


@pytest.mark.slow
def test_weights_from_flag_or_environment(fid_standin, cli, folders, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_home"))
    monkeypatch.setenv("GANLAB_CACHE", str(fid_standin.cache))
    monkeypatch.delenv("GANLAB_FID_WEIGHTS", raising=False)
    by_flag = cli("fid", folders[0], folders[1], "--dims", "64", "--fid-weights", fid_standin.weights)
    assert by_flag.code == 0, by_flag.err
    monkeypatch.setenv("GANLAB_FID_WEIGHTS", str(fid_standin.weights))
    by_env = cli("fid", folders[0], folders[1], "--dims", "64")
    assert by_env.code == 0 and by_env.out.split("FID:")[-1] == by_flag.out.split("FID:")[-1]
    missing = cli("fid", folders[0], folders[1], "--fid-weights", tmp_path / "nope.pth")
    assert missing.code == 1 and "nope.pth' (from --fid-weights) does not exist" in missing.err


@pytest.mark.slow
def test_a_file_that_is_not_inception_weights(fid_env, cli, folders, tmp_path):
    bad = tmp_path / "bad.pth"
    torch.save({"weight": torch.zeros(2)}, bad)
    r = cli("fid", folders[0], folders[1], "--fid-weights", bad, "--dims", "64")
    assert r.code == 1 and "is not a pytorch-fid FID Inception weights file" in r.err
    bad.write_bytes(b"not a torch file")
    r = cli("fid", folders[0], folders[1], "--fid-weights", bad, "--dims", "64")
    assert r.code == 1 and "cannot read FID weights" in r.err and "Traceback" not in r.err


# --- bad input: one line, exit 1 ---------------------------------------------------------------------------
def bad_inputs(tmp_path: Path) -> dict[str, tuple[str, str]]:
    empty = tmp_path / "empty"
    empty.mkdir()
    one = write_folder(tmp_path / "one", digit_images(0, 1))
    mixed = write_folder(tmp_path / "mixed", digit_images(0, 2))
    Image.fromarray(digit_images(5, 1, size=20)[0]).save(mixed / "z.png")
    corrupt = write_folder(tmp_path / "corrupt", digit_images(0, 2))
    (corrupt / "broken.png").write_bytes(b"\x89PNG not really")
    npz = tmp_path / "nomu.npz"
    np.savez(npz, mean=np.zeros(3))
    no_ckpt = tmp_path / "runs" / "nockpt"
    no_ckpt.mkdir(parents=True)
    (no_ckpt / "config.toml").write_text('data = "digits"\n')
    return {
        "empty": (str(empty), "has no image files"),
        "one": (str(one), "has only 1 image (000.png); FID needs at least 2 images"),
        "mixed": (str(mixed), "mixed image sizes: z.png is 20x20 but 000.png is 16x16"),
        "corrupt": (str(corrupt), "cannot read image"),
        "npz": (str(npz), "has no mu or sigma array (it holds mean)"),
        "run": (str(no_ckpt), "has no checkpoint 'last'"),
        "unknown": ("nosuchthing", "is not an image folder, a .npz file, a run directory or a dataset name"),
    }


@pytest.mark.slow
@pytest.mark.parametrize("case", ["empty", "one", "mixed", "corrupt", "npz", "run", "unknown"])
def test_bad_sources_are_one_line_errors(fid_env, cli, folders, tmp_path, case):
    source, message = bad_inputs(tmp_path)[case]
    r = cli("fid", source, folders[0], "--dims", "64")
    assert r.code == 1
    assert message in r.err
    assert r.err.count("Error:") == 1 and "Traceback" not in r.err


@pytest.mark.slow
def test_unknown_dims_is_an_error(fid_env, cli, folders):
    r = cli("fid", folders[0], folders[1], "--dims", "100")
    assert r.code == 1 and "unknown FID --dims 100; choose one of 64, 192, 768, 2048" in r.err


# --- pitfalls said out loud ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, message",
    [
        (["--n", "5"], "--n applies only to a run or a dataset name (how many images it gives); here both sources"),
        (["--image-size", "8"], "here both sources are folders: drop --image-size"),
        (["--force"], "--force replaces the file --save-stats writes"),
    ],
)
def test_flags_that_no_source_reads_are_refused_before_any_work(cli, folders, args, message):
    r = cli("fid", folders[0], folders[1], *args)  # no weights anywhere: only the flag check can answer
    assert r.code == 1 and message in r.err and r.err.count("Error:") == 1


def test_save_stats_over_a_file_needs_force(cli, folders, tmp_path):
    out = tmp_path / "stats.npz"
    out.write_bytes(b"keep me")
    r = cli("fid", "--save-stats", folders[0], out)
    assert r.code == 1 and f"--save-stats {str(out)!r} already exists; pass --force to replace it" in r.err
    assert out.read_bytes() == b"keep me"


def test_pitfalls_name_two_resolutions_and_n_below_the_feature_dimension():
    from ganlab.metrics.fid_sources import Stats, pitfalls

    def stats(n, size, dims=64):
        return Stats(np.zeros(dims), np.eye(dims), n, "folder", "x", size=size)

    assert pitfalls(stats(100, (16, 16)), stats(200, (16, 16))) == []
    said = pitfalls(stats(10, (8, 8)), stats(200, (32, 32)))
    assert said[0].startswith("the sources differ in resolution (8x8 px and 32x32 px)")
    assert said[1].startswith("FID from 10 images in 64 feature dimensions")
    npz = Stats(np.zeros(64), np.eye(64), None, "npz", "s.npz")  # unknown n and size: nothing to say
    assert pitfalls(npz, stats(100, (8, 8))) == []


@pytest.mark.slow
def test_fid_of_two_resolutions_notes_both_pitfalls(fid_env, folders, cli, tmp_path):
    small = write_folder(tmp_path / "small", digit_images(0, 12, size=8))
    r = cli("fid", small, folders[1], "--dims", "64")
    assert r.code == 0, r.err
    notes = [line for line in r.err.splitlines() if line.startswith("Note:")]
    assert "the sources differ in resolution (8x8 px and 16x16 px)" in notes[0]
    assert "FID from 12 images in 64 feature dimensions" in notes[1]
