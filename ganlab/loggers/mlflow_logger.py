"""The `mlflow` logger (`pip install 'ganlab[mlflow]'`): one MLflow run per ganlab run, with the
config as parameters, every scalar as a metric series, the sample grids as artifacts and the final
metrics. The tracking store is $MLFLOW_TRACKING_URI when set, else MLflow's own local default in
the working folder (MLflow 3: sqlite:///mlflow.db with artifacts in ./mlruns; MLflow 2: the file
store ./mlruns), which `mlflow ui` started in the same folder shows. A resumed ganlab run continues
the same MLflow run."""

from __future__ import annotations

import importlib.util
import logging
import time
from pathlib import Path
from typing import Any

from ganlab.errors import ConfigError, RunError
from ganlab.loggers.base import Logger, final_metrics, flat_scalars

EXPERIMENT = "ganlab"
RUN_ID_FILE = "mlflow_run_id"  # in the run folder: a resumed run logs into the same MLflow run
BATCH = 500  # metric points per log_batch call; file stores write one file per metric per call


def tracking_uri() -> str:
    """$MLFLOW_TRACKING_URI, else MLflow's default local store for this version."""
    import mlflow

    return mlflow.get_tracking_uri()


class MLflowLogger(Logger):
    def __init__(self, experiment: str = EXPERIMENT):
        if importlib.util.find_spec("mlflow") is None:  # checked before a run folder exists
            raise ConfigError("--log mlflow needs MLflow, which is not installed; pip install 'ganlab[mlflow]'")
        self.experiment = experiment
        self.client: Any = None  # an MlflowClient from on_start
        self.run_id: str | None = None
        self.pending: list = []

    def on_start(self, run_path: Path, config: dict[str, Any], step: int) -> None:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        for name in ("mlflow", "alembic"):  # the store's schema set-up logs INFO lines; the CLI owns the terminal
            logging.getLogger(name).setLevel(logging.WARNING)
        uri = tracking_uri()
        try:
            self.client = MlflowClient(uri)
            found = self.client.get_experiment_by_name(self.experiment)
            exp_id = found.experiment_id if found is not None else self.client.create_experiment(self.experiment)
        except MlflowException as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise RunError(f"cannot open the MLflow tracking store {uri!r} ({first}); set MLFLOW_TRACKING_URI") from exc
        id_file = Path(run_path) / RUN_ID_FILE
        if step and id_file.is_file():  # resumed: the same MLflow run goes on
            self.run_id = id_file.read_text(encoding="utf-8").strip()
            self.client.update_run(self.run_id, status="RUNNING")
            return
        run = self.client.create_run(exp_id, run_name=Path(run_path).name, tags={"ganlab.run": str(run_path)})
        self.run_id = run.info.run_id
        id_file.write_text(self.run_id + "\n", encoding="utf-8")
        from mlflow.entities import Param

        params = [Param(k, str(v)[:500]) for k, v in sorted(config.items())]
        self.client.log_batch(self.run_id, params=params)

    def log_scalars(self, step: int, scalars: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.pending += [Metric(k, float(v), now, step) for k, v in scalars.items() if k != "step"]
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        while self.pending:
            self.client.log_batch(self.run_id, metrics=self.pending[:BATCH])
            self.pending = self.pending[BATCH:]

    def log_images(self, step: int, image: Path, tag: str = "samples") -> None:
        self.client.log_artifact(self.run_id, str(image), artifact_path=tag)

    def on_end(self, summary: dict[str, Any]) -> None:
        from mlflow.entities import Metric

        self.flush()
        now, step = int(time.time() * 1000), int(summary.get("step", 0))
        values = final_metrics(summary) | flat_scalars({"wall_time_s": summary.get("wall_time_s")})
        self.client.log_batch(self.run_id, metrics=[Metric(k, v, now, step) for k, v in values.items()])
        self.client.set_tag(self.run_id, "weights", summary.get("weights", "raw"))
        self.client.set_terminated(self.run_id, "FINISHED")
        self.client = None

    def close(self) -> None:
        if self.client is not None and self.run_id is not None:
            self.flush()
            self.client.set_terminated(self.run_id, "KILLED")  # stopped early; a resume reopens it
            self.client = None
