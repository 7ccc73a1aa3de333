"""ganlab-resnet's tests run against the installed package: third-party plugins stay visible (this
package is one), while ganlab's caches and downloads go to a temporary folder and no FID weights
or plugin switch come from the user's shell. Self-contained, so the package's tests also run
on their own (`pytest` in plugins/ganlab-resnet)."""

from __future__ import annotations

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes over about 2 s")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path_factory):
    base = tmp_path_factory.getbasetemp() / "ganlab-resnet-environment"
    for name, folder in (
        ("GANLAB_CACHE", "ganlab-cache"),
        ("GANLAB_DATA", "ganlab-data"),
        ("TORCH_HOME", "torch-home"),
    ):
        monkeypatch.setenv(name, str(base / folder))
    for name in ("GANLAB_FID_WEIGHTS", "GANLAB_DEBUG", "GANLAB_DISABLE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
