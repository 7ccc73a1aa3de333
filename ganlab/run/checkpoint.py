"""Checkpoint files: atomic save (temp file, fsync, rename), a checksum, the previous good
checkpoint kept beside the new one, and safe load (weights_only, never plain pickle)."""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path
from typing import Any

import torch

from ganlab.errors import GanlabNotice, RunError
from ganlab.files import atomic_write_bytes, previous_path

FORMAT = "ganlab-checkpoint-1"
ENVELOPE = "ganlab-checkpoint-envelope-1"  # {"sha256": hex, "payload": uint8 tensor of the state}


def save(path: Path, state: dict[str, Any]) -> None:
    """Writes the state with a SHA-256 of its bytes; the checkpoint it replaces is kept as
    `<name>.previous.pt`, so a file damaged after writing still leaves one good checkpoint.

    Both layers are serialised in memory and the file gets plain bytes: torch.save writing into
    the file itself turns a full disk into a RuntimeError ("unexpected pos 832 vs 726") instead
    of the OSError (ENOSPC) callers can name (issue 18).
    """
    buf = io.BytesIO()
    torch.save({"format": FORMAT, **state}, buf)
    payload = buf.getbuffer()  # a view, not a copy: the tensor below shares it
    envelope = {
        "format": ENVELOPE,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "payload": torch.frombuffer(payload, dtype=torch.uint8),
    }
    out = io.BytesIO()
    torch.save(envelope, out)
    data = out.getbuffer()
    atomic_write_bytes(Path(path), lambda f: f.write(data), keep_previous=True)


def load_failure_reason(exc: Exception) -> str:
    """The one line of a torch.load failure that says why. torch's weights_only refusal opens with
    advice about trusted sources and puts the reason after a "WeightsUnpickler error:" marker, on
    the same line or the next (torch 2.6+: "Unsupported operand 185")."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
    at = next((i for i, line in enumerate(lines) if "Unpickler error" in line), None)
    if at is None:
        return lines[0]
    return "WeightsUnpickler error: " + (
        lines[at].split("Unpickler error:", 1)[-1].strip() or (lines[at + 1 :] or ["?"])[0]
    )


def _safe_torch_load(source, path: Path):
    try:
        return torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError... on bad files
        raise RunError(
            f"checkpoint {str(path)!r} cannot be loaded safely ({load_failure_reason(exc)}); "
            "it is corrupt or not a ganlab checkpoint"
        ) from exc


def load(path: Path) -> dict[str, Any]:
    """Loads a checkpoint without unpickling code (weights_only=True), onto the CPU, and
    checks its SHA-256."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"checkpoint {str(path)!r} does not exist; train first or pass an existing file")
    state = _safe_torch_load(path, path)
    if isinstance(state, dict) and state.get("format") == ENVELOPE:
        payload = state["payload"].numpy().tobytes()
        if hashlib.sha256(payload).hexdigest() != state.get("sha256"):
            raise RunError(f"checkpoint {str(path)!r} is corrupt (checksum mismatch)")
        state = _safe_torch_load(io.BytesIO(payload), path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise RunError(f"{str(path)!r} is not a ganlab checkpoint (format {FORMAT} expected)")
    return state


def load_or_previous(path: Path) -> dict[str, Any]:
    """`path`, or the previous checkpoint beside it when `path` is missing or damaged (with a
    one-line notice naming both)."""
    try:
        return load(path)
    except RunError as exc:
        previous = previous_path(path)
        if not previous.is_file():
            raise
        state = load(previous)
        warnings.warn(
            GanlabNotice(f"{exc}; using the previous checkpoint {previous.name} (step {state['step']})"), stacklevel=2
        )
        return state
