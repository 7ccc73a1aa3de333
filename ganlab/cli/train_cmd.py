"""`ganlab train`: flags -> RunConfig -> runner.start / runner.resume, with a progress bar."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from ganlab.cli import options as o
from ganlab.cli.app import app, notice
from ganlab.cli.console import console
from ganlab.cli.options import run_option, run_overrides

DDP_PANEL = "Many processes (DDP)"
NPROC_HELP = (
    "Train with N processes on this machine through torchrun (DistributedDataParallel): one GPU each on "
    "CUDA, gloo on the CPU; --batch-size is the global batch. (default: 1, one process)"
)
RESTARTS_HELP = "With --nproc: torchrun's elastic restarts; a restarted group resumes from the last checkpoint."
PORT_HELP = "With --nproc: the rendezvous port on 127.0.0.1. (default: a free port)"


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
    lr_schedule: o.LrSchedule = None,
    beta1: o.Beta1 = None,
    beta2: o.Beta2 = None,
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
    eval_n: o.EvalN = None,
    log_every: o.LogEvery = None,
    precision: o.Precision = None,
    channels_last: o.ChannelsLast = None,
    compile: o.Compile = None,
    deterministic: o.Deterministic = None,
    threads: o.Threads = None,
    log: Annotated[Optional[list[str]], run_option("log")] = None,
    ema_decay: o.EmaDecay = None,
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
    nproc: Annotated[Optional[int], typer.Option("--nproc", help=NPROC_HELP, rich_help_panel=DDP_PANEL)] = None,
    max_restarts: Annotated[int, typer.Option("--max-restarts", help=RESTARTS_HELP, rich_help_panel=DDP_PANEL)] = 0,
    port: Annotated[Optional[int], typer.Option("--port", help=PORT_HELP, rich_help_panel=DDP_PANEL)] = None,
) -> None:
    """Train a GAN: k discriminator steps per generator step (Goodfellow et al. 2014, Algorithm 1)."""
    from ganlab.cli import ui
    from ganlab.config import load_toml, resolve
    from ganlab.run import runner
    from ganlab.run.rundir import free_name

    values = dict(locals())
    flags = run_overrides(values)
    if nproc is not None or max_restarts or port is not None:
        from ganlab.run import distributed

        if not distributed.under_torchrun():  # this process starts the ranks; a rank ignores these flags
            _launch(nproc, max_restarts, port, flags, config, resume)
            return
    bar = ui.TrainProgress()
    try:
        if resume is None and _elastic():
            resume = _restarted_run(flags, config)
            if resume is not None:  # the saved config holds the rest
                flags, config = {"steps": flags.get("steps")}, None
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
    if run is None:  # a rank other than 0 under DDP: rank 0 reports
        return
    console.print(ui.train_summary_table(summary))
    console.print(f"run folder   {run.path}")
    console.print(f"samples      {run.path / summary['samples']}")
    console.print(f"loss curve   {run.loss_curve}")


def _launch(
    nproc: Optional[int],
    max_restarts: int,
    port: Optional[int],
    flags: dict,
    config: Optional[Path],
    resume: Optional[Path],
) -> None:
    """--nproc: checks what every rank would refuse, then starts the ranks through torchrun."""
    from ganlab.config import load_toml, resolve
    from ganlab.errors import ConfigError
    from ganlab.run import distributed, launch
    from ganlab.run.rundir import default_name, free_name, open_run

    if nproc is None:
        raise ConfigError("--max-restarts and --port go with --nproc N; add --nproc 2 (or more)")
    if resume is not None:
        cfg = open_run(resume).config()
        device = flags.get("device") or cfg.device
    else:
        cfg = resolve(
            load_toml(config) if config is not None else None, flags, source=str(config) if config else "flags"
        )
        device = cfg.device
    launch.check(nproc, max_restarts, port, device)
    distributed.check_batch(cfg.batch_size, nproc, cfg.pack)
    # a fixed name: a group torchrun restarts resumes the run its first attempt made
    name = None if resume is not None else (cfg.name or free_name(cfg.runs_dir, default_name(cfg)))
    launch.launch(nproc, launch.worker_argv(launch.this_command(), name), max_restarts, port)


def _elastic() -> bool:
    """True in a rank of a group that torchrun may restart (--max-restarts)."""
    import os

    return int(os.environ.get("TORCHELASTIC_MAX_RESTARTS", "0")) > 0


def _restarted_run(flags: dict, config: Optional[Path]) -> Optional[Path]:
    """Under torchrun --max-restarts: the run folder to resume when this group is a restart and its
    first attempt made the folder (rank 0 looks; every rank follows), else None (a new run)."""
    from ganlab.config import load_toml, resolve
    from ganlab.errors import ConfigError
    from ganlab.run import distributed

    cfg = resolve(load_toml(config) if config is not None else None, flags, source=str(config) if config else "flags")
    if cfg.name is None:
        raise ConfigError("torchrun --max-restarts needs a fixed run name to resume from; pass --name NAME")
    if not distributed.restarted():
        return None
    world = distributed.init()
    path = Path(cfg.runs_dir) / cfg.name
    exists = distributed.broadcast((path / "config.toml").is_file() if world.is_main else None, world)
    return path if exists else None
