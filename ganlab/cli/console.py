"""The two rich consoles: results on stdout, errors and notices on stderr. Importing this loads
rich only, so printing an `Error:` line never waits for torch."""

from rich.console import Console

console = Console()  # results (tables, paths) go to stdout
err_console = Console(stderr=True, soft_wrap=True, highlight=False)  # errors and notices, one line each
