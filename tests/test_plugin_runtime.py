"""Third-party plugins that break the runtime contract, installed as fake dist-info folders on
sys.path (flake8's way): training and ganlab.testing name the plugin in one line, and commands
that do not use a broken plugin keep working."""

from __future__ import annotations

import pytest

from ganlab.cli.console import console
from ganlab.errors import PluginError
from ganlab.testing import check_arch, check_loss
from tests.conftest import TINY_IMAGE
from tests.helpers import contract_breakers, plugins_on_path, write_plugin_package

FAKE_EPS = {
    "ganlab.losses": {
        "nan-loss": "ganlab_fake_runtime:NaNLoss",
        "vector-loss": "ganlab_fake_runtime:VectorLoss",
        "nan-g-loss": "ganlab_fake_runtime:NaNGeneratorLoss",
        "wrong-base": "ganlab_fake_runtime:NotALoss",
        "broken-import": "ganlab_fake_runtime_broken:Loss",
        "twin": "ganlab_fake_runtime:NaNLoss",
    },
    "ganlab.archs": {
        "half-size": "ganlab_fake_runtime:HalfSizeArch",
        "offset": "ganlab_fake_runtime:OffsetArch",
        "column-logits": "ganlab_fake_runtime:ColumnLogitsArch",
    },
}


@pytest.fixture
def fake_site(tmp_path, monkeypatch):
    """Installs ganlab-fake 0.0.1 (the broken plugins) and ganlab-fake-two 0.0.2 (which also
    claims `twin`) into a folder on sys.path for the duration of one test."""
    site = write_plugin_package(
        tmp_path / "site", "ganlab-fake", "0.0.1", FAKE_EPS, contract_breakers("ganlab_fake_runtime")
    )
    write_plugin_package(
        site, "ganlab-fake-two", "0.0.2", {"ganlab.losses": {"twin": "ganlab_fake_runtime:VectorLoss"}}
    )
    monkeypatch.setattr(console, "_width", 400)  # table rows on one line each, for the asserts
    with plugins_on_path(site):
        yield site


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


RUNTIME_FAILURES = [
    (
        ["--loss", "nan-loss"],
        "loss 'nan-loss' (ganlab_fake_runtime:NaNLoss from ganlab-fake==0.0.1): "
        "d_loss returned nan, expected a finite value",
    ),
    (
        ["--loss", "vector-loss"],
        "loss 'vector-loss' (ganlab_fake_runtime:VectorLoss from ganlab-fake==0.0.1): "
        "d_loss returned (8,), expected a 0-dim tensor",
    ),
    (
        ["--loss", "nan-g-loss"],
        "loss 'nan-g-loss' (ganlab_fake_runtime:NaNGeneratorLoss from "
        "ganlab-fake==0.0.1): g_loss returned nan, expected a finite value",
    ),
    (
        ["--arch", "half-size"],
        "arch 'half-size' (ganlab_fake_runtime:HalfSizeArch from ganlab-fake==0.0.1): "
        "generator returned (8, 1, 4, 4), expected shape (8, 1, 8, 8)",
    ),
    (
        ["--arch", "offset"],
        "arch 'offset' (ganlab_fake_runtime:OffsetArch from ganlab-fake==0.0.1): generator images span [",
    ),
    (
        ["--arch", "column-logits"],
        "arch 'column-logits' (ganlab_fake_runtime:ColumnLogitsArch from "
        "ganlab-fake==0.0.1): discriminator returned (8, 1), expected logits of shape (8,)",
    ),
    # load-time failures, through the same command
    (
        ["--loss", "broken-import"],
        "loss 'broken-import' (ganlab_fake_runtime_broken:Loss from ganlab-fake==0.0.1) failed to "
        "import: ModuleNotFoundError: No module named 'ganlab_fake_missing_dependency'",
    ),
    (
        ["--loss", "wrong-base"],
        "loss 'wrong-base' (ganlab_fake_runtime:NotALoss from ganlab-fake==0.0.1) is "
        "<class 'ganlab_fake_runtime.NotALoss'>, not a subclass of ganlab.losses.base.Loss",
    ),
    (
        ["--loss", "twin"],
        "loss 'twin' is registered by more than one package: ganlab-fake==0.0.1 "
        "(ganlab_fake_runtime:NaNLoss) and ganlab-fake-two==0.0.2 (ganlab_fake_runtime:VectorLoss)",
    ),
]


@pytest.mark.parametrize("flags, message", RUNTIME_FAILURES, ids=[f[1] for f, _ in RUNTIME_FAILURES])
def test_training_names_the_plugin_that_broke_the_contract(cli, fake_site, flags, message):
    result = cli("train", *flags, *TINY_IMAGE, "--steps", "2", "--name", "broken")
    assert result.code == 1
    assert message in error_line(result.err)


def test_out_of_range_generator_reports_its_range(cli, fake_site):
    line = error_line(cli("train", "--arch", "offset", *TINY_IMAGE, "--steps", "2").err)
    low, high = (float(v) for v in line.split("span [")[1].split("]")[0].split(", "))
    assert 1.0 < low < high <= 3.0  # tanh output + 2 lies in (1, 3)
    assert line.endswith("expected [-1, 1] (end G with tanh)")


@pytest.mark.parametrize(
    "name, message",
    [
        ("nan-loss", "loss 'nan-loss' (ganlab_fake_runtime:NaNLoss from ganlab-fake==0.0.1): d_loss returned nan"),
        ("vector-loss", "d_loss returned (16,), expected a 0-dim tensor"),
        ("nan-g-loss", "g_loss returned nan"),
        ("wrong-base", "not a subclass of ganlab.losses.base.Loss"),
        ("broken-import", "failed to import: ModuleNotFoundError: No module named 'ganlab_fake_missing_dependency'"),
        ("twin", "registered by more than one package: ganlab-fake==0.0.1"),
    ],
)
def test_check_loss_on_installed_entry_points_names_the_plugin(fake_site, name, message):
    with pytest.raises(PluginError) as info:
        check_loss(name)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "name, message",
    [
        (
            "half-size",
            "arch 'half-size' (ganlab_fake_runtime:HalfSizeArch from ganlab-fake==0.0.1): "
            "generator returned (4, 1, 4, 4), expected shape (4, 1, 8, 8)",
        ),
        ("offset", "expected [-1, 1] (end G with tanh)"),
        ("column-logits", "discriminator returned (4, 1), expected logits of shape (4,)"),
    ],
)
def test_check_arch_on_installed_entry_points_names_the_plugin(fake_site, name, message):
    with pytest.raises(PluginError, match=r"from ganlab-fake==0\.0\.1") as info:
        check_arch(name, {"width": 8}, shapes=[(1, 8, 8)], onnx=False)
    assert message in str(info.value)


@pytest.mark.slow
def test_unrelated_commands_keep_working(cli, fake_site):
    listing = cli("plugins")
    assert listing.code == 0, listing.err
    rows = {
        tuple(cell.strip() for cell in line.split("│")[1:3]): line
        for line in listing.out.splitlines()
        if line.count("│") == 6
    }
    for name in ("minimax", "nonsaturating", "lsgan"):
        assert rows[("loss", name)].rstrip(" │").endswith("ok")
    for name in ("dcgan", "mlp"):
        assert rows[("arch", name)].rstrip(" │").endswith("ok")
    assert "failed to import: ModuleNotFoundError" in rows[("loss", "broken-import")]
    assert "not a subclass of ganlab.losses.base.Loss" in rows[("loss", "wrong-base")]
    twins = [line for line in listing.out.splitlines() if "│ twin " in line]
    assert len(twins) == 2 and all("conflict: also registered by" in line for line in twins)
    assert rows[("loss", "nan-loss")].rstrip(" │").endswith("ok")  # imports fine; breaks only when run

    trained = cli("train", "--loss", "lsgan", *TINY_IMAGE, "--steps", "2", "--name", "fine")
    assert trained.code == 0, trained.err
    assert (fake_site.parent / "runs" / "fine" / "summary.json").is_file()


def test_debug_shows_the_full_traceback_of_a_plugin_failure(cli, fake_site):
    plain = cli("train", "--loss", "broken-import", *TINY_IMAGE, "--steps", "1")
    assert plain.code == 1
    assert "from ganlab-fake==0.0.1) failed to import" in error_line(plain.err)
    debug = cli("--debug", "train", "--loss", "broken-import", *TINY_IMAGE, "--steps", "1")
    assert debug.code == 1
    assert "Traceback (most recent call last)" in debug.err
    assert "ModuleNotFoundError: No module named 'ganlab_fake_missing_dependency'" in debug.err
    assert "The above exception was the direct cause" in debug.err  # the original error is chained
    assert debug.err.rstrip().splitlines()[-1].startswith("Error: ")


def test_disable_plugins_keeps_only_builtins(cli, fake_site, monkeypatch):
    monkeypatch.setenv("GANLAB_DISABLE_PLUGINS", "1")
    listing = cli("plugins")
    assert listing.code == 0
    assert "ganlab-fake" not in listing.out and "│ minimax " in listing.out
    result = cli("train", "--loss", "nan-loss", *TINY_IMAGE, "--steps", "1")
    assert result.code == 1
    assert "unknown loss 'nan-loss'" in error_line(result.err)
