"""Files that are never torn: atomic writes (temp file, fsync, rename) and the previous copy kept
beside a replaced file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Callable


def previous_path(path: Path) -> Path:
    return Path(path).with_name(Path(path).stem + ".previous" + Path(path).suffix)


def atomic_write_bytes(path: Path, write: Callable[[IO[bytes]], object], keep_previous: bool = False) -> None:
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
        if keep_previous and path.exists():  # the old file survives as X.previous.ext
            os.replace(path, previous_path(path))
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
