"""`ganlab plugins`: every registered loss, arch and dataset, with where it comes from."""

from __future__ import annotations

from ganlab.cli.app import app
from ganlab.cli.console import console


@app.command("plugins")
def list_plugins() -> None:
    """List every plugin (kind, name, distribution==version, target, status); broken ones included."""
    from ganlab import plugins
    from ganlab.cli import ui

    console.print(ui.plugins_table(plugins.list_all()))
