"""Shared fixtures: an in-process CLI runner and tiny, fast run configs."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest
import torch

torch.set_num_threads(2)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    """Runs `ganlab ARGS...` in-process (same entry point as the console script) in tmp_path."""
    from ganlab.cli import main

    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["ganlab", *map(str, args)])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

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
