"""The Typer app and the one exit point: GanlabError -> one red line on stderr, exit 1."""

from __future__ import annotations

import os
import sys
import warnings

import typer
from typer.exceptions import Abort, TyperException

from ganlab.errors import GanlabError, GanlabNotice

app = typer.Typer(
    name="ganlab",
    help="A command-line lab for generative adversarial networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks of errors.")) -> None:
    """Declared for --help; main() reads --debug from argv itself, since errors are printed after
    Typer has returned."""


def print_error(message: str) -> None:
    from ganlab.cli.console import err_console

    err_console.print(f"[bold red]Error:[/] {_escape(message)}")


def notice(message: str) -> None:
    from ganlab.cli.console import err_console

    err_console.print(f"[yellow]Note:[/] {_escape(message)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(" ".join(str(text).split()))  # one line, whatever the message held


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, GanlabNotice):
        notice(str(message))
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


_default_showwarning = warnings.showwarning


def main() -> None:
    warnings.showwarning = _show_warning  # library notices become one `Note:` line
    debug = "--debug" in sys.argv[1:] or os.environ.get("GANLAB_DEBUG") == "1"
    try:
        code = app(standalone_mode=False)
    except GanlabError as exc:
        if debug:
            import traceback

            traceback.print_exception(exc)
        print_error(str(exc))
        sys.exit(getattr(exc, "exit_code", 1))
    except TyperException as exc:  # usage errors: unknown flag, bad value, missing argument
        if type(exc).__name__ == "NoArgsIsHelpError":  # plain `ganlab`: typer printed the help
            sys.exit(0)
        ctx = getattr(exc, "ctx", None)
        command = ctx.command_path if ctx is not None else "ganlab"
        print_error(f"{exc.format_message()} (see: {command} --help)")
        sys.exit(1)
    except Abort:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
