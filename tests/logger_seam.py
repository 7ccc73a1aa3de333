"""The built-in loggers through the registry's test seam: ganlab's own `ganlab.loggers` entry points,
read from pyproject.toml, added to the installed ones when an older install lacks them (before
`pip install -e .` is run again). Once installed, the fixture changes nothing."""

from __future__ import annotations

import importlib.metadata as md
import sys
from pathlib import Path

import pytest

from ganlab.plugins import registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


class _Dist:
    metadata = {"Name": "ganlab"}
    version = "0.1.0"


def declared(group: str) -> dict[str, str]:
    return tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"].get(group, {})


@pytest.fixture
def builtin_loggers(monkeypatch):
    real = registry._entry_points

    def entry_points(group):
        found = real(group)
        if group != "ganlab.loggers":
            return found
        have = {ep.name for ep in found}
        extra = [md.EntryPoint(n, v, group) for n, v in declared(group).items() if n not in have]
        return found + [ep._for(_Dist()) if hasattr(ep, "_for") else ep for ep in extra]

    monkeypatch.setattr(registry, "_entry_points", entry_points)
