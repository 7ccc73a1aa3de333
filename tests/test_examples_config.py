"""Every example config parses, resolves, and builds its plugins (no training)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganlab import plugins
from ganlab.config import load_toml, resolve

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").rglob("*.toml"))  # examples/toy/ too


def test_there_are_example_configs():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_config_builds(path):
    cfg = resolve(load_toml(path), {}, source=str(path))
    plugins.create("loss", cfg.loss, cfg.loss_options)
    arch, _ = plugins.create("arch", cfg.arch, cfg.arch_options)
    dataset, _ = plugins.create("dataset", cfg.data, cfg.data_options)
    data = dataset.load(cfg.image_size, cfg.data_root)
    assert arch.supports(data.shape) is None
