"""Every command's --help shows each option's default, and the CLI's error path stays light."""

from __future__ import annotations

import re

import pytest
import typer.main

from ganlab.cli import app
from tests.helpers import run_python


def _commands() -> dict:
    """name -> click command, as Typer builds them (Typer vendors click; only its public attributes are read)."""
    group = typer.main.get_command(app)
    return dict(group.commands)


def _help_text(cli, name: str) -> str:
    result = cli(*([name] if name else []), "--help")
    assert result.code == 0, result.err
    return " ".join(result.out.replace("│", " ").split())  # one line: rich wraps long help texts


# Options that are off unless given: they have no default to show.
NO_DEFAULT = {
    "train": {"--config", "--resume", "--loss-opt", "--arch-opt", "--data-opt"},
    "compare": {"--sort", "--plot", "--grid", "--config", "--loss-opt", "--arch-opt", "--data-opt"},
    "sample": {"--onnx", "--out-dir", "--npy", "--latent-dim"},
}


@pytest.mark.parametrize("name", sorted(_commands()))
def test_help_shows_every_default(cli, monkeypatch, name):
    monkeypatch.setenv("COLUMNS", "400")  # no wrapping inside a default
    text = _help_text(cli, name)
    command = _commands()[name]
    for param in command.params:
        if param.param_type_name != "option" or param.is_flag or param.name == "help":
            continue
        flag = max(param.opts, key=len)
        assert flag in text, f"{name}: {flag} missing from --help"
        if param.default is None and flag in NO_DEFAULT.get(name, ()):
            continue
        if param.default is None:  # a value filled in later (config file, dataset, run): said in words
            assert "(default: " in (param.help or ""), f"{name} {flag}: help does not say its default"
            shown = re.escape(" ".join(param.help.split("(default: ")[-1].split()))
        else:
            default = param.default if not isinstance(param.default, (list, tuple)) else param.default[0]
            shown = re.escape(f"[default: {default}]")
        assert re.search(shown, text), f"{name} {flag}: the default is not shown in --help"


def test_train_and_compare_share_run_settings():
    train, compare = _commands()["train"], _commands()["compare"]
    shared = ("--steps", "--batch-size", "--lr-d", "--eval-every", "--arch-opt")
    helps = {
        cmd.name: {max(p.opts, key=len): p.help for p in cmd.params if p.param_type_name == "option"}
        for cmd in (train, compare)
    }
    for flag in shared:
        assert helps["train"][flag] == helps["compare"][flag]
    assert "(default: 5e-05)" in helps["train"]["--lr-d"]  # from RunConfig, not typed by hand


def _stderr_without_torch(code: str) -> str:
    """Runs `code` in a fresh interpreter, then asserts torch was never imported; returns stderr."""
    check = "\nimport sys\nassert 'torch' not in sys.modules, 'torch was imported'\n"
    done = run_python(code + check)
    assert done.code == 0, done.err
    return done.err


def test_an_error_line_does_not_import_torch():
    err = _stderr_without_torch("import ganlab.cli\nfrom ganlab.cli.app import print_error\nprint_error('x')")
    assert err.startswith("Error: x")


def test_a_usage_error_does_not_import_torch():
    code = (
        "import sys\n"
        "sys.argv = ['ganlab', 'compare', '--format', 'xml', 'runs']\n"
        "from ganlab.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 1\n"
    )
    assert "Error: unknown --format 'xml'" in _stderr_without_torch(code)


def test_version_short_help_and_completion(cli):
    from ganlab import __version__

    version = cli("--version")
    assert version.code == 0 and version.out == f"ganlab {__version__}\n"
    short = cli("train", "-h")
    assert short.code == 0 and "--steps" in short.out
    top = _help_text(cli, "")
    assert "--install-completion" in top and "--show-completion" in top


@pytest.mark.parametrize("name", sorted(_commands()))
def test_flags_show_no_type_and_arguments_are_upper_case(cli, monkeypatch, name):
    monkeypatch.setenv("COLUMNS", "400")
    out = cli(name, "--help").out
    assert "<bool>" not in out  # an on/off flag takes no value
    usage = next(line for line in out.splitlines() if "Usage:" in line).replace("[OPTIONS]", "")
    args = re.findall(r"[\[{]([A-Za-z_]+)(?:\.\.\.)?[\]}]", usage)
    assert all(a.isupper() for a in args), usage
