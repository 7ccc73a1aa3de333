"""`ganlab export`: each built-in arch exports, onnxruntime matches torch, metadata is right, and
bad input fails in one line."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import numpy_helper

from ganlab import __version__
from ganlab.run import runner
from ganlab.run.restore import restore
from tests.conftest import tiny_config
from tests.helpers import one_line_error

CASES = {  # name -> config overrides; dcgan at two sizes, mlp on images and on 2D points
    "dcgan8": {},
    "dcgan16": {"image_size": 16},
    "mlp_image": {"arch": "mlp", "arch_options": {"hidden": 16, "depth": 2}},
    "mlp_points": {"arch": "mlp", "data": "ring", "image_size": None, "arch_options": {"hidden": 16}, "latent_dim": 4},
    # --pack 2: D judges pairs, G (all that export writes) is the unpacked one
    "mlp_points_pack2": {
        "arch": "mlp",
        "data": "ring",
        "image_size": None,
        "arch_options": {"hidden": 16},
        "latent_dim": 4,
        "pack": 2,
    },
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {
        name: runner.start(tiny_config(runs_dir=str(root), name=name, **over))[0].path for name, over in CASES.items()
    }


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_export_matches_torch_and_carries_metadata(cli, runs, tmp_path, name):
    out = tmp_path / f"{name}.onnx"
    result = cli("export", runs[name], "--out", out)
    assert result.code == 0, result.err
    printed = re.search(
        r"max \|onnxruntime - torch\| = (\S+) \(batch 1\), (\S+) \(batch 16\); limit 0.0001", result.out
    )
    assert printed, result.out
    assert all(0 <= float(v) <= 1e-4 for v in printed.groups())

    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    restored = restore(runs[name])
    sess = session(out)
    (inp,), (outp,) = sess.get_inputs(), sess.get_outputs()
    kind = "points" if name.startswith("mlp_points") else "image"
    assert (inp.name, outp.name) == ("z", "image" if kind == "image" else "samples")
    assert isinstance(inp.shape[0], str) and inp.shape[1] == restored.latent_dim  # dynamic batch
    assert list(outp.shape[1:]) == list(restored.data_shape)

    # Batch 5 was not among the verified batches (1, 16): the batch axis really is dynamic.
    z = torch.randn(5, restored.latent_dim, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = restored.G(z).numpy()
    got = sess.run(None, {"z": z.numpy()})[0]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)

    meta = sess.get_modelmeta().custom_metadata_map
    c = restored.config
    assert meta["ganlab_version"] == __version__ and meta["kind"] == kind
    assert int(meta["latent_dim"]) == c.latent_dim and json.loads(meta["shape"]) == list(restored.data_shape)
    assert (meta["dataset"], meta["loss"], meta["arch"]) == (c.data, c.loss, c.arch)
    assert meta["run_name"] == name and int(meta["step"]) == restored.step == c.steps
    assert meta["output_range"] == ("[-1, 1]" if kind == "image" else "unbounded")
    assert json.loads(meta["data_meta"]) == restored.data_meta
    if kind == "image":
        assert float(got.min()) >= -1 and float(got.max()) <= 1


@pytest.mark.slow
def test_uint8_output_gives_the_pixels_of_torchvision_save_image(cli, runs, tmp_path):
    from PIL import Image
    from torchvision.utils import save_image

    result = cli("export", runs["dcgan8"], "--output", "uint8")
    assert result.code == 0, result.err
    path = runs["dcgan8"] / "generator-uint8.onnx"  # the default name for this output
    sess = session(path)
    assert sess.get_outputs()[0].type == "tensor(uint8)"
    assert sess.get_modelmeta().custom_metadata_map["output_range"] == "[0, 255]"
    restored = restore(runs["dcgan8"])
    z = torch.randn(6, restored.latent_dim, generator=torch.Generator().manual_seed(3))
    got = sess.run(None, {"z": z.numpy()})[0]  # (6, 1, 8, 8) uint8
    with torch.no_grad():
        images = restored.G(z)
    for i, img in enumerate(images):  # reference: what torchvision writes to a PNG
        save_image((img + 1) / 2, tmp_path / f"{i}.png")
        png = np.asarray(Image.open(tmp_path / f"{i}.png"))[:, :, 0]
        diff = np.abs(png.astype(int) - got[i, 0].astype(int))
        assert diff.max() <= 1 and (diff == 0).mean() >= 0.95


def test_uint8_conversions_agree():
    from ganlab.deploy.export import to_uint8 as torch_version
    from ganlab.deploy.sample import to_uint8 as numpy_version

    x = torch.linspace(-1.2, 1.2, 2001)
    expected = np.clip(np.floor((np.clip(x.numpy().astype(np.float64), -1, 1) + 1) / 2 * 255 + 0.5), 0, 255)
    assert np.abs(torch_version(x).numpy().astype(int) - expected).max() <= 1
    np.testing.assert_array_equal(torch_version(x).numpy(), numpy_version(x.numpy()))
    assert torch_version(torch.tensor([-1.0, 0.0, 1.0])).tolist() == [0, 128, 255]


@pytest.fixture(scope="module")
def unverified(runs, tmp_path_factory):
    """dcgan8 exported at opset 18 without checks, through the library the CLI calls."""
    from ganlab.deploy.export import export_onnx

    out = tmp_path_factory.mktemp("unverified") / "g18.onnx"
    result = export_onnx(runs["dcgan8"], out, opset=18, verify_model=False)
    assert result.max_abs_diff is None and result.path == out
    return out


@pytest.mark.slow
def test_opset_is_honoured(runs, unverified):
    model = onnx.load(str(unverified))
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [18]
    restored = restore(runs["dcgan8"])
    z = torch.randn(3, restored.latent_dim)
    with torch.no_grad():
        expected = restored.G(z).numpy()
    np.testing.assert_allclose(session(unverified).run(None, {"z": z.numpy()})[0], expected, rtol=0, atol=1e-4)


@pytest.mark.slow
def test_no_verify_says_so(cli, runs, unverified, tmp_path, monkeypatch):
    import ganlab.deploy.export as export

    monkeypatch.setattr(export, "to_onnx", lambda *a, **k: onnx.load(str(unverified)))  # skip re-exporting
    result = cli("export", runs["dcgan8"], "--out", tmp_path / "g.onnx", "--no-verify")
    assert result.code == 0, result.err
    assert "verified  no (--no-verify)" in result.out and "parity" not in result.out
    assert (tmp_path / "g.onnx").read_bytes() != b""


@pytest.mark.slow
def test_an_existing_onnx_file_is_replaced_only_with_force(cli, runs, unverified, tmp_path, monkeypatch):
    import ganlab.deploy.export as export

    monkeypatch.setattr(export, "to_onnx", lambda *a, **k: onnx.load(str(unverified)))
    out = tmp_path / "g.onnx"
    out.write_bytes(b"an earlier export")
    one_line_error(
        cli("export", runs["dcgan8"], "--out", out, "--no-verify"),
        f"--out {str(out)!r} already exists; pass --force to replace it, or choose another name",
    )
    assert out.read_bytes() == b"an earlier export"
    result = cli("export", runs["dcgan8"], "--out", out, "--no-verify", "--force")
    assert result.code == 0 and out.read_bytes() == onnx.load(str(unverified)).SerializeToString(), result.err


@pytest.mark.slow
def test_parity_failure_stops_the_export(cli, runs, unverified, tmp_path, monkeypatch):
    """An ONNX graph whose weights drifted from the checkpoint's must be refused, and not written."""
    import ganlab.deploy.export as export

    drifted = onnx.load(str(unverified))
    init = drifted.graph.initializer[0]
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) + np.float32(0.05), init.name))
    monkeypatch.setattr(export, "to_onnx", lambda *a, **k: drifted)
    out = tmp_path / "bad.onnx"
    one_line_error(
        cli("export", runs["dcgan8"], "--out", out),
        "onnxruntime output differs from torch by",
        "limit 0.0001",
        "nothing was written",
    )
    assert not out.exists()

    monkeypatch.setattr(export, "to_onnx", lambda *a, **k: onnx.load(str(unverified)))  # the faithful graph
    result = cli("export", runs["dcgan8"], "--out", out)
    assert result.code == 0 and out.exists(), result.err


@pytest.fixture
def no_checkpoint_run(runs, tmp_path):
    run = tmp_path / "fresh"
    run.mkdir()
    shutil.copy(runs["dcgan8"] / "config.toml", run / "config.toml")
    return run


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, fragments",
    [
        (["{tmp}"], ["is not a ganlab run (no config.toml)"]),
        (["{tmp}/missing"], ["does not exist"]),
        (["{fresh}"], ["has no checkpoint 'last'", "train it first"]),
        (["{dcgan8}", "--checkpoint", "best"], ["has no checkpoint 'best'", "--checkpoint last"]),
        (["{mlp_points}", "--output", "uint8"], ["--output uint8 makes 8-bit images", "points"]),
        (["{dcgan8}", "--output", "half"], ["--output 'half' is not one of float, uint8"]),
        (["{dcgan8}", "--opset", "13"], ["--opset 13 is older than the exporter writes; pass --opset 18 or newer"]),
        (["{dcgan8}", "--opset", "99"], ["--opset 99 is newer than the exporter writes; pass --opset 28 or older"]),
        (["{dcgan8}", "--out", "{tmp}/g.txt"], ["must end in .onnx"]),
        (["{dcgan8}", "--out", "{tmp}/nope/g.onnx"], ["for --out does not exist"]),
    ],
)
def test_bad_input_is_one_line(cli, runs, tmp_path, no_checkpoint_run, args, fragments):
    paths = {"tmp": tmp_path, "fresh": no_checkpoint_run, **runs}
    result = cli("export", *[a.format(**paths) for a in args])
    one_line_error(result, *fragments)
    assert not list(tmp_path.rglob("*.onnx"))


@pytest.mark.slow
def test_unexportable_generator_is_one_clear_error(capfd):
    """A third-party G with data-dependent control flow: the root cause, named, and no log spam."""
    from ganlab.deploy.export import to_onnx
    from ganlab.errors import ExportError

    class Branchy(torch.nn.Module):
        def forward(self, z):
            return z * 2 if z.sum() > 0 else z  # depends on the values of z: not traceable

    with pytest.raises(
        ExportError,
        match=r"failed for arch 'branchy' \(GuardOnDataDependentSymNode: .*"
        r"no data-dependent control flow",
    ):
        to_onnx(Branchy(), 4, "image", None, "arch 'branchy'")
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""
