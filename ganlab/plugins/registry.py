"""Plugin registry over entry points: discover without importing, load one by name, list all.

Built-ins and third-party packages are found the same way, through the entry-point groups
below; ganlab's own pyproject declares its built-ins there too.
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
import inspect
import os
import re
from dataclasses import dataclass
from typing import Any

from ganlab.errors import ConfigError, PluginError
from ganlab.plugins import guard

GROUPS = {"loss": "ganlab.losses", "arch": "ganlab.archs", "dataset": "ganlab.datasets", "logger": "ganlab.loggers"}
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class PluginSpec:
    """One entry point, read from metadata only (nothing imported)."""

    kind: str
    name: str
    target: str  # "module:Class"
    dist: str  # distribution name, or "unknown" for an entry point without one
    version: str
    entry_point: Any

    @property
    def origin(self) -> str:
        return f"{self.dist}=={self.version}"

    def describe(self) -> str:
        return f"{self.kind} {self.name!r} ({self.target} from {self.origin})"


def _entry_points(group: str) -> list:
    """Indirection so tests can feed fake entry points without installing anything."""
    return list(md.entry_points(group=group))


def discover(kind: str) -> dict[str, list[PluginSpec]]:
    """Name -> every spec claiming it. More than one spec under a name is a conflict."""
    found: dict[str, list[PluginSpec]] = {}
    disabled = os.environ.get("GANLAB_DISABLE_PLUGINS", "") not in ("", "0")
    for ep in _entry_points(GROUPS[kind]):
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else "unknown"
        if disabled and dist_name != "ganlab":
            continue
        version = dist.version if dist is not None else "unknown"
        spec = PluginSpec(kind, ep.name, ep.value, dist_name, version, ep)
        if spec not in found.setdefault(ep.name, []):
            found[ep.name].append(spec)
    return found


def available(kind: str) -> list[str]:
    return sorted(discover(kind))


# Plugin packages that live in ganlab's repository and are not published on PyPI: a missing one
# is installed from a checkout, not by name.
BUNDLED = {"ganlab-wgan": "plugins/ganlab-wgan", "ganlab-resnet": "plugins/ganlab-resnet"}


def install_hint(recorded: dict[str, str]) -> str:
    """Where a recorded plugin came from and how to get it back: its distribution and version,
    and the command (from a ganlab checkout for the bundled packages, else by pinned name)."""
    dist, version = recorded["dist"], recorded.get("version")
    origin = f"{dist}=={version}" if version and version != "unknown" else dist
    if dist in BUNDLED:
        return (
            f"it came from the package {origin}, which ships with ganlab's source (not on PyPI): "
            f"from a ganlab checkout, pip install {BUNDLED[dist]}; "
        )
    return f"it came from the package {origin}: pip install '{origin}'; "


def find(kind: str, name: str, recorded: dict[str, str] | None = None) -> PluginSpec:
    """The one spec for `name`; unknown names get the closest match (or, with `recorded`, the
    provenance a checkpoint kept: where to get the package back), duplicates name both."""
    specs = discover(kind)
    if name not in specs:
        names = usable(specs)
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        if recorded and recorded.get("dist") and recorded["dist"] != "unknown":
            hint = install_hint(recorded)
        broken = len(specs) - len(names)
        more = f" ({broken} more {'is' if broken == 1 else 'are'} broken: see ganlab plugins)" if broken else ""
        raise PluginError(f"unknown {kind} {name!r}; {hint}available: {', '.join(names) or '(none)'}{more}")
    if len(specs[name]) > 1:
        ordered = sorted(specs[name], key=lambda s: (s.dist, s.version))  # the same message on every machine
        claims = " and ".join(s.origin + f" ({s.target})" for s in ordered)
        raise PluginError(
            f"{kind} {name!r} is registered by more than one package: {claims}; "
            "uninstall one so the result traces to a single implementation"
        )
    return specs[name][0]


def usable(specs: dict[str, list[PluginSpec]]) -> list[str]:
    """The names a user could pick instead: valid, claimed once, and importable as the right
    class (this imports them; it runs only on the way to an unknown-name error)."""
    names = []
    for name, claims in sorted(specs.items()):
        if len(claims) != 1:
            continue
        try:
            import_spec(claims[0])
        except PluginError:
            continue
        names.append(name)
    return names


def import_spec(spec: PluginSpec) -> type:
    """Imports one plugin and checks its load-time contract (base class, name format)."""
    if not NAME_RE.match(spec.name):
        raise PluginError(
            f"{spec.describe()} has an invalid name; names are lower-case letters, digits, '.', '_' or '-'"
        )
    try:
        obj = spec.entry_point.load()
    except Exception as exc:  # any import-time failure of third-party code
        raise PluginError(f"{spec.describe()} failed to import: {type(exc).__name__}: {exc}") from exc
    base = base_class(spec.kind)
    if not (inspect.isclass(obj) and issubclass(obj, base)):
        raise PluginError(
            f"{spec.describe()} is {obj!r}, not a subclass of {base.__module__}.{base.__qualname__}; "
            "fix the entry point or the class"
        )
    return obj


def load(kind: str, name: str, recorded: dict[str, str] | None = None) -> tuple[type, PluginSpec]:
    spec = find(kind, name, recorded)
    return import_spec(spec), spec


def create(
    kind: str, name: str, options: dict[str, Any] | None = None, recorded: dict[str, str] | None = None
) -> tuple[Any, PluginSpec]:
    """Loads and instantiates a plugin with its options; a bad option lists the valid ones.
    `recorded`: the provenance a checkpoint kept for it (dist, version), for a missing plugin's hint."""
    cls, spec = load(kind, name, recorded)
    options = dict(options or {})
    # a class without its own __init__ inherits object's (*args, **kwargs) but takes no options
    init = cls.__init__  # type: ignore[misc]  # the class's own, as written, is what we inspect
    params = {} if init is object.__init__ else inspect.signature(init).parameters
    variadic = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    valid = [n for n, p in params.items() if n != "self" and p.kind not in variadic]
    unknown = [k for k in options if k not in valid]
    if unknown and not takes_kwargs:
        raise ConfigError(
            f"{kind} {name!r} has no option {unknown[0]!r}; valid options: {', '.join(valid) or '(none)'}"
        )
    with guard.calling(guard.Owner.of_spec(spec), "__init__"):
        try:
            instance = cls(**options)
        except (TypeError, ValueError) as exc:  # the documented way to refuse an option value
            raise ConfigError(f"{spec.describe()} rejected its options {options}: {exc}") from exc
    return instance, spec


def base_class(kind: str) -> type:
    if kind == "loss":
        from ganlab.losses.base import Loss

        return Loss
    if kind == "arch":
        from ganlab.archs.base import Arch

        return Arch
    if kind == "logger":
        from ganlab.loggers.base import Logger

        return Logger
    from ganlab.data.base import Dataset

    return Dataset


@dataclass
class PluginStatus:
    spec: PluginSpec
    status: str  # "ok", or the one-line error


def list_all() -> list[PluginStatus]:
    """Every plugin of every kind with its status; a broken plugin never stops the listing."""
    rows: list[PluginStatus] = []
    for kind in GROUPS:
        for _name, specs in sorted(discover(kind).items()):
            for spec in specs:
                if len(specs) > 1:
                    others = ", ".join(s.origin for s in specs if s is not spec)
                    rows.append(PluginStatus(spec, f"conflict: also registered by {others}"))
                    continue
                try:
                    import_spec(spec)
                    rows.append(PluginStatus(spec, "ok"))
                except PluginError as exc:
                    rows.append(PluginStatus(spec, f"error: {exc}"))
    return rows


def status_record(row: PluginStatus) -> dict[str, str | None]:
    """One row of `ganlab plugins --format json`: state is "ok", "error" or "conflict"."""
    state, _, message = row.status.partition(": ")
    return {
        "kind": row.spec.kind,
        "name": row.spec.name,
        "distribution": row.spec.dist,
        "version": row.spec.version,
        "target": row.spec.target,
        "status": state,
        "message": message or None,
    }


def provenance(spec: PluginSpec) -> dict[str, str]:
    """What a checkpoint and a summary record about the plugin that produced a result."""
    return {"name": spec.name, "target": spec.target, "dist": spec.dist, "version": spec.version}
