"""One writer per run folder: an advisory lock on runs/<name>/.lock, held while a command writes the
run (train, resume, eval, export into the run, study runs) and released by the kernel when the
process ends, however it ends, so a SIGKILLed writer never leaves a stale lock behind.

Readers (compare, sample, fid, export elsewhere) never take it and never wait: every file of a run
is written atomically (ganlab.files), so a reader sees the old file or the new one, never half.

The lock is flock(2) on a file that stays in the folder; it is never deleted, because deleting a
lock file lets a waiter lock the unlinked file while a newcomer locks a fresh one. While held, the
file holds one JSON line naming the holder (pid, host, command, start time), so a second writer's
error can say who to wait for; it is emptied on release.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import inspect
import json
import os
import shlex
import socket
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from ganlab.errors import GanlabNotice, RunError, RunLocked

LOCK_NAME = ".lock"
HOLDER_WAIT_S = 0.5  # a holder writes its details right after taking the lock; wait this long for them
UNSUPPORTED = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS}  # filesystems without flock (some NFS mounts)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Holder:
    pid: int
    host: str
    command: str
    since: float  # time.time() when the lock was taken

    def describe(self) -> str:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        return f"pid {self.pid} on host {self.host} ({self.command}, since {started})"

    def alive(self) -> bool:
        """False only when the pid is known to be gone (on this host); another host cannot be asked."""
        if self.host != socket.gethostname():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except OSError:  # EPERM: it exists, under another user
            return True
        return True


@dataclass
class _Held:
    fd: int
    thread: int
    depth: int = 1


# One process may enter the same run's lock again on the same thread (say a training callback that
# calls evaluate_run on its own run); flock on a second descriptor would refuse it as a stranger.
# Another thread of this process is refused like another process: it is another writer.
_HELD: dict[tuple[int, str], _Held] = {}  # (pid, lock file's real path): a forked child starts afresh
_HELD_GUARD = threading.Lock()


class RunLock:
    """`with RunLock(path):` holds the run's lock for the block, or raises RunLocked naming the
    holder at once. `with RunLock(path).acquire():` does the same with the lock taken first (a
    caller that must clean up when taking it fails). One instance is one acquisition."""

    def __init__(self, run_path: str | Path, command: str | None = None):
        self.run_path = Path(run_path)
        self.path = self.run_path / LOCK_NAME
        self.command = command  # None: this process's command line
        self._key: tuple[int, str] | None = None  # set while this instance holds the lock
        self._acquired = False

    def acquire(self) -> RunLock:
        if self._acquired:
            return self
        key = (os.getpid(), os.path.realpath(self.path))
        with _HELD_GUARD:
            held = _HELD.get(key)
            if held is not None and held.thread == threading.get_ident():
                held.depth += 1
                self._key, self._acquired = key, True
                return self
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise RunLocked(self._busy_message(holder)) from None
        except OSError as exc:
            os.close(fd)
            if exc.errno not in UNSUPPORTED:
                raise RunError(
                    f"cannot lock run {str(self.run_path)!r} ({exc.strerror or exc}); "
                    f"check {str(self.path)!r} and the filesystem"
                ) from exc
            warnings.warn(
                GanlabNotice(
                    f"the filesystem of run {str(self.run_path)!r} does not support file locks "
                    f"({exc.strerror}); nothing stops a second command from writing it at the same time"
                ),
                stacklevel=2,
            )
            self._acquired = True
            return self
        holder = Holder(os.getpid(), socket.gethostname(), self.command or command_line(), time.time())
        _write_holder(fd, holder)
        with _HELD_GUARD:
            _HELD[key] = _Held(fd, threading.get_ident())
        self._key, self._acquired = key, True
        return self

    def release(self) -> None:
        self._acquired = False
        if self._key is None:  # never held, or on a filesystem without locks
            return
        with _HELD_GUARD:
            held = _HELD[self._key]
            held.depth -= 1
            if held.depth == 0:
                del _HELD[self._key]
        self._key = None
        if held.depth == 0:
            try:
                os.ftruncate(held.fd, 0)  # no holder: nobody to name
            except OSError:
                pass
            os.close(held.fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _open(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)  # a spawned program does not inherit it
        try:
            return os.open(self.path, flags, 0o666)  # mode: as the umask says, like every ganlab file
        except FileNotFoundError:
            raise RunError(
                f"run {str(self.run_path)!r} does not exist; pass a folder under runs/ made by `ganlab train`"
            ) from None
        except OSError as exc:
            raise RunError(
                f"cannot write run {str(self.run_path)!r} ({exc.strerror or exc} on {str(self.path)!r}); "
                "a command that writes a run needs write access to its folder: copy the run to a writable "
                f"folder (cp -r {self.run_path} DEST) and use the copy"
            ) from exc

    def _busy_message(self, holder: Holder | None) -> str:
        who = holder.describe() if holder else f"another process (no details in {str(self.path)!r} yet)"
        return f"run {str(self.run_path)!r} is being written by {who}; wait for it to finish or stop it"


def writer(run_path: str | Path) -> Holder | None:
    """Who is writing the run now, or None: how `compare` tells a run still training from one that
    crashed (both say "running" in summary.json). Never waits.

    A released lock's file is empty, so most runs are answered without touching the lock. A file
    that names a holder is either held or left by a holder that died (SIGKILL, power cut); a
    shared flock, taken and dropped at once, tells which. A writer starting in that instant is
    refused as if another were writing; it can simply run again."""
    path = Path(run_path) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:  # no lock file: no command has written this run since locks exist
        return None
    try:
        try:
            recorded = os.pread(fd, 4096, 0)
        except OSError:
            return None
        if not recorded.strip():
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd) or Holder(0, "?", "?", 0.0)
        except OSError:  # a filesystem without locks: only the pid can tell
            holder = _read_holder(fd)
            return holder if holder is not None and holder.alive() else None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def writes_run(arg: str) -> Callable[[F], F]:
    """Decorates a function that writes the run named by its parameter `arg`: the lock is held for
    the whole call. When `arg` is not a run folder the function runs unlocked and reports that
    itself (its own error names the problem better than a lock could)."""

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def locked(*args: Any, **kwargs: Any) -> Any:
            from ganlab.run.rundir import RunDir  # here: taking a lock must not import torch

            try:
                path = Path(signature.bind(*args, **kwargs).arguments[arg])
            except (TypeError, KeyError):
                return fn(*args, **kwargs)
            if not RunDir(path).config_file.is_file():
                return fn(*args, **kwargs)
            with RunLock(path):
                return fn(*args, **kwargs)

        return locked  # type: ignore[return-value]

    return decorate


def command_line() -> str:
    """This process's command as a user would type it: `ganlab train --resume runs/x`."""
    argv = sys.argv or ["python"]
    program = Path(argv[0]).name
    if program == "__main__.py":  # python -m ganlab
        program = Path(argv[0]).parent.name
    text = shlex.join([program, *argv[1:]])
    return text if len(text) <= 200 else text[:197] + "..."


def _write_holder(fd: int, holder: Holder) -> None:
    data = (json.dumps(holder.__dict__) + "\n").encode("utf-8")
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
    except OSError:  # the details are a courtesy to the next writer; the lock itself is held
        pass


def _read_holder(fd: int) -> Holder | None:
    """The holder's details, waiting briefly for a holder that has just taken the lock (the file
    is empty, or still names a previous holder that died)."""
    deadline = time.monotonic() + HOLDER_WAIT_S
    holder = None
    while True:
        try:
            holder = Holder(**json.loads(os.pread(fd, 4096, 0).decode("utf-8")))
        except (OSError, ValueError, TypeError):
            holder = None
        if (holder is not None and holder.alive()) or time.monotonic() > deadline:
            return holder
        time.sleep(0.01)
