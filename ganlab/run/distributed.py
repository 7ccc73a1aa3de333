"""Data-parallel training under torchrun (issue 13): which rank this process is, the process group,
the slice of the global batch a rank keeps, DDP wrapping, and the few collectives the loop needs.

Semantics: --batch-size is the global batch. Every rank draws the same global minibatch and noise
from the run's seed (the generators stay in lockstep) and keeps rows [rank*B/N, (rank+1)*B/N); a
loss is the mean over the local rows and DDP averages gradients over ranks, which is the gradient
of the mean over the global batch. So N ranks equal one process up to reduction order, and a
checkpoint does not depend on how many processes wrote it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Iterator

import torch
from torch import Tensor, nn

from ganlab.errors import ConfigError, GanlabError
from ganlab.run.callback import Callback

# seconds a collective may wait for a rank before the group gives up: a rank lost on another node
# ends in an error instead of a hang (torchrun's agent ends the ranks on its own node sooner)
TIMEOUT_ENV = "GANLAB_DDP_TIMEOUT"
DEFAULT_TIMEOUT_S = 600


class Stopped(GanlabError):
    """Another rank failed; that rank's message is printed once by rank 0, so this one is silent."""

    silent = True


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def local(self, n: int) -> int:
        """This rank's share of a global count (checked divisible in `check_batch`)."""
        return n // self.size

    def slice(self, batch: Tensor) -> Tensor:
        """Rows [rank*n/N, (rank+1)*n/N) of a global batch."""
        k = batch.shape[0] // self.size
        return batch[self.rank * k : (self.rank + 1) * k]


def from_env() -> World:
    """The rank torchrun gave this process (RANK, WORLD_SIZE, LOCAL_RANK); one process otherwise."""
    return World(
        rank=int(os.environ.get("RANK", "0")),
        size=int(os.environ.get("WORLD_SIZE", "1")),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
    )


def under_torchrun() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ or "LOCAL_RANK" in os.environ


def restarted() -> bool:
    """True in a group torchrun restarted after a worker failed (--max-restarts)."""
    return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")) > 0


def check_batch(batch_size: int, size: int, pack: int = 1) -> None:
    """The global batch splits evenly among the ranks, and each rank's share into --pack groups."""
    if size > 1 and batch_size % (size * pack):
        unit = size * pack
        what = f"{size} processes" if pack == 1 else f"{size} processes in groups of --pack {pack}"
        raise ConfigError(
            f"--batch-size {batch_size} is the global batch and must divide evenly among {what}; "
            f"pass a multiple of {unit}, e.g. --batch-size {max(unit, batch_size // unit * unit)}"
        )


def init() -> World:
    """Joins the process group torchrun describes (once per process): nccl for CUDA tensors (one GPU
    per rank), gloo for CPU tensors. One process (no torchrun, or WORLD_SIZE=1) needs no group."""
    import torch.distributed as dist

    world = from_env()
    if not world.distributed or dist.is_initialized():
        return world
    timeout = timedelta(seconds=float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S)))
    backend = "gloo"
    if torch.cuda.is_available():  # both: a run on --device cpu on a GPU machine still works
        backend = "cpu:gloo,cuda:nccl"
        if world.local_rank < torch.cuda.device_count():
            torch.cuda.set_device(world.local_rank)
    dist.init_process_group(
        backend, store=_attempt_store(timeout), rank=world.rank, world_size=world.size, timeout=timeout
    )
    return world


def _attempt_store(timeout: timedelta) -> Any:
    """torchrun's store, with keys of this attempt only. After a restart (--max-restarts) the
    agent's store still holds the killed workers' addresses under the same keys, and gloo would
    dial a dead process; a prefix per attempt keeps the new group to itself."""
    import torch.distributed as dist
    from torch.distributed.rendezvous import rendezvous

    store, _rank, _size = next(rendezvous("env://", timeout=timeout))
    return dist.PrefixStore(f"ganlab/attempt_{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}", store)


def device_for(device: torch.device, world: World) -> torch.device:
    """One GPU per rank: cuda -> cuda:LOCAL_RANK under torchrun."""
    if device.type == "cuda" and world.distributed and device.index is None:
        torch.cuda.set_device(world.local_rank)
        return torch.device("cuda", world.local_rank)
    return device


def sync_batchnorm(net: Any, device: torch.device, world: World) -> Any:
    """BatchNorm over the global batch on CUDA (SyncBatchNorm). torch's SyncBatchNorm runs on GPUs
    only, so on the CPU (gloo) each rank normalises over its own slice and keeps its own running
    statistics; rank 0's are the ones checkpoints save."""
    if world.distributed and device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(net)
    return net


def wrap(net: nn.Module, device: torch.device, world: World) -> nn.Module:
    """DDP around a network; the module itself when there is one process. Buffers are not synced
    on each forward: D runs on real and on fake before one backward, and a buffer overwritten in
    between would invalidate what autograd saved (BatchNorm's running statistics)."""
    if not world.distributed:
        return net
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(net, device_ids=ids, forward_sync_buffers=False)


def mean_over_ranks(row: dict[str, Any], world: World) -> dict[str, Any]:
    """A logging step's host numbers averaged over ranks (one all_reduce); the step and counters
    (ints) are the same on every rank and stay as they are."""
    if not world.distributed:
        return row
    import torch.distributed as dist

    names = [k for k, v in row.items() if isinstance(v, float)]
    if not names:
        return row
    values = torch.tensor([row[k] for k in names], dtype=torch.float64)
    dist.all_reduce(values)
    means = (values / world.size).tolist()
    return row | dict(zip(names, means, strict=True))


def agree(failure: BaseException | None, world: World) -> None:
    """Every rank calls this at the same point: when any rank failed, every rank raises. The failing
    rank (the lowest, if several) is named; rank 0 raises its message, the others a silent Stopped,
    so the user reads one `Error:` line and every process exits 1. One int all_reduce when none failed."""
    if not world.distributed:
        if failure is not None:
            raise failure
        return
    import torch.distributed as dist

    flag = torch.tensor([1 if failure is not None else 0])
    dist.all_reduce(flag)
    if not int(flag):
        return
    messages: list[Any] = [None] * world.size
    dist.all_gather_object(messages, None if failure is None else _describe(failure))
    first = next(r for r, m in enumerate(messages) if m is not None)
    if world.is_main and failure is not None and first == 0:
        raise failure  # the runner's own handling (summary status, cleanup) sees the real error
    if world.is_main:
        raise GanlabError(f"rank {first}: {messages[first]}")
    if failure is not None and not isinstance(failure, GanlabError):
        raise failure  # a bug: keep its traceback on the rank that hit it
    raise Stopped(f"rank {world.rank} stopped: rank {first} failed")


# What gloo and nccl raise on a rank whose peer died in the middle of a collective (a rank whose
# step raised exits, and its socket closes under the others' all_reduce in DDP's backward)
PEER_LOST = ("Connection closed by peer", "Connection reset by peer", "Broken pipe", "remote worker", "aborted")


@contextmanager
def peer_failures(world: World) -> Iterator[None]:
    """A collective that fails because another rank died becomes a silent Stopped on this rank.
    The rank that failed printed its own `Error:` line (a plugin error, a NaN) or torchrun reports
    it (a kill), so the user reads one line, every process exits 1, and rank 0's runner treats it
    like any other failure (a run with no checkpoint yet leaves no folder)."""
    try:
        yield
    except RuntimeError as exc:
        backend_error = getattr(torch.distributed, "DistBackendError", ())
        text = str(exc)
        if world.distributed and (isinstance(exc, backend_error) or any(m in text for m in PEER_LOST)):
            first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
            raise Stopped(f"rank {world.rank} stopped: another rank failed ({first})") from exc
        raise


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, GanlabError) else f"{type(exc).__name__}: {exc}"


class Gate(Callback):
    """Keeps the ranks of a DDP run in step around the loop's callbacks. `local` ones (recorder,
    progress, loggers) run on rank 0 alone; `collective` ones (evaluation, which samples on every
    rank) run on every rank, first and always, so their collectives match. Statistics are averaged
    before they are logged, and a failure in a callback (a full disk on rank 0) stops every rank at
    the end of that step (`agree`)."""

    def __init__(self, world: World, local: list[Callback], collective: list[Callback] | None = None):
        self.world = world
        self.collective = list(collective or [])
        self.local = local if world.is_main else []
        self.failure: BaseException | None = None

    def _run(self, event: str, *args: Any) -> None:
        for cb in self.collective:
            self._call(cb, event, *args)
        for cb in self.local:
            if self.failure is None:
                self._call(cb, event, *args)

    def _call(self, cb: Callback, event: str, *args: Any) -> None:
        try:
            getattr(cb, event)(*args)
        except Exception as exc:  # noqa: BLE001 - handed to every rank by agree()
            self.failure = self.failure or exc

    def on_start(self, trainer: Any) -> None:
        self._run("on_start", trainer)
        self._agree()

    def on_log(self, trainer: Any, stats: dict[str, float]) -> None:
        self._run("on_log", trainer, mean_over_ranks(stats, self.world))

    def on_step(self, trainer: Any, stats: dict[str, Any]) -> None:
        self._run("on_step", trainer, stats)
        self._agree()

    def on_end(self, trainer: Any, timing: dict[str, Any]) -> None:
        self._run("on_end", trainer, timing)
        self._agree()

    def _agree(self) -> None:
        failure, self.failure = self.failure, None
        agree(failure, self.world)


@contextmanager
def agreeing(world: World) -> Iterator[None]:
    """Runs a block on every rank and agrees on its outcome afterwards (see `agree`)."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001
        agree(exc, world)
        raise
    agree(None, world)


def broadcast(value: Any, world: World) -> Any:
    """Rank 0's `value` on every rank (a picklable object: a config, a training state)."""
    if not world.distributed:
        return value
    import torch.distributed as dist

    box = [value if world.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def share(n: int, world: World) -> tuple[int, int]:
    """[start, stop) of this rank's rows of n (evaluation samples), contiguous and in rank order,
    so gathering the ranks' rows in rank order gives the 1-process order back."""
    per = -(-n // world.size)
    start = min(n, world.rank * per)
    return start, min(n, start + per)


def gather_rows(rows: Any, world: World) -> Any:
    """Every rank's rows (an array or a tensor, (k, ...)), concatenated in rank order, on every rank."""
    if not world.distributed:
        return rows
    import numpy as np
    import torch.distributed as dist

    parts: list[Any] = [None] * world.size
    host = rows.cpu() if isinstance(rows, Tensor) else rows
    dist.all_gather_object(parts, host)
    if isinstance(rows, Tensor):
        return torch.cat(parts).to(rows.device)
    return np.concatenate(parts)


def shutdown(together: bool = True) -> None:
    """Leaves the group; `together`: the ranks first wait for each other (rank 0 writes the summary
    after the last step). A rank that leaves alone while another still talks to it can abort at
    exit (`terminate called without an active exception`)."""
    import gc

    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        gc.collect()  # DDP reducers of finished trainers hold the group
        if together:
            dist.barrier()
        dist.destroy_process_group()
