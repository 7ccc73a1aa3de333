"""`ganlab plugins`: every registered loss, arch and dataset, with where it comes from; `--check`
for plugin authors' CI."""

from __future__ import annotations

from typing import Annotated

import typer

from ganlab.cli.app import app
from ganlab.cli.console import console

FORMATS = ("table", "json")


@app.command("plugins")
def list_plugins(
    fmt: Annotated[
        str, typer.Option("--format", help="table (rich) or json (a list of objects, nothing else).")
    ] = "table",
    check: Annotated[
        bool,
        typer.Option("--check", help="Exit 1 when any plugin is broken or a name is claimed twice (for CI)."),
    ] = False,
) -> None:
    """List every plugin (kind, name, distribution==version, target, status); broken ones included."""
    import json

    from ganlab import plugins
    from ganlab.cli import ui
    from ganlab.errors import ConfigError, PluginError

    if fmt not in FORMATS:
        raise ConfigError(f"unknown --format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    rows = plugins.list_all()
    if fmt == "json":
        typer.echo(json.dumps([plugins.status_record(row) for row in rows], indent=2))
    else:
        ui.print_table(console, ui.plugins_table(rows))
    bad = [row for row in rows if row.status != "ok"]
    if check and bad:
        names = ", ".join(dict.fromkeys(f"{row.spec.kind} {row.spec.name!r}" for row in bad))
        raise PluginError(f"{len(bad)} of {len(rows)} plugins are broken or claimed twice: {names}; see their status")
