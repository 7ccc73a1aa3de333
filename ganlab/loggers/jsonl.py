"""The `jsonl` logger: metrics.jsonl in the run folder, one JSON object per generator step. Every
run writes it (the summary, the loss curve, `compare` and resume read it), so --log jsonl is implied."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from ganlab.loggers.base import Logger


class JsonlLogger(Logger):
    def __init__(self) -> None:
        self.file: IO[str] | None = None

    def on_start(self, run_path: Path, config: dict[str, Any], step: int) -> None:
        # append: a resumed run's log was cut back to its checkpoint's step by the runner
        self.file = open(Path(run_path) / "metrics.jsonl", "a", encoding="utf-8")

    def log_scalars(self, step: int, scalars: dict[str, float]) -> None:
        assert self.file is not None, "on_start opens the file"
        row = scalars if "step" in scalars else {"step": step, **scalars}
        self.file.write(json.dumps(row) + "\n")
        # one write(2) per logged step, so `tail -f metrics.jsonl` follows the run (issue 18);
        # durability (fsync) waits for the checkpoint the lines belong with
        self.file.flush()

    def flush(self) -> None:
        """Makes the log durable up to now (before each checkpoint it belongs with)."""
        if self.file is not None:
            self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
