"""Which torch device a run or an evaluation uses (picked at run time, never at import), and how the
training step uses it: threads, backend flags, autocast, allowed host reads, resident data."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch

from ganlab.errors import ConfigError


def pick_device(name: str) -> torch.device:
    if name not in ("auto", "cpu", "cuda") and not name.startswith("cuda:"):
        raise ConfigError(f"unknown device {name!r}; choose auto, cpu or cuda")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for, but torch sees no CUDA GPU; use --device cpu or auto")
    return torch.device(name)


# --- how the training step uses the device (issue 12) ---------------------------------------------
AMP_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
RESIDENT_SHARE = 0.25  # a dataset lives on the GPU when it takes at most this share of free memory


def physical_cores() -> int:
    """Cores (not hyper-threads) among the CPUs this process may run on; os.cpu_count() where
    Linux's topology files are not there."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    cores = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(((topology / "physical_package_id").read_text(), (topology / "core_id").read_text()))
        except OSError:
            return max(1, len(cpus))
    return max(1, len(cores))


def resolve_threads(threads: int | None) -> int:
    """--threads N, else $OMP_NUM_THREADS (a user's or a scheduler's choice), else the physical cores."""
    if threads is not None:
        return threads
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else physical_cores()


def configure_backends(device: torch.device, deterministic: bool) -> None:
    """cudnn.benchmark picks the fastest conv kernels for the (fixed) batch shape; --deterministic
    trades that for kernels that repeat bit for bit. Process-wide settings; the CPU needs neither."""
    if device.type != "cuda":
        return
    torch.backends.cudnn.benchmark = not deterministic
    torch.backends.cudnn.deterministic = deterministic
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS's requirement for it
        torch.use_deterministic_algorithms(True, warn_only=True)


def autocast(device: torch.device, precision: str):
    """torch.autocast for --precision bf16/fp16; a disabled (no-op) context for fp32."""
    dtype = AMP_DTYPES[precision]
    return torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)


@contextmanager
def host_read(device: torch.device) -> Iterator[None]:
    """Marks a device->host read the step is allowed to make (one decision per update, and the
    statistics on logging steps): the GPU test lane runs steps under
    torch.cuda.set_sync_debug_mode("error"), so every other sync in the step fails there."""
    if device.type != "cuda":
        yield
        return
    mode = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode(0)
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode(mode)


def fits_on_device(nbytes: int, device: torch.device) -> bool:
    if device.type == "cpu":
        return False  # already there: keep the very same tensors (and the CPU RNG streams)
    if device.type != "cuda":
        return False
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes <= RESIDENT_SHARE * free
