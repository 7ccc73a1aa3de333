"""docs/plugins.md runs: the example package on that page is written out file by file, installed
as pip would (a dist-info folder on sys.path), its own tests pass, it trains and evaluates, and
the error the page shows for a forgotten `needs_real_logits_in_g` is the one ganlab prints."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

from tests.helpers import plugins_on_path, write_dist

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DOC = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


def example_files() -> dict[str, str]:
    """Each "`path`: ..." paragraph of the example section and the fenced block after it."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## A complete plugin package", 1)[1].split("\n## ", 1)[0]
    pattern = re.compile(r"^`([\w./-]+\.(?:py|toml))`:.*?\n```\w*\n(.*?)```", re.S | re.M)
    return {path: body for path, body in pattern.findall(section)}


@pytest.fixture
def package(tmp_path):
    """The page's package under tmp_path/ganlab-rsgan, importable and registered."""
    root = tmp_path / "ganlab-rsgan"
    for path, body in example_files().items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(body)
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    site = tmp_path / "site"
    write_dist(site, project["name"], project["version"], project["entry-points"])
    with plugins_on_path(site, root / "src", root / "tests"):
        yield root


def test_the_page_holds_the_whole_src_layout_package():
    assert set(example_files()) == {
        "pyproject.toml",
        "src/ganlab_rsgan/__init__.py",
        "src/ganlab_rsgan/rsgan.py",
        "src/ganlab_rsgan/spiral.py",
        "tests/test_ganlab_rsgan.py",
    }


def test_the_example_packages_own_tests_pass(package):
    tests = importlib.import_module("test_ganlab_rsgan")
    ran = [name for name in dir(tests) if name.startswith("test_")]
    for name in ran:
        getattr(tests, name)()
    assert len(ran) == 4


@pytest.mark.slow
def test_the_example_trains_and_gets_a_points_metric(package, cli, tmp_path):
    checked = cli("plugins", "--check", "--format", "json")
    assert checked.code in (0, 1)  # other packages in this environment are not ours to judge
    assert '"name": "rsgan"' in checked.out and "'rsgan'" not in checked.err and "'spiral'" not in checked.err
    flags = ["--arch-opt", "hidden=16", "--batch-size", "16", "--latent-dim", "4", "--steps", "3"]
    trained = cli("train", "--loss", "rsgan", "--arch", "mlp", "--data", "spiral", *flags, "--name", "sp")
    assert trained.code == 0, trained.err
    evaluated = cli("eval", str(tmp_path / "runs" / "sp"), "--n", "200")
    assert evaluated.code == 0, evaluated.err
    assert "energy_distance" in evaluated.out


def test_the_error_the_page_shows_is_the_one_ganlab_prints(package, cli):
    rsgan = package / "src" / "ganlab_rsgan" / "rsgan.py"
    rsgan.write_text(rsgan.read_text().replace("    needs_real_logits_in_g = True", "    pass  #"))
    shown = next(
        line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("Error: loss 'rsgan'")
    )
    flags = ["--arch", "mlp", "--data", "spiral", "--arch-opt", "hidden=16", "--batch-size", "16"]
    result = cli("train", "--loss", "rsgan", *flags, "--latent-dim", "4", "--steps", "1")
    assert result.code == 1
    assert result.err.rstrip().splitlines()[-1] == shown
