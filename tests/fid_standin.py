"""Stand-in FID weights for offline tests: pytorch-fid's FID Inception architecture with random
weights and calibrated batch norm, saved under the file name pytorch-fid looks for in a temporary
TORCH_HOME. A test module loads the fixtures with `pytest_plugins = ["tests.fid_standin"]`, which
registers them once for the whole session (a fixture imported into several modules would be
built once per module).

Random weights alone collapse the pool3 features (every image gives nearly the same vector: FID of
about 1e-15 between any two sets), because each random layer shrinks the signal. Running the network
in training mode over noise images first sets every batch-norm layer's running mean and variance to
what it sees, so each layer passes on a unit-scale signal and different images give different
features.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
import torch

CALIBRATION_BATCHES = 2  # x 4 images at 299 px: seconds on two CPU cores
CALIBRATION_SIZE = 16  # noise drawn at 16 px and upsampled by the network, like small GAN images


@contextmanager
def one_thread():
    """One thread for torch and for BLAS (numpy's eigh). On a 2-core machine shared with other jobs,
    two threads that keep waiting for each other ran Inception 3-5x and a 2048 x 2048 eigh 10x
    slower than one thread."""
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def one_thread_module():
    """Opt in per module with `pytestmark = pytest.mark.usefixtures("one_thread_module")`."""
    with one_thread():
        yield


@dataclass
class StandIn:
    torch_home: Path  # set TORCH_HOME to this
    weights: Path  # $TORCH_HOME/hub/checkpoints/pt_inception-2015-12-05-6726825d.pth
    cache: Path  # a GANLAB_CACHE shared by the session (the digits classifier is trained once)


def build_standin(torch_home: Path, seed: int = 0) -> Path:
    from pytorch_fid import inception

    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        # torchvision's Inception3 with 1008 classes has exactly the parameter names and shapes of
        # pytorch-fid's FID Inception (its FID blocks only change forward), so it serves as the
        # state dict fid_inception_v3() "downloads": pytorch-fid's own builder, random weights.
        template = inception._inception_v3(num_classes=1008, aux_logits=False, weights=None).state_dict()
        with mock.patch.object(inception, "load_state_dict_from_url", lambda *a, **k: template):
            net = inception.fid_inception_v3()
    with mock.patch.object(inception, "fid_inception_v3", lambda: net):
        wrapper = inception.InceptionV3([3])  # shares net's modules: resize to 299, scale to [-1, 1]
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the calibration batches
    wrapper.train()
    with torch.no_grad():
        for _ in range(CALIBRATION_BATCHES):
            wrapper(torch.rand(4, 3, CALIBRATION_SIZE, CALIBRATION_SIZE, generator=gen))
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 0.1
    path = torch_home / "hub" / "checkpoints" / os.path.basename(inception.FID_WEIGHTS_URL)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)
    return path


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    """A GANLAB_CACHE for the whole session, so the digits classifier is trained once."""
    return tmp_path_factory.mktemp("ganlab_cache")


@pytest.fixture(scope="session")
def fid_standin(tmp_path_factory, session_cache) -> StandIn:
    """Built once per test session (about 6 s on one CPU core)."""
    home = tmp_path_factory.mktemp("torch_home")
    with one_thread():
        weights = build_standin(home)
    return StandIn(home, weights, session_cache)


@pytest.fixture
def fid_env(fid_standin, monkeypatch) -> StandIn:
    """TORCH_HOME points at the stand-in weights; GANLAB_CACHE at the session's cache; no
    GANLAB_FID_WEIGHTS from the environment."""
    monkeypatch.setenv("TORCH_HOME", str(fid_standin.torch_home))
    monkeypatch.setenv("GANLAB_CACHE", str(fid_standin.cache))
    monkeypatch.delenv("GANLAB_FID_WEIGHTS", raising=False)
    return fid_standin
