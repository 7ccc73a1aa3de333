"""Exceptions raised inside plugin code -> one-line PluginErrors naming the plugin (kind, name,
target, distribution==version), with the original exception chained for `ganlab --debug`.

Two ways in. `calling(owner, what)` wraps one call ganlab makes into a plugin (`__init__`,
`load`, `build`): whatever escapes it is the plugin's. `translating(owners)` wraps a larger body
(the training loop, whatever shape its step has): an exception is blamed on a plugin only when
its traceback passes through that plugin's modules, and escapes unchanged otherwise (a bug in
ganlab keeps its traceback).
"""

from __future__ import annotations

import contextlib
import inspect
import os
import traceback
from dataclasses import dataclass
from typing import Iterable, Iterator

from ganlab.errors import GanlabError, PluginError, PluginUserError

DEBUG_HINT = "--debug shows the traceback"


@dataclass(frozen=True)
class Owner:
    """A plugin as the guard sees it: how messages name it, and which modules hold its code."""

    who: str  # "loss 'rsgan' (ganlab_rsgan:RSGAN from ganlab-rsgan==0.1.0)"
    package: str  # frames in this module or below it run the plugin's code

    @classmethod
    def of_spec(cls, spec) -> "Owner":
        return cls(spec.describe(), package_of(spec.target.split(":")[0]))

    @classmethod
    def of_provenance(cls, kind: str, recorded: dict[str, str]) -> "Owner":
        """From what a checkpoint records (registry.provenance): name, target, dist, version."""
        get = lambda key: recorded.get(key, "unknown")  # noqa: E731  # a checkpoint from an older ganlab
        who = f"{kind} {get('name')!r} ({get('target')} from {get('dist')}=={get('version')})"
        return cls(who, package_of(get("target").split(":")[0]))

    @classmethod
    def of_class(cls, plugin_cls: type, who: str) -> "Owner":
        return cls(who, package_of(plugin_cls.__module__))

    def owns(self, module: str) -> bool:
        return module == self.package or module.startswith(self.package + ".")


def package_of(module: str) -> str:
    """The folder a plugin's code lives in: `ganlab_wgan.wgan_gp` -> `ganlab_wgan` (helpers in
    sibling modules count as the plugin's), `ganlab.losses.minimax` -> `ganlab.losses`; a
    top-level module is its own package."""
    return module.rsplit(".", 1)[0] if "." in module else module


def _innermost_frame(exc: BaseException, owners: Iterable[Owner]) -> tuple[Owner, traceback.FrameSummary] | None:
    """The deepest traceback frame that runs some owner's code, and that owner (the longest
    package wins when one plugin's package holds another's)."""
    owners = sorted(owners, key=lambda o: -len(o.package))
    found = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        module = frame.f_globals.get("__name__", "")
        owner = next((o for o in owners if o.owns(module)), None)
        if owner is not None:
            found = (owner, traceback.FrameSummary(frame.f_code.co_filename, lineno, frame.f_code.co_name))
    return found


def failure(owner: Owner, exc: Exception, what: str, frame: traceback.FrameSummary | None = None) -> PluginError:
    """The one line for an exception from plugin code. A PluginUserError keeps its own message
    (the plugin wrote it for users); anything else says where it came from and what it was."""
    if isinstance(exc, PluginUserError):
        error: PluginError = PluginUserError(f"{owner.who}: {exc}")
    else:
        where = f"{frame.name} ({os.path.basename(frame.filename)}:{frame.lineno})" if frame is not None else what
        detail = " ".join(str(exc).split()) or "(no message)"
        error = PluginError(f"{owner.who} failed in {where}: {type(exc).__name__}: {detail}; {DEBUG_HINT}")
    error.plugin = owner.who  # type: ignore[attr-defined]  # named now: outer guards pass it on
    return error


def _named(exc: BaseException) -> bool:
    """True for ganlab's own errors, which already name what failed (a PluginUserError is
    named once a guard has prefixed the plugin)."""
    return isinstance(exc, GanlabError) and not (isinstance(exc, PluginUserError) and not hasattr(exc, "plugin"))


@contextlib.contextmanager
def calling(owner: Owner, what: str) -> Iterator[None]:
    """Around one call into a plugin: any exception from it becomes that plugin's PluginError."""
    try:
        yield
    except Exception as exc:
        if _named(exc):
            raise
        found = _innermost_frame(exc, [owner])
        raise failure(owner, exc, what, found[1] if found else None) from exc


@contextlib.contextmanager
def translating(owners: Iterable[Owner]) -> Iterator[None]:
    """Around code that calls several plugins: an exception whose traceback runs through a
    plugin's modules becomes that plugin's PluginError; any other escapes as it was."""
    owners = list(owners)
    try:
        yield
    except Exception as exc:
        if _named(exc):
            raise
        found = _innermost_frame(exc, owners)
        if found is None:
            raise
        raise failure(found[0], exc, found[1].name, found[1]) from exc


def owner_of(plugin: object, who: str) -> Owner:
    """An Owner for a plugin given as a class or instance (ganlab.testing's way in)."""
    return Owner.of_class(plugin if inspect.isclass(plugin) else type(plugin), who)
