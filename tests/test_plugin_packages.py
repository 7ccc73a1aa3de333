"""The real plugin packages under plugins/: pip-installed into a temporary folder (never into the
shared environment), then driven through the CLI in subprocesses with that folder on PYTHONPATH.
"Uninstalled" is the same environment with the packages' entry points out of sight."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganlab import plugins
from tests.helpers import CliResult, hide_dists, plugins_on_path, process_env, run_ganlab

# the packages under test are third-party plugins: every test here sees them; pip install and
# subprocess training make the module slow
pytestmark = [pytest.mark.third_party_plugins, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"ganlab-wgan": ("ganlab_wgan", ["wgan-gp", "hinge"]), "ganlab-resnet": ("ganlab_resnet", ["resnet"])}
TINY = [
    "--arch-opt",
    "width=8",
    "--batch-size",
    "4",
    "--latent-dim",
    "8",
    "--steps",
    "2",
    "--sample-every",
    "2",
    "--checkpoint-every",
    "2",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """`pip install --target` of both packages, from copies so no build files land in plugins/."""
    base = tmp_path_factory.mktemp("plugin-packages")
    sources = []
    for package in PACKAGES:
        copy = base / "src" / package
        shutil.copytree(
            ROOT / "plugins" / package,
            copy,
            ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".pytest_cache"),
        )
        sources.append(str(copy))
    target = base / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(target),
            *sources,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def ganlab(cwd: Path, *args: str, site: Path | None = None) -> CliResult:
    """`python -m ganlab ARGS` in a fresh interpreter, with the packages' install `site` importable."""
    env = process_env(*([site] if site is not None else []), COLUMNS="300")  # one table row per line
    return run_ganlab(*args, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def trained(site, tmp_path_factory) -> Path:
    cwd = tmp_path_factory.mktemp("work")
    done = ganlab(
        cwd, "train", "--loss", "wgan-gp", "--arch", "resnet", "--data", "digits", *TINY, "--name", "wr", site=site
    )
    assert done.code == 0, done.err
    return cwd / "runs" / "wr"


@pytest.fixture
def installed_here(site):
    """The same install, visible to this process (for in-process CLI calls and restores)."""
    with plugins_on_path(site):
        yield


def test_plugins_lists_the_new_names_with_distribution_and_version(site, tmp_path):
    done = ganlab(tmp_path, "plugins", site=site)
    assert done.code == 0, done.err
    rows = {line.split("│")[2].strip(): line for line in done.out.splitlines() if line.count("│") == 6}
    for dist, (module, names) in PACKAGES.items():
        for name in names:
            assert f"│ {dist}==0.1.0 " in rows[name] and f"│ {module}." in rows[name]
            assert rows[name].rstrip(" │").endswith("ok")
    assert rows["minimax"].rstrip(" │").endswith("ok")  # the built-ins are still there


def test_train_with_installed_plugins_records_where_they_came_from(trained):
    summary = json.loads((trained / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["step"] == 2
    assert summary["plugins"]["loss"] == {
        "name": "wgan-gp",
        "target": "ganlab_wgan.wgan_gp:WGANGP",
        "dist": "ganlab-wgan",
        "version": "0.1.0",
    }
    assert summary["plugins"]["arch"]["dist"] == "ganlab-resnet" and summary["data"]["shape"] == [1, 16, 16]
    rows = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["penalty"] >= 0 for r in rows)  # the penalty hook ran every step
    assert (trained / "checkpoints" / "last.pt").is_file()


def test_export_of_a_wgan_gp_resnet_run_matches_torch(trained, site, installed_here, tmp_path):
    import onnx
    import onnxruntime

    from ganlab.run.restore import restore

    done = ganlab(tmp_path, "export", str(trained), site=site)
    assert done.code == 0, done.err
    path = trained / "generator.onnx"
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert (props["loss"], props["arch"]) == ("wgan-gp", "resnet")
    G = restore(trained).G  # rebuilt through the installed ganlab-resnet
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(1))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = torch.from_numpy(session.run(None, {"z": z.numpy()})[0])
    with torch.no_grad():
        torch.testing.assert_close(got, G(z), rtol=0, atol=1e-4)
    assert got.shape == (3, 1, 16, 16) and got.abs().max() <= 1


def test_after_uninstall_the_names_are_gone_and_the_run_says_what_to_install(cli, trained, monkeypatch):
    hide_dists(monkeypatch, "ganlab-wgan", "ganlab-resnet")
    listing = cli("plugins")
    assert listing.code == 0
    assert not any(f"│ {name} " in listing.out for _, names in PACKAGES.values() for name in names)
    resumed = cli("train", "--resume", str(trained), "--steps", "3")
    assert resumed.code == 1 and "Traceback" not in resumed.err
    assert (
        "Error: unknown loss 'wgan-gp'; it came from the package ganlab-wgan==0.1.0, which ships with ganlab's "
        "source (not on PyPI): from a ganlab checkout, pip install plugins/ganlab-wgan; " in resumed.err
    )
    fresh = cli("train", "--loss", "hinge", "--steps", "1")
    assert fresh.code == 1 and "unknown loss 'hinge'" in fresh.err


def test_a_missing_arch_package_is_named_by_resume_and_export(cli, trained, installed_here, monkeypatch):
    hide_dists(monkeypatch, "ganlab-resnet")  # ganlab-wgan stays installed
    for args in (["train", "--resume", str(trained), "--steps", "3"], ["export", str(trained)]):
        result = cli(*args)
        assert result.code == 1, result.out
        assert (
            "unknown arch 'resnet'; it came from the package ganlab-resnet==0.1.0, which ships with ganlab's "
            "source (not on PyPI): from a ganlab checkout, pip install plugins/ganlab-resnet; " in result.err
        )


def test_disable_plugins_hides_installed_packages(cli, installed_here, monkeypatch):
    assert plugins.find("loss", "wgan-gp").dist == "ganlab-wgan"  # installed and visible...
    monkeypatch.setenv("GANLAB_DISABLE_PLUGINS", "1")
    listing = cli("plugins")
    assert listing.code == 0 and "ganlab-wgan" not in listing.out and "ganlab-resnet" not in listing.out
    result = cli("train", "--loss", "wgan-gp", "--steps", "1")  # ...until switched off
    assert result.code == 1 and "unknown loss 'wgan-gp'" in result.err
