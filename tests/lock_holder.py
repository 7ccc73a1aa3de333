"""Other processes for the lock tests: one that holds a run's lock through ganlab.run.lock until told
to let go (deterministic, unlike racing two trainings), and a `ganlab` command that has done its
slow imports and waits for a start signal (so two commands really reach the lock together).

    python tests/lock_holder.py RUN [COMMAND]   # prints "held" once it holds RUN's lock; exits at EOF
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

READY_TIMEOUT_S = 120  # importing torch on a loaded 2-core machine can take a while


def _wait_for_line(proc: subprocess.Popen, expected: str) -> None:
    line = proc.stdout.readline()  # blocks until the child prints or exits; bounded by its own work
    if line.strip() != expected:
        proc.kill()
        out, err = proc.communicate(timeout=READY_TIMEOUT_S)
        raise AssertionError(f"helper said {line!r}, not {expected!r}; stderr:\n{err}")


@contextlib.contextmanager
def holding(
    run: Path, command: str = "ganlab train --resume RUN", cwd: Path | None = None
) -> Iterator[subprocess.Popen]:
    """A process that holds `run`'s lock while the block runs, recorded as running `command`."""
    from tests.helpers import process_env  # here: the holder itself imports only ganlab.run.lock

    proc = subprocess.Popen(
        [sys.executable, __file__, str(run), command.replace("RUN", str(run))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=process_env(),
        cwd=cwd,
    )
    try:
        _wait_for_line(proc, "held")
        yield proc
    finally:
        if proc.poll() is None:
            proc.stdin.close()  # EOF: it lets go and exits
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            stream.close()


WARM = """
import sys
import ganlab.cli, ganlab.metrics.evaluate, ganlab.run.runner  # the slow imports, before the signal
print("ready", flush=True)
sys.stdin.readline()
sys.argv = ["ganlab", *sys.argv[1:]]  # what the console script sees, and what the lock records
ganlab.cli.main()
"""


def warm_cli(*args: str, cwd: Path | None = None) -> subprocess.Popen:
    """`ganlab ARGS` in a process that has imported everything and waits for go(proc)."""
    from tests.helpers import process_env

    proc = subprocess.Popen(
        [sys.executable, "-c", WARM, *map(str, args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=process_env(),
        cwd=cwd,
    )
    _wait_for_line(proc, "ready")
    return proc


def go(proc: subprocess.Popen) -> None:
    proc.stdin.write("go\n")
    proc.stdin.flush()


def wait_until_held_by(run: Path, pid: int, timeout: float = READY_TIMEOUT_S) -> None:
    """Until run/.lock names `pid` as its holder (it writes that right after taking the lock)."""
    deadline = time.monotonic() + timeout
    while holder_pid(run) != pid:
        assert time.monotonic() < deadline, f"pid {pid} did not take the lock of {run} in {timeout} s"
        time.sleep(0.01)


def holder_pid(run: Path) -> int | None:
    try:
        return json.loads((run / ".lock").read_text())["pid"]
    except (OSError, ValueError, KeyError):  # no file yet, empty (free), or being written
        return None


def main() -> None:
    from ganlab.run.lock import RunLock

    run, command = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
    with RunLock(run, command):
        print("held", flush=True)
        sys.stdin.read()  # until the test closes stdin, or kills this process


if __name__ == "__main__":
    main()
