"""The typed errors ganlab raises; each message says what failed, which value, and what to do next.

Only the CLI turns these into a one-line `Error: ...` and exit code 1. Anything else that
escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class GanlabError(Exception):
    """Base of every error a user can cause and fix."""


class ConfigError(GanlabError):
    """A run configuration value is invalid (flag, TOML file, option)."""


class PluginError(GanlabError):
    """A plugin is unknown, ambiguous, fails to import, or breaks its contract."""


class PluginUserError(PluginError):
    """Raise this from plugin code for a mistake the user can fix (a bad option value, a missing
    data file). ganlab shows its message as one `Error:` line, prefixed with the plugin's kind,
    name, target and distribution==version:

        from ganlab.errors import PluginUserError
        raise PluginUserError("turns must be at least 1, got 0; pass --data-opt turns=2")

    ValueError and TypeError from a plugin's `__init__`, `load` and `build` also give one line;
    any other exception from plugin code is reported as a bug in the plugin (one line too, with
    the exception's type; `ganlab --debug` shows its traceback)."""


class DataError(GanlabError):
    """A dataset cannot be found, read or shaped as asked."""


class RunError(GanlabError):
    """A run directory or checkpoint is missing, unreadable or not a ganlab run."""


class RunLocked(RunError):
    """Another process is writing the run (it holds the run's lock); the message names it."""


class MetricError(GanlabError):
    """A metric cannot be computed with the inputs given."""


class ResultsNotSaved(RunError):
    """Metrics were computed but the run's summary.json could not be written (a read-only folder,
    a full disk). `results` holds them, so the CLI can show what would otherwise be lost."""

    def __init__(self, message: str, results: dict):
        super().__init__(message)
        self.results = results


class ExportError(GanlabError):
    """An export or an ONNX file is unusable."""


class DivergenceError(GanlabError):
    """Training produced a NaN or Inf."""


class Interrupted(GanlabError):
    """The user pressed Ctrl-C; state was saved. Exit code 130, as shells expect after SIGINT."""

    exit_code = 130


class GanlabNotice(UserWarning):
    """Something the user should know that did not stop the command (a fallback was taken).
    Library code emits it with `warnings.warn`; the CLI prints it as one `Note:` line."""
