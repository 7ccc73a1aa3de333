"""The Python API: README's example runs as printed, and `import ganlab` stays light."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from tests.helpers import run_python

README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_example() -> tuple[str, str]:
    """The code block after the python-api-example marker, and the output block after it."""
    text = README.read_text(encoding="utf-8").split("<!-- python-api-example", 1)[1]
    code, rest = re.search(r"```python\n(.*?)```(.*)", text, re.S).groups()
    output = re.search(r"```\n(.*?)```", rest, re.S).group(1)
    return code, output


def test_import_ganlab_loads_neither_torch_nor_onnxruntime():
    code = "import sys, ganlab; assert not {'torch', 'onnxruntime'} & set(sys.modules), sorted(sys.modules)"
    done = run_python(code)
    assert done.code == 0, done.err


def test_the_api_functions_stay_functions_after_every_subpackage_is_imported():
    import importlib

    import ganlab

    for module in ("ganlab.comparison.rows", "ganlab.metrics.evaluate", "ganlab.run.runner", "ganlab.deploy.sample"):
        importlib.import_module(module)
    for name in ("train", "load_generator", "evaluate", "compare"):
        assert callable(getattr(ganlab, name)) and getattr(ganlab, name).__module__ == "ganlab", name


@pytest.mark.slow
def test_the_readme_example_runs_and_prints_what_the_readme_shows(tmp_path, monkeypatch):
    code, expected = _readme_example()
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    lines, shown = out.getvalue().splitlines(), expected.splitlines()
    assert lines[:2] == shown[:2]  # the run folder; the samples' shape and dtype
    scores = eval(lines[2])  # noqa: S307 - our own printed dict
    assert set(scores) == {"modes_covered", "high_quality_pct", "mode_kl"}
    assert 0 <= scores["modes_covered"] <= 8 and 0 <= scores["high_quality_pct"] <= 100
    assert lines[3].split()[:2] == ["api-ring", "1000.0"]
    assert float(lines[3].split()[2]) == scores["modes_covered"]  # compare reads what evaluate wrote
    assert (tmp_path / "runs" / "api-ring" / "summary.json").is_file()


@pytest.mark.slow
def test_train_takes_a_runconfig_a_dict_or_a_toml_file_with_overrides(tmp_path):
    import ganlab
    from ganlab.config import RunConfig
    from ganlab.run.rundir import RunDir

    base = dict(arch="mlp", data="ring", arch_options={"hidden": 8}, batch_size=8, latent_dim=2, steps=2)
    toml = tmp_path / "c.toml"
    toml.write_text('arch = "mlp"\ndata = "ring"\nbatch_size = 8\nlatent_dim = 2\nsteps = 2\n')
    for name, config in (("a", RunConfig(**base)), ("b", base), ("c", toml)):
        path = ganlab.train(config, runs_dir=str(tmp_path / "runs"), name=name, steps=3)
        assert path == tmp_path / "runs" / name
        saved = RunDir(path).config()
        assert (saved.arch, saved.data, saved.steps, saved.name) == ("mlp", "ring", 3, name)


@pytest.mark.slow
def test_load_generator_gives_the_same_points_from_a_run_and_its_onnx_export(tmp_path):
    import numpy as np

    import ganlab
    from ganlab.deploy.export import export_onnx

    run = ganlab.train(
        arch="mlp",
        data="ring",
        arch_options={"hidden": 8},
        batch_size=8,
        latent_dim=2,
        steps=2,
        runs_dir=str(tmp_path),
        name="r",
    )
    onnx = export_onnx(run).path
    a = ganlab.load_generator(run).sample(300, seed=3)
    b = ganlab.load_generator(onnx).sample(300, seed=3)
    assert a.shape == (300, 2) and isinstance(a, np.ndarray)
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert not np.allclose(a, ganlab.load_generator(run).sample(300, seed=4))
