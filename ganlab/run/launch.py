"""`ganlab train --nproc N`: starts N ranks of the same command on this machine through
torch.distributed.run (torchrun's own code: rendezvous, elastic restarts, ending the group when a
worker fails). Checks what would fail in every worker before starting any."""

from __future__ import annotations

import logging
import os
import socket
import sys

from ganlab.errors import ConfigError, GanlabError


class WorkersFailed(GanlabError):
    """A worker failed; it printed its own `Error:` line, so this one is silent (exit 1)."""

    silent = True


def check(nproc: int, max_restarts: int, port: int | None, device: str) -> None:
    """Bad --nproc / --max-restarts / --port, named before any process starts."""
    import torch

    if nproc < 1:
        raise ConfigError(f"--nproc must be an integer >= 1, got {nproc}; pass --nproc 1 or more")
    if max_restarts < 0:
        raise ConfigError(f"--max-restarts must be an integer >= 0, got {max_restarts}; pass 0 (no restarts) or more")
    on_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if on_cuda and nproc > gpus:
        fix = f"pass --nproc {gpus} or less" if gpus else "pass --device cpu"
        raise ConfigError(f"--nproc {nproc} starts one process per GPU, but torch sees {gpus} CUDA GPU(s); {fix}")
    if port is not None:
        check_port(port)


def check_port(port: int, host: str = "127.0.0.1") -> None:
    if not 0 < port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {port}; or leave it out for a free port")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"rendezvous port {port} on {host} is in use ({exc.strerror}); pass another --port, "
                "or leave it out for a free one"
            ) from exc


def launch(nproc: int, argv: list[str], max_restarts: int = 0, port: int | None = None) -> None:
    """Runs `python -m ganlab <argv>` as `nproc` ranks; returns when all finished, raises
    WorkersFailed when the group failed (after its restarts)."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    endpoint = ["--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}"] if port else ["--standalone"]
    args = parse_args(
        [
            f"--nproc-per-node={nproc}",
            f"--max-restarts={max_restarts}",
            *endpoint,
            "--monitor-interval=0.2",  # how soon a failed worker ends the group
            "-m",
            "ganlab",
        ]
    )
    args.training_script_args = argv  # set after parsing: argparse would read --nproc as its own flag
    # torchrun's agent logs each rendezvous, restart and worker exit at INFO/WARNING/ERROR; the
    # workers print their own one-line errors, so the console keeps to those
    for name in ("torch.distributed.run", "torch.distributed.elastic", "torch.distributed.launcher"):
        logging.getLogger(name).setLevel(os.environ.get("GANLAB_TORCHRUN_LOG", "CRITICAL"))
    try:
        run(args)
    except ChildFailedError as exc:
        raise WorkersFailed(f"a worker of `ganlab {' '.join(argv)}` failed") from exc


def worker_argv(argv: list[str], name: str | None) -> list[str]:
    """The command each worker runs: this one (a worker started by torchrun ignores --nproc), with
    the run's name fixed, so a group that torchrun restarts finds the run its first attempt made."""
    argv = list(argv)
    if name is not None and not any(a == "--name" or a.startswith("--name=") for a in argv):
        argv += ["--name", name]
    return argv


def this_command() -> list[str]:
    """`ganlab`'s arguments as typed (sys.argv after the program name)."""
    return sys.argv[1:]
