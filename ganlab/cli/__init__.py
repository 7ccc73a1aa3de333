"""The `ganlab` command line: a thin Typer layer over the library. Each command lives in its own
module here and registers itself on the shared app; only this package prints errors and exits."""

from ganlab.cli import (  # noqa: F401  (registers the commands)
    compare_cmd,
    eval_cmd,
    export_cmd,
    fid_cmd,
    plugins_cmd,
    sample_cmd,
    theory_cmd,
    train_cmd,
)
from ganlab.cli.app import app, main

__all__ = ["app", "main"]
