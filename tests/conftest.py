"""Shared fixtures: an environment isolated from the user's, an in-process CLI runner and tiny,
fast run configs."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import torch

from tests.helpers import CliResult, environ, invoke, isolated_environ

torch.set_num_threads(2)


# --- isolation ----------------------------------------------------------------------------------------
# Every test runs with ganlab's caches, downloads and torch hub in temporary folders, no FID weights
# and no debug switch from the user's shell, and installed third-party plugin packages (ganlab-wgan,
# ganlab-resnet, ...) out of sight: what a test sees does not depend on what is installed. A test
# that needs them opts in with `@pytest.mark.third_party_plugins` (or `pytestmark` for a module);
# fake plugin packages become visible through tests.helpers.plugins_on_path.
@pytest.hookimpl(wrapper=True)
def pytest_collection(session):
    """Collection too: a module-level list such as `plugins.available("arch")` for parametrize
    sees what the tests see."""
    with tempfile.TemporaryDirectory() as base, environ(isolated_environ(Path(base))):
        return (yield)


@pytest.fixture(scope="session")
def isolated_home(tmp_path_factory):
    """The folders the isolated environment points into, shared by the session (so a cache filled
    once, say the digits classifier, serves every module)."""
    return tmp_path_factory.mktemp("isolated")


def _opted_in(node) -> bool:
    return node.get_closest_marker("third_party_plugins") is not None


@pytest.fixture(scope="module", autouse=True)
def _isolated_module(request, isolated_home):
    """For the module's own fixtures (runs trained once per module, say)."""
    with environ(isolated_environ(isolated_home, third_party_plugins=_opted_in(request.node))):
        yield


@pytest.fixture(autouse=True)
def _isolated_test(request, isolated_home, _isolated_module):
    """Again per test, so a test's marker counts and nothing one test sets reaches the next."""
    with environ(isolated_environ(isolated_home, third_party_plugins=_opted_in(request.node))):
        yield


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """Runs `ganlab ARGS...` in-process (same entry point as the console script) in tmp_path."""
    monkeypatch.chdir(tmp_path)

    def run(*args: object) -> CliResult:
        return invoke(*args)

    return run


TINY_IMAGE = ["--image-size", "8", "--arch-opt", "width=8", "--batch-size", "8", "--latent-dim", "8"]
TINY_POINTS = ["--data", "ring", "--arch", "mlp", "--arch-opt", "hidden=16", "--batch-size", "16", "--latent-dim", "4"]


def tiny_config(**overrides):
    """A dcgan/digits config that trains a step in milliseconds."""
    from ganlab.config import RunConfig

    values = dict(
        image_size=8,
        arch_options={"width": 8},
        batch_size=8,
        latent_dim=8,
        steps=4,
        sample_every=2,
        checkpoint_every=2,
        n_samples=16,
    )
    values.update(overrides)
    return RunConfig(**values)
