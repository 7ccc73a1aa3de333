"""Helpers shared by the test modules: the environment every test runs in, the one CLI invoker
(in this process, or as a real `python -m ganlab` process), fake plugins (packages installed the way
pip installs them, or entry points fed to the registry's test seam), and the one-line-error check."""

from __future__ import annotations

import contextlib
import errno
import importlib
import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


# --- the environment ----------------------------------------------------------------------------------
def isolated_environ(base: Path, *, third_party_plugins: bool = False) -> dict[str, str | None]:
    """The variables ganlab reads from the user's environment, pointed into `base` (None: unset):
    caches and downloads under base, no FID weights from outside, and installed third-party plugin
    packages out of sight unless asked for (GANLAB_DISABLE_PLUGINS keeps ganlab's built-ins only)."""
    return {
        "GANLAB_CACHE": str(base / "ganlab-cache"),
        "GANLAB_DATA": str(base / "ganlab-data"),
        "TORCH_HOME": str(base / "torch-home"),  # pytorch-fid looks for its weights under here
        "GANLAB_FID_WEIGHTS": None,
        "GANLAB_DEBUG": None,
        "GANLAB_DISABLE_PLUGINS": None if third_party_plugins else "1",
    }


@contextlib.contextmanager
def environ(values: Mapping[str, str | None]) -> Iterator[None]:
    """Sets (or, for None, unsets) environment variables, and puts every one back on exit."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        yield
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


# --- the CLI ------------------------------------------------------------------------------------------
@dataclass
class CliResult:
    code: int
    out: str
    err: str


def exit_code(exc: SystemExit) -> int:
    return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)


def invoke(*args: object, cwd: Path | None = None) -> CliResult:
    """`ganlab ARGS...` in this process, through the console script's entry point, with stdout and
    stderr captured (and `cwd`, when given, as the working folder for the call)."""
    from ganlab.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_argv, saved_cwd = sys.argv, os.getcwd()
    sys.argv = ["ganlab", *map(str, args)]
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exit_code(exc)
    finally:
        sys.argv = saved_argv
        os.chdir(saved_cwd)
    return CliResult(code, out.getvalue(), err.getvalue())


def ganlab_argv(*args: object) -> list[str]:
    """`python -m ganlab ARGS...` with this interpreter."""
    return [sys.executable, "-m", "ganlab", *map(str, args)]


def process_env(*paths: Path, **extra: str) -> dict[str, str]:
    """This process's environment (the isolated one, under pytest) for a `python -m ganlab` child:
    one torch thread (two cores, shared), this checkout first on PYTHONPATH so the child imports
    the ganlab under test, then `paths`, then what PYTHONPATH held."""
    env = dict(os.environ, OMP_NUM_THREADS="1", **extra)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *map(str, paths), *filter(None, [env.get("PYTHONPATH")])])
    return env


def run_ganlab(
    *args: object, cwd: Path | None = None, env: Mapping[str, str] | None = None, timeout: float = 300
) -> CliResult:
    """`python -m ganlab ARGS...` as a real process (a fresh interpreter, real signals), captured."""
    done = subprocess.run(
        ganlab_argv(*args), cwd=cwd, env=dict(env or process_env()), capture_output=True, text=True, timeout=timeout
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


def run_python(code: str, timeout: float = 60) -> CliResult:
    """`python -c CODE` in a fresh interpreter with process_env(): for what only a new process
    shows (which modules an import loads, a script run as users run it)."""
    done = subprocess.run(
        [sys.executable, "-c", code], env=process_env(), capture_output=True, text=True, timeout=timeout
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


def one_line_error(result, *fragments):
    """Exit 1, exactly one `Error:` line and nothing else, no traceback, every fragment in it."""
    assert result.code == 1, result.err
    assert result.err.startswith("Error: ") and result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err and result.out == ""
    for fragment in fragments:
        assert fragment in result.err


# --- fake plugin packages -----------------------------------------------------------------------------
def write_dist(site: Path, name: str, version: str, entry_points: dict[str, dict[str, str]]) -> None:
    """A minimal installed distribution: METADATA and entry_points.txt, as pip writes them."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    for group, eps in entry_points.items():
        lines += [f"[{group}]"] + [f"{n} = {target}" for n, target in eps.items()] + [""]
    (info / "entry_points.txt").write_text("\n".join(lines))


def write_plugin_package(
    site: Path,
    name: str,
    version: str,
    entry_points: dict[str, dict[str, str]],
    modules: Mapping[str, str] | None = None,
) -> Path:
    """A fake plugin package installed into `site` the way pip installs one: its top-level modules
    (module name -> source) and its dist-info. Make it visible with `plugins_on_path(site)`."""
    site.mkdir(parents=True, exist_ok=True)
    for module, source in (modules or {}).items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))
    write_dist(site, name, version, entry_points)
    return site


def contract_breakers(module: str) -> dict[str, str]:
    """Modules for write_plugin_package: `module`, plugins that break the runtime contract
    (tests/fakeplugins/contract_breakers.py: NaNLoss, VectorLoss, NaNGeneratorLoss, NotALoss,
    HalfSizeArch, OffsetArch, ColumnLogitsArch), and `module`_broken, whose import fails."""
    source = (Path(__file__).parent / "fakeplugins" / "contract_breakers.py").read_text()
    return {module: source, f"{module}_broken": "import ganlab_fake_missing_dependency  # not installed\n"}


@contextlib.contextmanager
def plugins_on_path(*sites: Path) -> Iterator[None]:
    """Installs `sites` for the duration (on sys.path, as flake8's tests do) and shows third-party
    plugins (GANLAB_DISABLE_PLUGINS unset); on exit forgets every module imported from them, so the
    next test imports its own copies."""
    folders = [str(site) for site in sites]
    before = set(sys.modules)
    sys.path[:0] = folders
    importlib.invalidate_caches()
    try:
        with environ({"GANLAB_DISABLE_PLUGINS": None}):
            yield
    finally:
        for folder in folders:
            sys.path.remove(folder)
        for name in set(sys.modules) - before:
            if _lives_in(sys.modules.get(name), folders):
                sys.modules.pop(name, None)
        importlib.invalidate_caches()


def _lives_in(module, folders: list[str]) -> bool:
    files = [getattr(module, "__file__", None) or "", *(getattr(module, "__path__", None) or [])]
    return any(str(f).startswith(folder + os.sep) for f in files for folder in folders)


# --- fake entry points (the registry's test seam: nothing on disk) ------------------------------------
class FakeDist:
    def __init__(self, name: str, version: str):
        self.metadata = {"Name": name}
        self.version = version


def entry_point(name: str, value: str, group: str, dist: tuple[str, str] | None = None):
    """An importlib.metadata entry point, belonging to the distribution `dist` (name, version)."""
    import importlib.metadata as md

    entry = md.EntryPoint(name, value, group)
    if dist is not None and hasattr(entry, "_for"):
        entry = entry._for(FakeDist(*dist))
    return entry


def dist_name(ep) -> str | None:
    return ep.dist.metadata["Name"] if getattr(ep, "dist", None) is not None else None


def fake_entry_points(monkeypatch) -> Callable[..., None]:
    """Discovery sees ganlab's own entry points plus the fakes added with the returned
    `add(kind, name, "module:Class", dist=(name, version))`, nothing else that is installed; the
    fakes are third-party plugins, so GANLAB_DISABLE_PLUGINS is unset for the test."""
    from ganlab import plugins
    from ganlab.plugins import registry

    extra: dict[str, list] = {}
    real = registry._entry_points

    def entry_points(group):
        return [ep for ep in real(group) if dist_name(ep) == "ganlab"] + extra.get(group, [])

    monkeypatch.setattr(registry, "_entry_points", entry_points)
    monkeypatch.delenv("GANLAB_DISABLE_PLUGINS", raising=False)

    def add(kind: str, name: str, value: str, dist: tuple[str, str] = ("thirdparty-gan", "1.2.3")) -> None:
        group = plugins.GROUPS[kind]
        extra.setdefault(group, []).append(entry_point(name, value, group, dist))

    return add


def hide_dists(monkeypatch, *dists: str) -> None:
    """Uninstalled, as discovery sees it: whatever this environment has, these dists are gone."""
    from ganlab.plugins import registry

    real = registry._entry_points
    monkeypatch.setattr(
        registry, "_entry_points", lambda group: [ep for ep in real(group) if dist_name(ep) not in dists]
    )


# --- a read-only folder, simulated ----------------------------------------------------------------
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


@contextlib.contextmanager
def read_only(root: Path, code: int = errno.EROFS) -> Iterator[None]:
    """Every write under `root` (creating, opening for writing, renaming, removing, making
    folders) fails with OSError `code`, as on a read-only mount: tests run as root, for whom
    chmod makes nothing read-only, and a real mount needs privileges a CI box may not grant."""
    import builtins

    root = Path(root).resolve()

    def under(*paths: object) -> bool:
        for p in paths:
            try:
                resolved = Path(os.fsdecode(p)).resolve()  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
            if resolved == root or root in resolved.parents:
                return True
        return False

    def refuse(path: object) -> OSError:
        return OSError(code, os.strerror(code), os.fsdecode(path))  # type: ignore[arg-type]

    real = {n: getattr(os, n) for n in ("open", "mkdir", "replace", "rename", "unlink", "remove", "rmdir")}
    real_open = builtins.open

    def os_open(path, flags, *args, **kw):
        if flags & WRITE_FLAGS and under(path):
            raise refuse(path)
        return real["open"](path, flags, *args, **kw)

    def changes(name: str):
        def wrapped(*paths, **kw):
            if under(*paths[:2]):
                raise refuse(paths[0])
            return real[name](*paths, **kw)

        return wrapped

    def py_open(file, mode="r", *args, **kw):
        if isinstance(file, (str, bytes, os.PathLike)) and set(mode) & set("wax+") and under(file):
            raise refuse(file)
        return real_open(file, mode, *args, **kw)

    patched = {"open": os_open, **{n: changes(n) for n in real if n != "open"}}
    try:
        for name, fn in patched.items():
            setattr(os, name, fn)
        builtins.open = py_open
        io.open = py_open  # pathlib's Path.open and write_text go through io.open
        yield
    finally:
        for name, fn in real.items():
            setattr(os, name, fn)
        builtins.open = real_open
        io.open = real_open
