"""`ganlab train`: flags -> RunConfig -> runner.start / runner.resume, with a progress bar."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from ganlab.cli import options as o
from ganlab.cli.app import app, notice
from ganlab.cli.console import console
from ganlab.cli.options import run_option, run_overrides


@app.command()
def train(
    loss: Annotated[Optional[str], run_option("loss")] = None,
    arch: Annotated[Optional[str], run_option("arch")] = None,
    data: Annotated[Optional[str], run_option("data")] = None,
    steps: o.Steps = None,
    d_steps: o.DSteps = None,
    batch_size: o.BatchSize = None,
    pack: o.Pack = None,
    latent_dim: o.LatentDim = None,
    lr_g: o.LrG = None,
    lr_d: o.LrD = None,
    lr_schedule: Annotated[Optional[str], run_option("lr_schedule")] = None,
    optimizer: Annotated[Optional[str], run_option("optimizer")] = None,
    on_nan: Annotated[Optional[str], run_option("on_nan")] = None,
    seed: Annotated[Optional[int], run_option("seed")] = None,
    device: o.Device = None,
    image_size: o.ImageSize = None,
    data_root: o.DataRoot = None,
    name: Annotated[Optional[str], run_option("name")] = None,
    runs_dir: Annotated[Optional[str], run_option("runs_dir")] = None,
    sample_every: o.SampleEvery = None,
    checkpoint_every: o.CheckpointEvery = None,
    eval_every: o.EvalEvery = None,
    log_every: o.LogEvery = None,
    precision: o.Precision = None,
    channels_last: o.ChannelsLast = None,
    compile: o.Compile = None,
    deterministic: o.Deterministic = None,
    threads: o.Threads = None,
    log: Annotated[Optional[list[str]], run_option("log")] = None,
    ema_decay: Annotated[Optional[float], run_option("ema_decay")] = None,
    loss_opt: o.LossOpt = None,
    arch_opt: o.ArchOpt = None,
    data_opt: o.DataOpt = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="TOML run config; flags override it.")] = None,
    resume: Annotated[
        Optional[Path],
        typer.Option(
            "--resume", help="Continue the run in this folder (only --steps, --device and --data-root may change)."
        ),
    ] = None,
) -> None:
    """Train a GAN: k discriminator steps per generator step (Goodfellow et al. 2014, Algorithm 1)."""
    from ganlab.cli import ui
    from ganlab.config import load_toml, resolve
    from ganlab.run import runner
    from ganlab.run.rundir import free_name

    values = dict(locals())
    flags = run_overrides(values)
    bar = ui.TrainProgress()
    try:
        if resume is not None:
            given = {k: v for k, v in flags.items() if v is not None}
            if config is not None:
                given["config"] = config
            run, summary = runner.resume(resume, given, [bar])
        else:
            file_values = load_toml(config) if config is not None else None
            cfg = resolve(file_values, flags, source=str(config) if config else "flags")
            if config is not None and name is None and cfg.name is not None:  # rerunning a saved config
                fresh = free_name(cfg.runs_dir, cfg.name)
                if fresh != cfg.name:
                    notice(f"run {cfg.name!r} exists already; this run is {fresh!r} (pass --name to choose)")
                cfg.name = fresh
            run, summary = runner.start(cfg, [bar])
    finally:
        bar.close()
    console.print(ui.train_summary_table(summary))
    console.print(f"run folder   {run.path}")
    console.print(f"samples      {run.path / summary['samples']}")
    console.print(f"loss curve   {run.loss_curve}")
