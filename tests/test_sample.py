"""`ganlab sample` from a run (torch) and from an export (onnxruntime), provider choice, the
standalone example script, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from ganlab.deploy import sample as infer
from ganlab.deploy.export import export_onnx
from ganlab.run import runner
from ganlab.run.restore import restore
from tests.conftest import tiny_config
from tests.helpers import CliResult, one_line_error, run_python

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "onnx_inference.py"
pytestmark = pytest.mark.slow  # every test here needs `made`: two runs trained and exported (seconds)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """An image run and a points run, each exported to ONNX (verified)."""
    root = tmp_path_factory.mktemp("runs")
    image = runner.start(tiny_config(runs_dir=str(root), name="img"))[0].path
    points = runner.start(
        tiny_config(
            runs_dir=str(root),
            name="pts",
            arch="mlp",
            data="ring",
            image_size=None,
            arch_options={"hidden": 16},
            latent_dim=4,
        )
    )[0].path
    return {"img": image, "img_onnx": export_onnx(image).path, "pts": points, "pts_onnx": export_onnx(points).path}


def test_run_writes_grid_pngs_and_array(cli, made, tmp_path):
    result = cli(
        "sample", made["img"], "--n", "10", "--seed", "3", "--out", "g.png", "--out-dir", "imgs", "--npy", "a.npy"
    )
    assert result.code == 0, result.err
    assert "from   torch (cpu), 10 samples, seed 3" in result.out
    array = np.load(tmp_path / "a.npy")
    np.testing.assert_array_equal(array, restore(made["img"]).sample(10, seed=3).numpy())
    files = sorted((tmp_path / "imgs").glob("*.png"))
    assert [f.name for f in files] == [f"{i:06d}.png" for i in range(10)]
    for f, img in zip(files, array, strict=True):  # grey 8x8, torchvision's rounding of [-1, 1]
        png = np.asarray(Image.open(f))
        assert Image.open(f).mode == "L" and png.shape == (8, 8)
        expected = np.floor((img[0].astype(np.float64) + 1) / 2 * 255 + 0.5)
        assert np.abs(png - expected).max() <= 1
    grid = np.asarray(Image.open(tmp_path / "g.png"))
    assert grid.shape[:2] == (2 * 66 + 2, 8 * 66 + 2)  # 8 per row; 8 px images enlarged 8x; 2 px padding
    first = np.asarray(Image.open(files[0]))
    np.testing.assert_array_equal(grid[2:66, 2:66, 0], np.kron(first, np.ones((8, 8), np.uint8)))  # nearest: sharp


def test_onnx_gives_the_runs_samples(cli, made, tmp_path):
    """Same seed, same z: onnxruntime reproduces torch. 300 > one chunk of 256 z vectors."""
    result = cli(
        "sample", "--onnx", made["img_onnx"], "--n", "300", "--seed", "5", "--npy", "b.npy", "--provider", "cpu"
    )
    assert result.code == 0, result.err
    assert "onnxruntime (CPUExecutionProvider)" in result.out and result.err == ""
    got = np.load(tmp_path / "b.npy")
    np.testing.assert_allclose(got, restore(made["img"]).sample(300, seed=5).numpy(), rtol=0, atol=1e-4)
    assert not np.allclose(got[:10], restore(made["img"]).sample(10, seed=6).numpy(), atol=1e-3)


def test_default_output_is_a_grid(cli, made, tmp_path):
    result = cli("sample", made["img_onnx"], "--n", "3", "--provider", "cpu")  # a bare .onnx path works too
    assert result.code == 0, result.err
    assert Image.open(tmp_path / "samples.png").size == (3 * 66 + 2, 68)


def test_a_grid_of_many_samples_is_capped_with_a_note(cli, made, tmp_path):
    result = cli("sample", made["img"], "--n", "300", "--out", "many.png")
    assert result.code == 0, result.err
    assert "Note: the grid shows the first 256 of 300 samples (32 rows); --out-dir or --npy writes all" in result.err
    assert Image.open(tmp_path / "many.png").size == (8 * 66 + 2, 32 * 66 + 2)


def test_existing_outputs_are_replaced_only_with_force(cli, made, tmp_path):
    (tmp_path / "g.png").write_bytes(b"keep")
    (tmp_path / "a.npy").write_bytes(b"keep")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "old.png").write_bytes(b"keep")
    for flag, name in (("--out", "g.png"), ("--npy", "a.npy")):
        result = cli("sample", made["img"], "--n", "2", flag, name)
        assert result.code == 1 and f"{flag} {name!r} already exists; pass --force to replace it" in result.err
    refused = cli("sample", made["img"], "--n", "2", "--out-dir", "d")
    assert refused.code == 1 and "or --force to delete its PNGs first" in refused.err
    assert all((tmp_path / name).read_bytes() == b"keep" for name in ("g.png", "a.npy", "d/old.png"))
    done = cli("sample", made["img"], "--n", "2", "--out", "g.png", "--out-dir", "d", "--force")
    assert done.code == 0, done.err
    assert Image.open(tmp_path / "g.png").size == (2 * 66 + 2, 68)
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["000000.png", "000001.png"]  # old.png went


def test_points_scatter_and_array(cli, made, tmp_path):
    result = cli("sample", made["pts"], "--n", "200", "--out", "s.png", "--npy", "p.npy")
    assert result.code == 0, result.err
    torch_points = np.load(tmp_path / "p.npy")
    assert torch_points.shape == (200, 2)
    assert Image.open(tmp_path / "s.png").size == (500, 500)  # viz.save_scatter: 5 x 5 in at 100 dpi
    result = cli("sample", "--onnx", made["pts_onnx"], "--n", "200", "--npy", "q.npy", "--provider", "cpu")
    assert result.code == 0, result.err
    np.testing.assert_allclose(np.load(tmp_path / "q.npy"), torch_points, rtol=0, atol=1e-4)


class FakeCudaSession:
    """An onnxruntime session that reports CUDA first while computing on the CPU."""

    def __init__(self, real):
        self.real = real

    def get_providers(self):
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.fixture
def cuda_cannot_start(monkeypatch):
    """onnxruntime lists CUDA, but creating it fails (onnxruntime-gpu on a machine without a GPU)."""
    import onnxruntime as ort

    real = infer._session
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(infer, "_session", lambda model, providers: real(model, ["CPUExecutionProvider"]))


def test_auto_falls_back_to_cpu_with_one_line(cli, made, cuda_cannot_start):
    result = cli("sample", "--onnx", made["img_onnx"], "--n", "4", "--npy", "x.npy")
    assert result.code == 0
    assert result.err.count("\n") == 1 and result.err.startswith(
        "Note: onnxruntime lists CUDAExecutionProvider but could not start it"
    ), result.err
    assert "running on the CPU" in result.err and "onnxruntime (CPUExecutionProvider)" in result.out


def test_auto_says_why_when_no_cuda_build(cli, made, monkeypatch):
    import onnxruntime as ort

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    result = cli("sample", "--onnx", made["img_onnx"], "--n", "4", "--npy", "x.npy")
    assert result.code == 0
    assert result.err.count("\n") == 1 and "has no CUDAExecutionProvider (install onnxruntime-gpu)" in result.err


def test_auto_takes_cuda_when_it_starts(cli, made, monkeypatch):
    import onnxruntime as ort

    real = infer._session
    asked = []
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])

    def session(model, providers):
        asked.append(providers)
        return FakeCudaSession(real(model, ["CPUExecutionProvider"]))

    monkeypatch.setattr(infer, "_session", session)
    result = cli("sample", "--onnx", made["img_onnx"], "--n", "4", "--npy", "x.npy")
    assert result.code == 0 and result.err == ""
    assert asked == [["CUDAExecutionProvider", "CPUExecutionProvider"]]
    assert "onnxruntime (CUDAExecutionProvider)" in result.out


def test_explicit_provider_that_cannot_start_is_an_error(cli, made, cuda_cannot_start):
    one_line_error(
        cli("sample", "--onnx", made["img_onnx"], "--provider", "cuda"),
        "--provider cuda: onnxruntime lists CUDAExecutionProvider but could not start it",
        "pass --provider cpu or auto",
    )
    one_line_error(
        cli("sample", "--onnx", made["img_onnx"], "--provider", "tensorrt"),
        "--provider tensorrt: this onnxruntime",
        "has no TensorrtExecutionProvider",
    )


@pytest.fixture
def foreign(made, tmp_path):
    """The image export with its metadata stripped, as if another tool had written it."""
    model = onnx.load(str(made["img_onnx"]))
    del model.metadata_props[:]
    path = tmp_path / "foreign.onnx"
    onnx.save(model, str(path))
    return path


def test_file_without_metadata_needs_latent_dim(cli, made, foreign, tmp_path):
    one_line_error(
        cli("sample", "--onnx", foreign, "--provider", "cpu"), "has no ganlab metadata", "pass --latent-dim N"
    )
    one_line_error(
        cli("sample", "--onnx", foreign, "--latent-dim", "5", "--provider", "cpu"),
        "--latent-dim 5 does not fit",
        "pass --latent-dim 8",
    )
    result = cli("sample", "--onnx", foreign, "--latent-dim", "8", "--n", "6", "--npy", "f.npy", "--provider", "cpu")
    assert result.code == 0, result.err
    np.testing.assert_allclose(np.load(tmp_path / "f.npy"), restore(made["img"]).sample(6).numpy(), atol=1e-4)


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["{img}", "--n", "0"], ["--n must be an integer >= 1, got 0"]),
        (["--onnx", "{img_onnx}", "--n", "-2"], ["--n must be an integer >= 1, got -2"]),
        ([], ["pass either a RUN folder (torch) or --onnx FILE", "neither"]),
        (["{img}", "--onnx", "{img_onnx}"], ["not both"]),
        (["--onnx", "{tmp}/missing.onnx"], ["does not exist", "ganlab export"]),
        (["--onnx", "{tmp}/text.onnx"], ["is not an ONNX model onnxruntime can load"]),
        (["{tmp}"], ["is not a ganlab run"]),
        (["{img}", "--provider", "gpu"], ["--provider 'gpu' is unknown; choose one of auto, cuda, tensorrt, cpu"]),
        (["{img}", "--provider", "tensorrt"], ["--provider tensorrt runs .onnx files only"]),
        (["{img}", "--latent-dim", "8"], ["--latent-dim is for .onnx files"]),
        (["{pts}", "--out-dir", "{tmp}/d"], ["--out-dir writes one PNG per image", "2D points"]),
        (["{img}", "--out-dir", "{tmp}/full"], ["is not an empty folder"]),
    ],
)
def test_bad_input_is_one_line(cli, made, tmp_path, args, fragments):
    (tmp_path / "text.onnx").write_text("not a model")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.png").write_bytes(b"")
    result = cli("sample", *[a.format(tmp=tmp_path, **made) for a in args])
    one_line_error(result, *fragments)
    assert not (tmp_path / "samples.png").exists()


def run_example(*args: str) -> CliResult:
    """Runs the example with torch and ganlab made unimportable: it must need neither."""
    code = (
        "import runpy, sys; sys.modules['torch'] = None; sys.modules['ganlab'] = None; "
        f"sys.argv = {[str(EXAMPLE), *map(str, args)]!r}; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    return run_python(code)


def test_standalone_example_draws_the_generators_images(made, tmp_path):
    out = tmp_path / "grid.png"
    proc = run_example(made["img_onnx"], "--n", "10", "--seed", "4", "--out", out)
    assert proc.code == 0, proc.err
    assert f"wrote {out}: 10 images of shape (1, 8, 8)" in proc.out
    grid = np.asarray(Image.open(out))
    assert grid.shape == (22, 82)  # grey, 8 per row, 2 px white padding
    z = np.random.default_rng(4).standard_normal((10, 8), dtype=np.float32)  # the example's z
    with torch.no_grad():
        images = restore(made["img"]).G(torch.from_numpy(z)).numpy()
    for i, img in enumerate(images):
        top, left = 2 + (i // 8) * 10, 2 + (i % 8) * 10
        expected = np.floor((img[0].astype(np.float64) + 1) / 2 * 255 + 0.5)
        assert np.abs(grid[top : top + 8, left : left + 8] - expected).max() <= 1
    assert (grid[0] == 255).all() and (grid[:, 0] == 255).all()


def test_standalone_example_refuses_points(made, tmp_path):
    proc = run_example(made["pts_onnx"], "--out", tmp_path / "p.png")
    assert proc.code == 1 and "generates points, not images" in proc.err
    assert not (tmp_path / "p.png").exists()
