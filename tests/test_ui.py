"""Terminal output that fits: the training bar at 80 and 140 columns, plain lines off a terminal."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from ganlab.cli import ui
from ganlab.run.trainer import Trainer, train
from tests.conftest import tiny_config

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _train_with_bar(console: Console, steps: int = 6) -> None:
    bar = ui.TrainProgress(console=console)
    try:
        train(Trainer(tiny_config(steps=steps)), steps, [bar])
    finally:
        bar.close()


@pytest.mark.slow
@pytest.mark.parametrize("width", [80, 140])
def test_the_training_bar_fits_the_terminal_without_cutting(width):
    buf = io.StringIO()
    _train_with_bar(Console(file=buf, width=width, force_terminal=True, color_system=None))
    final = ANSI.sub("", buf.getvalue().split("\r")[-1]).strip().splitlines()[0]
    assert final.startswith("train") and "6/6" in final and "it/s" in final
    assert "…" not in final and len(final) <= width
    assert ("D(x)" in final) == (width >= ui.WIDE)  # narrow terminals get the compact numbers


@pytest.mark.slow
def test_off_a_terminal_a_run_prints_plain_lines_not_a_bar(monkeypatch):
    monkeypatch.setattr(ui, "PLAIN_EVERY_S", 0.0)  # a line at every step, for the test
    buf = io.StringIO()
    _train_with_bar(Console(file=buf, width=80, force_terminal=False))
    lines = buf.getvalue().splitlines()
    assert len(lines) == 6 and "━" not in buf.getvalue() and "\r" not in buf.getvalue()
    assert re.fullmatch(r"train step 6/6  [0-9.]+ it/s  eta 0 s  D -?[0-9.]+  G -?[0-9.]+  D\(x\) .*", lines[-1])


@pytest.mark.slow
def test_off_a_terminal_a_short_run_prints_nothing():
    buf = io.StringIO()
    _train_with_bar(Console(file=buf, width=80, force_terminal=False))
    assert buf.getvalue() == ""  # under PLAIN_EVERY_S: an error would be the only line


def test_loading_inception_shows_a_spinner_then_a_done_bar(tmp_path, monkeypatch):
    """fid.feature_net reports LOADING with total 0 before a load (a pulsing bar: no known length)
    and 1/1 after; a network already loaded reports nothing."""
    from ganlab.metrics import fid

    weights = tmp_path / "w.pth"
    weights.write_bytes(b"stand-in")
    monkeypatch.setattr(fid, "find_weights", lambda explicit=None: weights)
    monkeypatch.setattr(fid, "FeatureNet", lambda path, dims, device: object())
    monkeypatch.setattr(fid, "_models", {})
    calls = []
    fid.feature_net(dims=64, progress=lambda *a: calls.append(a))
    fid.feature_net(dims=64, progress=lambda *a: calls.append(a))
    assert calls == [(fid.LOADING, 0, 0), (fid.LOADING, 1, 1)]

    progress = ui.make_progress(console=Console(width=80, file=io.StringIO()))
    report = ui.ProgressReporter(progress)
    report(fid.LOADING, 0, 0)
    (task,) = progress.tasks
    assert task.total is None and task.description == "loading Inception"  # rich pulses a bar without a total
    report(fid.LOADING, 1, 1)
    assert task.total == 1 and task.finished
