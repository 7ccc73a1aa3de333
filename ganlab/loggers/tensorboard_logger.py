"""The `tensorboard` logger: event files in RUN/tb/ for `tensorboard --logdir runs`: every scalar
the loop reports (train/...), the sample grids, the config as text, and at the end the run's
hyperparameters with its final metrics (the HPARAMS tab compares runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ganlab.loggers.base import Logger, final_metrics

FOLDER = "tb"


class TensorBoardLogger(Logger):
    def __init__(self, flush_secs: int = 30):
        self.flush_secs = flush_secs  # SummaryWriter buffers events; a crash loses at most this long
        self.writer: Any = None  # a SummaryWriter from on_start (imported there: tensorboard is heavy)
        self.config: dict[str, Any] = {}

    def on_start(self, run_path: Path, config: dict[str, Any], step: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        from ganlab.config import dump_toml

        # purge_step: a resumed run hides the events a killed segment logged after its checkpoint
        # (TensorBoard drops earlier events at steps >= purge_step when it reads the folder)
        purge = step + 1 if step else None
        self.writer = SummaryWriter(str(Path(run_path) / FOLDER), purge_step=purge, flush_secs=self.flush_secs)
        self.config = config
        text = "\n".join("    " + line for line in dump_toml(config).splitlines())  # markdown code block
        self.writer.add_text("config", text, step)

    def log_scalars(self, step: int, scalars: dict[str, float]) -> None:
        for key, value in scalars.items():
            if key != "step":
                self.writer.add_scalar(f"train/{key}", value, step)

    def log_images(self, step: int, image: Path, tag: str = "samples") -> None:
        from PIL import Image

        with Image.open(image) as img:
            pixels = np.asarray(img.convert("RGB"))  # (H, W, 3) uint8
        self.writer.add_image(tag, pixels, step, dataformats="HWC")

    def on_end(self, summary: dict[str, Any]) -> None:
        from torch.utils.tensorboard.summary import hparams

        metrics = final_metrics(summary)
        params = {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in self.config.items()}
        params = {k: ("none" if v is None else v) for k, v in params.items()}
        params["weights"] = summary.get("weights", "raw")
        # what SummaryWriter.add_hparams does, but into this run's own event file, not a subfolder
        for part in hparams(params, metrics):
            self.writer.file_writer.add_summary(part)
        step = int(summary.get("step", 0))
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step)
        self.close()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
