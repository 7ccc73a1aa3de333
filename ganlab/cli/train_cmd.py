"""`ganlab train`: flags -> RunConfig -> runner.start / runner.resume, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ganlab.cli.app import app
from ganlab.config import RunConfig

DEFAULTS = RunConfig()  # help texts quote the real defaults, so they cannot drift
OPT_HELP = "KEY=VALUE option for the {} plugin (TOML value), repeatable, e.g. {}"


def parse_options(pairs: list[str] | None, flag: str) -> dict | None:
    """["a=-1", "b=1"] -> {"a": -1, "b": 1}; values are read as TOML so numbers stay numbers."""
    from ganlab.config import tomllib
    from ganlab.errors import ConfigError

    if not pairs:
        return None
    out = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} {pair!r} is not KEY=VALUE; write e.g. {flag} width=32")
        try:
            out[key.strip()] = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = raw  # a bare word is a string
    return out


@app.command()
def train(
    loss: Optional[str] = typer.Option(
        None, help=f"Loss plugin name (see `ganlab plugins`). (default: {DEFAULTS.loss})"
    ),
    arch: Optional[str] = typer.Option(None, help=f"Architecture plugin name. (default: {DEFAULTS.arch})"),
    data: Optional[str] = typer.Option(None, help=f"Dataset plugin name. (default: {DEFAULTS.data})"),
    steps: Optional[int] = typer.Option(None, help=f"Generator steps. (default: {DEFAULTS.steps})"),
    d_steps: Optional[int] = typer.Option(
        None,
        "--d-steps",
        help=f"k: discriminator steps per generator step (Algorithm 1). (default: {DEFAULTS.d_steps})",
    ),
    batch_size: Optional[int] = typer.Option(None, help=f"Minibatch size m. (default: {DEFAULTS.batch_size})"),
    latent_dim: Optional[int] = typer.Option(None, help=f"Dimension of z. (default: {DEFAULTS.latent_dim})"),
    lr_g: Optional[float] = typer.Option(None, help=f"Generator learning rate. (default: {DEFAULTS.lr_g})"),
    lr_d: Optional[float] = typer.Option(None, help=f"Discriminator learning rate. (default: {DEFAULTS.lr_d})"),
    optimizer: Optional[str] = typer.Option(
        None, help=f"adam or sgd (momentum SGD, as in Goodfellow et al. 2014). (default: {DEFAULTS.optimizer})"
    ),
    on_nan: Optional[str] = typer.Option(
        None, "--on-nan", help=f"NaN/Inf loss: stop, or skip-batch (drop that update). (default: {DEFAULTS.on_nan})"
    ),
    seed: Optional[int] = typer.Option(
        None, help=f"Random seed; same seed on the CPU gives identical weights. (default: {DEFAULTS.seed})"
    ),
    device: Optional[str] = typer.Option(None, help=f"auto, cpu or cuda. (default: {DEFAULTS.device})"),
    image_size: Optional[int] = typer.Option(None, help="Image side in pixels. (default: the dataset's)"),
    data_root: Optional[str] = typer.Option(None, help="Folder holding dataset files (torchvision sets, folder)."),
    name: Optional[str] = typer.Option(None, help="Run folder name. (default: <loss>-<arch>-<data>-<time>)"),
    runs_dir: Optional[str] = typer.Option(None, help=f"Where run folders go. (default: {DEFAULTS.runs_dir})"),
    sample_every: Optional[int] = typer.Option(
        None, help=f"Write a sample grid every N steps. (default: {DEFAULTS.sample_every})"
    ),
    checkpoint_every: Optional[int] = typer.Option(
        None, help=f"Write a checkpoint every N steps. (default: {DEFAULTS.checkpoint_every})"
    ),
    eval_every: Optional[int] = typer.Option(
        None,
        help="Evaluate every N steps and at the end (ganlab eval's default metrics), keeping best and last; 0: off. (default: 0)",
    ),
    loss_opt: Optional[list[str]] = typer.Option(None, "--loss-opt", help=OPT_HELP.format("loss", "--loss-opt a=-1")),
    arch_opt: Optional[list[str]] = typer.Option(
        None, "--arch-opt", help=OPT_HELP.format("arch", "--arch-opt width=32")
    ),
    data_opt: Optional[list[str]] = typer.Option(
        None, "--data-opt", help=OPT_HELP.format("dataset", "--data-opt channels=1")
    ),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML run config; flags override it."),
    resume: Optional[Path] = typer.Option(
        None, "--resume", help="Continue the run in this folder (only --steps may change)."
    ),
) -> None:
    """Train a GAN: k discriminator steps per generator step (Goodfellow et al. 2014, Algorithm 1)."""
    from ganlab.cli import ui
    from ganlab.config import load_toml, resolve
    from ganlab.errors import ConfigError
    from ganlab.run import runner

    flags = dict(
        loss=loss,
        arch=arch,
        data=data,
        steps=steps,
        d_steps=d_steps,
        batch_size=batch_size,
        latent_dim=latent_dim,
        lr_g=lr_g,
        lr_d=lr_d,
        optimizer=optimizer,
        on_nan=on_nan,
        seed=seed,
        device=device,
        image_size=image_size,
        data_root=data_root,
        name=name,
        runs_dir=runs_dir,
        sample_every=sample_every,
        checkpoint_every=checkpoint_every,
        eval_every=eval_every,
        loss_options=parse_options(loss_opt, "--loss-opt"),
        arch_options=parse_options(arch_opt, "--arch-opt"),
        data_options=parse_options(data_opt, "--data-opt"),
    )
    bar = ui.TrainProgress()
    try:
        if resume is not None:
            extra = sorted(k for k, v in flags.items() if v is not None and k != "steps")
            if extra or config is not None:
                given = extra[0] if extra else "config"
                raise ConfigError(
                    f"--resume continues a run with its saved config; drop --{given.replace('_', '-')} "
                    "(only --steps may change)"
                )
            run, summary = runner.resume(resume, steps, [bar])
        else:
            file_values = load_toml(config) if config is not None else None
            cfg = resolve(file_values, flags, source=str(config) if config else "flags")
            run, summary = runner.start(cfg, [bar])
    finally:
        bar.close()
    ui.console.print(ui.train_summary_table(summary))
    ui.console.print(f"run folder   {run.path}")
    ui.console.print(f"samples      {run.path / summary['samples']}")
    ui.console.print(f"loss curve   {run.loss_curve}")
