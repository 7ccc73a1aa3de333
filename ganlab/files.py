"""Files that are never torn: atomic writes (temp file, fsync, rename) and the previous copy kept
beside a replaced file."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import IO, Callable


def check_overwrite(path: Path, flag: str, force: bool) -> None:
    """The one overwrite policy of the commands that write where the user says (`sample --out`,
    `--npy`, `--out-dir`, `export --out`, `fid --save-stats`): an existing file is replaced only
    with --force, so a typo or a rerun never silently destroys a result."""
    from ganlab.errors import ConfigError

    if Path(path).is_file() and not force:
        raise ConfigError(f"{flag} {str(path)!r} already exists; pass --force to replace it, or choose another name")


def previous_path(path: Path) -> Path:
    return Path(path).with_name(Path(path).stem + ".previous" + Path(path).suffix)


def atomic_write_bytes(path: Path, write: Callable[[IO[bytes]], object], keep_previous: bool = False) -> None:
    """Writes through `write(fileobj)` into a temp file beside `path`, fsyncs, then renames.

    A crash at any moment leaves either the old file or the new one, never a torn file
    under the final name (rename is atomic on POSIX within one filesystem). The file gets the
    mode the process umask gives a new file (0644 under umask 022), as `open(path, "w")` would.
    """
    path = Path(path)
    fd, tmp = _create_temp(path)
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


def unwritable(folder: Path) -> OSError | None:
    """None when this process can create a file in `folder`; else the OSError that writing there
    gets (EROFS, EACCES, ENOSPC...), found by creating and removing an empty temp file.

    A probe, not os.access: access() answers for the real uid and knows nothing of a full disk or
    a quota, and commands that check first can then fail before an hour of work, not after it.
    """
    try:
        fd, tmp = _create_temp(Path(folder) / "probe")
    except OSError as exc:
        return exc
    os.close(fd)
    Path(tmp).unlink(missing_ok=True)
    return None


def reason(exc: OSError) -> str:
    """An OSError in words without its path ("No space left on device"), for messages that name
    the file themselves."""
    return exc.strerror or str(exc) or type(exc).__name__


def _create_temp(path: Path) -> tuple[int, Path]:
    """An exclusive new temp file beside `path`, opened for writing, with mode 0o666 minus the umask.

    tempfile.mkstemp would create it 0600 and the rename keeps that mode, so colleagues on a shared
    filesystem could not read results (issue 19). Asking the kernel for 0o666 lets it apply the
    umask itself (and a directory's default ACL, where one is set), which no fchmod after the
    fact gets right; reading the umask would also need os.umask(0) and back, which races with other
    threads creating files in between. O_EXCL and a random name do what mkstemp does.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # a leftover of a crashed write with the same random name
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


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
