"""Validators for plugin options, for built-in and third-party plugins alike.

Options arrive as parsed TOML values (from `--arch-opt width=32` or a config file), without
conversion: 32 is an int, 1e-4 a float, true a bool, a bare word a str. Call these in a plugin's
`__init__`; each returns the value (numbers as float) or raises ValueError with a message naming
the plugin, the option and the value, which ganlab shows as one `Error:` line:

    def __init__(self, width: int = 64):
        self.width = positive_int("dcgan", "width", width)
"""

from __future__ import annotations

from typing import Any, Iterable


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)  # True is an int in Python


def _quoted(value: Any) -> str:
    """A hint for a number written in quotes (width = "32" in a config file is a TOML string)."""
    try:
        float(value) if isinstance(value, str) else None
    except ValueError:
        return ""
    return f"; write it without quotes: {value.strip()}" if isinstance(value, str) else ""


def positive_int(plugin: str, name: str, value: Any) -> int:
    """An integer >= 1 (not a bool, not a float such as 32.0)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{plugin} option {name} must be a positive integer, got {value!r}{_quoted(value)}")
    return value


def number(plugin: str, name: str, value: Any, minimum: float | None = None) -> float:
    """An int or float (not a bool), at least `minimum` when given; returned as float."""
    if not _is_number(value) or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum:g}"
        raise ValueError(f"{plugin} option {name} must be a number{bound}, got {value!r}{_quoted(value)}")
    return float(value)


def one_of(plugin: str, name: str, value: Any, choices: Iterable[Any]) -> Any:
    """One of `choices` (compared with ==, so 1 and 1.0 match but "1" does not)."""
    choices = list(choices)
    if value not in choices or isinstance(value, bool) != any(isinstance(c, bool) for c in choices if c == value):
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{plugin} option {name} must be one of {listed}, got {value!r}")
    return value


def boolean(plugin: str, name: str, value: Any) -> bool:
    """true or false (TOML booleans; the string "true" and the number 1 are refused)."""
    if not isinstance(value, bool):
        raise ValueError(f"{plugin} option {name} must be true or false, got {value!r}; write e.g. {name}=true")
    return value
