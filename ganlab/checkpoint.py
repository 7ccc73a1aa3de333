"""Checkpoint files: atomic save (temp file, fsync, rename) and safe load (weights_only)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from ganlab.errors import RunError

FORMAT = "ganlab-checkpoint-1"


def atomic_write_bytes(path: Path, write) -> None:
    """Writes through `write(fileobj)` into a temp file beside `path`, fsyncs, then renames.

    A crash at any moment leaves either the old file or the new one, never a torn file
    under the final name (rename is atomic on POSIX within one filesystem).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, lambda f: f.write(text.encode("utf-8")))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on directories; the rename still happened
        pass
    finally:
        os.close(fd)


def save(path: Path, state: dict[str, Any]) -> None:
    state = {"format": FORMAT, **state}
    atomic_write_bytes(path, lambda f: torch.save(state, f))


def load(path: Path) -> dict[str, Any]:
    """Loads a checkpoint without unpickling code (weights_only=True), onto the CPU."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"checkpoint {str(path)!r} does not exist; train first or pass an existing file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError... on bad files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunError(f"checkpoint {str(path)!r} cannot be loaded safely ({first}); "
                       "it is corrupt or not a ganlab checkpoint") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise RunError(f"{str(path)!r} is not a ganlab checkpoint (format {FORMAT} expected)")
    return state
