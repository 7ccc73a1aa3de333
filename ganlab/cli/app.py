"""The Typer app and the one exit point: GanlabError -> one red line on stderr, exit 1."""

from __future__ import annotations

import errno
import os
import sys
import warnings

import typer
from typer.core import TyperOption
from typer.exceptions import Abort, TyperException

from ganlab.errors import ConfigError, GanlabError, GanlabNotice

app = typer.Typer(
    name="ganlab",
    help="A command-line lab for generative adversarial networks.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _flags_without_type(option_class: type) -> None:
    """Typer's rich help prints a type beside every option, `<bool>` for on/off flags too, which
    reads as if the flag took a value; flags show no type instead."""
    shown = getattr(option_class, "display_type_rich", None)
    if shown is None:  # another Typer: leave its help as it is
        return

    def display_type_rich(self, ctx):  # noqa: ANN001, ANN202 - Typer's signature
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    setattr(option_class, "display_type_rich", display_type_rich)  # noqa: B010 - a class attribute, on purpose


def _version(value: bool) -> None:
    if value:
        from ganlab import __version__

        typer.echo(f"ganlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks of errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """--debug is declared for --help; main() reads it from argv itself, since errors are printed
    after Typer has returned."""


_flags_without_type(TyperOption)


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


# A full disk, a quota, a read-only mount, missing permissions: a write ganlab did not expect to
# fail is still the machine's problem, not a bug, and gets one line instead of a traceback. Every
# command checks and names its usual outputs itself; this is the net under the rest.
ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES}


def environment_error(exc: OSError) -> str:
    where = f": {os.fsdecode(exc.filename)!r}" if exc.filename else ""
    return f"{exc.strerror}{where}; free space, fix permissions or pass another path, then run the command again"


def said_by_rank_0(exc: BaseException) -> bool:
    """Under a bare torchrun every rank parses the same command line and config, so a usage or
    config error is raised by every rank alike: rank 0 prints it, the others only exit 1, and the
    user reads the line once (`ganlab train --nproc` checks these before starting any rank)."""
    rank = os.environ.get("RANK")
    return rank is not None and rank != "0" and isinstance(exc, (ConfigError, TyperException))


def main() -> None:
    warnings.showwarning = _show_warning  # library notices become one `Note:` line
    debug = "--debug" in sys.argv[1:] or os.environ.get("GANLAB_DEBUG") == "1"
    try:
        code = app(standalone_mode=False)
    except GanlabError as exc:
        _leave_group(together=False)
        if debug:
            import traceback

            traceback.print_exception(exc)
        if not getattr(exc, "silent", False) and not said_by_rank_0(exc):  # silent: another process says it
            print_error(str(exc))
        sys.exit(getattr(exc, "exit_code", 1))
    except TyperException as exc:  # usage errors: unknown flag, bad value, missing argument
        if type(exc).__name__ == "NoArgsIsHelpError":  # plain `ganlab`: typer printed the help
            sys.exit(0)
        ctx = getattr(exc, "ctx", None)
        command = ctx.command_path if ctx is not None else "ganlab"
        if not said_by_rank_0(exc):
            print_error(f"{exc.format_message()} (see: {command} --help)")
        sys.exit(1)
    except OSError as exc:  # the disk or the folder, not ganlab: one line too (issue 18)
        if exc.errno not in ENVIRONMENT_ERRNOS or debug:
            raise
        print_error(environment_error(exc))
        sys.exit(1)
    except Abort:
        sys.exit(130)
    _leave_group(together=True)
    sys.exit(code if isinstance(code, int) else 0)


def _leave_group(together: bool) -> None:
    """Under torchrun (a command that joined a process group): leave it before exiting. After a
    success the ranks wait for each other first; after an error they do not (another rank may be
    inside a collective that will never complete)."""
    if "torch.distributed" not in sys.modules:  # printing an error never imports torch
        return
    from ganlab.run import distributed

    distributed.shutdown(together)
