"""Plugins: the registry over entry points (discover without importing, load one by name), the
runtime contract checks, and validators for plugin options. `ganlab.plugins` is a public import
path: plugin authors and tests use the names re-exported here."""

from ganlab.plugins.registry import (
    GROUPS,
    NAME_RE,
    PluginSpec,
    PluginStatus,
    available,
    base_class,
    create,
    discover,
    find,
    import_spec,
    list_all,
    load,
    provenance,
    status_record,
)

__all__ = [
    "GROUPS",
    "NAME_RE",
    "PluginSpec",
    "PluginStatus",
    "available",
    "base_class",
    "create",
    "discover",
    "find",
    "import_spec",
    "list_all",
    "load",
    "provenance",
    "status_record",
]
