"""The entry-point registry with fake entry points: nothing is installed by these tests."""

from __future__ import annotations

import pytest

from ganlab import plugins
from ganlab.errors import ConfigError, PluginError
from tests.helpers import fake_entry_points


@pytest.fixture
def fake_eps(monkeypatch):
    """Adds fake entry points to ganlab's own for the duration of a test."""
    return fake_entry_points(monkeypatch)


def test_builtins_are_discovered_through_entry_points():
    names = plugins.available("loss")
    assert {"minimax", "nonsaturating", "lsgan"} <= set(names)
    spec = plugins.find("loss", "minimax")
    assert spec.dist == "ganlab" and spec.target == "ganlab.losses.minimax:Minimax"
    assert {"dcgan", "mlp"} <= set(plugins.available("arch"))
    assert {"digits", "ring", "grid", "mnist", "fashion-mnist", "cifar10", "folder"} <= set(
        plugins.available("dataset")
    )


def test_discovery_imports_nothing(fake_eps):
    fake_eps("loss", "broken", "tests.fakeplugins.broken:Anything")
    assert "broken" in plugins.available("loss")  # listed, not imported: no ImportError here


def test_third_party_loss_loads_by_name(fake_eps):
    fake_eps("loss", "good", "tests.fakeplugins.targets:GoodLoss")
    cls, spec = plugins.load("loss", "good")
    assert cls.__name__ == "GoodLoss" and spec.origin == "thirdparty-gan==1.2.3"


def test_broken_import_is_wrapped_with_kind_name_dist_target_and_cause(fake_eps):
    fake_eps("loss", "broken", "tests.fakeplugins.broken:Anything")
    with pytest.raises(PluginError) as err:
        plugins.load("loss", "broken")
    msg = str(err.value)
    for part in (
        "loss 'broken'",
        "thirdparty-gan==1.2.3",
        "tests.fakeplugins.broken:Anything",
        "ImportError",
        "missing_dependency",
    ):
        assert part in msg
    assert isinstance(err.value.__cause__, ImportError)


@pytest.mark.parametrize("target", ["tests.fakeplugins.targets:NotALoss", "tests.fakeplugins.targets:not_a_class"])
def test_wrong_type_is_refused_at_load_time(fake_eps, target):
    fake_eps("loss", "wrong", target)
    with pytest.raises(PluginError, match=r"not a subclass of ganlab\.losses\.base\.Loss"):
        plugins.load("loss", "wrong")


def test_same_name_from_two_distributions_names_both(fake_eps):
    fake_eps("loss", "minimax", "tests.fakeplugins.targets:GoodLoss")
    with pytest.raises(PluginError) as err:
        plugins.load("loss", "minimax")
    assert "ganlab==0.1.0" in str(err.value) and "thirdparty-gan==1.2.3" in str(err.value)


def test_unknown_name_lists_names_and_closest_match():
    with pytest.raises(PluginError) as err:
        plugins.load("loss", "minmax")
    msg = str(err.value)
    assert "unknown loss 'minmax'" in msg and "did you mean 'minimax'?" in msg
    assert "lsgan" in msg and "nonsaturating" in msg


def test_missing_plugin_of_a_recorded_run_names_the_package_version_and_where_to_get_it():
    with pytest.raises(PluginError) as bundled:
        plugins.find("loss", "wgan-gp-not-installed", recorded={"dist": "ganlab-wgan", "version": "0.1.0"})
    assert (
        "it came from the package ganlab-wgan==0.1.0, which ships with ganlab's source (not on PyPI): "
        "from a ganlab checkout, pip install plugins/ganlab-wgan; available: "
    ) in str(bundled.value)
    with pytest.raises(PluginError) as published:
        plugins.find("arch", "stylegan", recorded={"dist": "ganlab-style", "version": "2.1"})
    assert "it came from the package ganlab-style==2.1: pip install 'ganlab-style==2.1'; " in str(published.value)
    with pytest.raises(PluginError, match="did you mean 'minimax'"):  # no provenance: the closest name
        plugins.find("loss", "minmax", recorded={"dist": "unknown", "version": "unknown"})


def test_invalid_name_is_refused(fake_eps):
    fake_eps("loss", "Bad Name", "tests.fakeplugins.targets:GoodLoss")
    with pytest.raises(PluginError, match="invalid name"):
        plugins.load("loss", "Bad Name")


def test_unknown_option_lists_valid_options():
    with pytest.raises(ConfigError, match="valid options: a, b, c"):
        plugins.create("loss", "lsgan", {"d": 1})
    with pytest.raises(ConfigError, match="rejected its options"):
        plugins.create("arch", "dcgan", {"width": -3})


def test_list_all_carries_on_past_broken_plugins(fake_eps):
    fake_eps("loss", "broken", "tests.fakeplugins.broken:Anything")
    fake_eps("loss", "minimax", "tests.fakeplugins.targets:GoodLoss")
    fake_eps("loss", "good", "tests.fakeplugins.targets:GoodLoss")
    rows = {(r.spec.name, r.spec.dist): r.status for r in plugins.list_all()}
    assert rows[("broken", "thirdparty-gan")].startswith("error:")
    assert rows[("minimax", "ganlab")].startswith("conflict:")
    assert rows[("good", "thirdparty-gan")] == "ok"
    assert rows[("dcgan", "ganlab")] == "ok"


def test_disable_plugins_keeps_builtins_only(fake_eps, monkeypatch):
    fake_eps("loss", "good", "tests.fakeplugins.targets:GoodLoss")
    monkeypatch.setenv("GANLAB_DISABLE_PLUGINS", "1")
    assert "good" not in plugins.available("loss") and "minimax" in plugins.available("loss")


def test_plugins_command_prints_every_plugin_with_status(cli, fake_eps):
    fake_eps("loss", "broken", "tests.fakeplugins.broken:Anything")
    result = cli("plugins")
    assert result.code == 0
    flat = " ".join(result.out.split())
    for text in ("minimax", "dcgan", "digits", "ganlab==0.1.0", "broken", "error"):
        assert text in flat


def test_generator_breaking_the_contract_fails_on_first_step(cli, fake_eps):
    fake_eps("arch", "shrinking", "tests.fakeplugins.targets:ShrinkingArch")
    result = cli("train", "--arch", "shrinking", "--data", "ring", "--steps", "2", "--batch-size", "8")
    assert result.code == 1
    assert "arch 'shrinking'" in result.err and "expected shape (8, 2)" in result.err
    assert "Traceback" not in result.err
