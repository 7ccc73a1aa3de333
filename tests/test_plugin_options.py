"""The shared validators for plugin options, and the built-ins that use them."""

from __future__ import annotations

import pytest

from ganlab import plugins
from ganlab.errors import ConfigError
from ganlab.plugins.options import boolean, number, one_of, positive_int


@pytest.mark.parametrize("value", [1, 64])
def test_positive_int_accepts_integers_from_one(value):
    assert positive_int("p", "width", value) == value


@pytest.mark.parametrize("value", [0, -3, 32.0, True, "wide", None])
def test_positive_int_refuses_the_rest_naming_plugin_option_and_value(value):
    with pytest.raises(ValueError, match=rf"^p option width must be a positive integer, got {value!r}$"):
        positive_int("p", "width", value)


def test_a_number_in_quotes_is_told_to_lose_them():
    with pytest.raises(
        ValueError, match=r"^p option width must be a positive integer, got '32'; write it without quotes: 32$"
    ):
        positive_int("p", "width", "32")
    with pytest.raises(ValueError, match=r"got '1e-4'; write it without quotes: 1e-4$"):
        number("p", "a", "1e-4")


def test_boolean_takes_true_and_false_only():
    assert boolean("p", "skip_bad", True) is True and boolean("p", "skip_bad", False) is False
    for bad in ("true", 1, None):
        with pytest.raises(ValueError, match=rf"^p option skip_bad must be true or false, got {bad!r}; write e.g."):
            boolean("p", "skip_bad", bad)


def test_number_returns_a_float_and_checks_the_bound():
    assert number("p", "a", 2) == 2.0 and isinstance(number("p", "a", 2), float)
    assert number("p", "lam", 0, minimum=0) == 0.0
    with pytest.raises(ValueError, match=r"^p option lam must be a number >= 0, got -1$"):
        number("p", "lam", -1, minimum=0)
    for bad in (True, "1", None):
        with pytest.raises(ValueError, match="must be a number, got"):
            number("p", "a", bad)


def test_one_of_compares_values_not_their_spelling():
    assert one_of("p", "channels", 3, (1, 3)) == 3
    with pytest.raises(ValueError, match=r"^p option channels must be one of 1, 3, got 2$"):
        one_of("p", "channels", 2, (1, 3))
    with pytest.raises(ValueError, match="got '3'"):
        one_of("p", "channels", "3", (1, 3))
    with pytest.raises(ValueError, match="got True"):
        one_of("p", "channels", True, (1, 3))  # True == 1 in Python, but it is not an option value


@pytest.mark.parametrize(
    "kind, name, options, message",
    [
        ("arch", "dcgan", {"width": 0}, "dcgan option width must be a positive integer, got 0"),
        ("arch", "mlp", {"depth": 2.5}, "mlp option depth must be a positive integer, got 2.5"),
        ("loss", "lsgan", {"a": "x"}, "lsgan option a must be a number, got 'x'"),
        ("dataset", "folder", {"channels": 4}, "folder option channels must be one of 1, 3, got 4"),
        ("dataset", "mnist", {"split": "val"}, "MNIST option split must be one of 'train', 'test', got 'val'"),
    ],
)
def test_builtins_validate_through_the_shared_validators(kind, name, options, message):
    with pytest.raises(ConfigError, match=f"rejected its options .*: {message}"):
        plugins.create(kind, name, options)
