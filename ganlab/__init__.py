"""ganlab: a command-line lab for generative adversarial networks, and the same lab from Python.

    import ganlab

    run = ganlab.train({"loss": "nonsaturating", "arch": "mlp", "data": "ring", "steps": 300})
    G = ganlab.load_generator(run)          # a run folder, a checkpoint .pt or an exported .onnx
    points = G.sample(2500, seed=0)         # numpy: (n, 2) for points, (n, C, H, W) in [-1, 1] for images
    scores = ganlab.evaluate(run)           # {"modes_covered": {"value": 8.0, ...}, ...}
    rows = ganlab.compare([run])            # the rows `ganlab compare --format json` prints

Each function is a thin door to the module that owns the work, imported on first use, so
`import ganlab` loads neither torch nor onnxruntime.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from ganlab.config import RunConfig
    from ganlab.deploy.sample import LoadedGenerator
    from ganlab.run.callback import Callback

__version__ = "0.1.0"
__all__ = ["__version__", "compare", "evaluate", "load_generator", "train"]


def train(
    config: RunConfig | dict[str, Any] | str | Path | None = None,
    callbacks: Iterable[Callback] = (),
    **overrides: Any,
) -> Path | None:
    """Trains a new run as `ganlab train` does and returns its folder. `config` is a RunConfig, a
    dict of its fields, or a TOML file; keyword arguments override single fields (steps=500).
    Under torchrun every rank trains and rank 0 writes the run; the other ranks get None."""
    import dataclasses

    from ganlab.config import RunConfig, load_toml, resolve
    from ganlab.run import runner

    if isinstance(config, RunConfig):
        values = dataclasses.asdict(config)
    elif isinstance(config, (str, Path)):
        values = load_toml(config)
    else:
        values = dict(config or {})
    run, _ = runner.start(resolve(values, overrides, source="ganlab.train"), callbacks)
    return run.path if run is not None else None


def load_generator(
    source: str | Path, checkpoint: str = "last", provider: str = "auto", latent_dim: int | None = None
) -> LoadedGenerator:
    """A trained generator with `.sample(n, seed=0) -> numpy`: from a run folder or checkpoint
    (torch) or an .onnx file made by `ganlab export` (onnxruntime). The same seed gives the same
    z, so a run and its export sample the same points."""
    from ganlab.deploy.sample import load

    return load(source, provider=provider, checkpoint=checkpoint, latent_dim=latent_dim)


def evaluate(
    run: str | Path, metrics: list[str] | str | None = None, n: int | None = None, **options: Any
) -> dict[str, dict[str, Any]]:
    """Scores a run as `ganlab eval` does (and records the result in its summary.json):
    {metric: {"value", "std", "n", "dims", "feature_net", "step", "better"}}."""
    from ganlab.metrics.evaluate import evaluate_run

    return evaluate_run(run, metrics, n=n, **options)


def compare(paths: Iterable[str | Path], group: bool = True, sort: str | None = None) -> list[dict[str, Any]]:
    """Reads runs (folders or globs) into the rows `ganlab compare --format json` prints: one per
    config with mean and std over seeds (or one per run with group=False)."""
    from ganlab.comparison import rows

    return rows.compare([str(p) for p in paths], group=group, sort=sort).rows
