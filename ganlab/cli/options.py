"""Option declarations shared by the commands: one help text per setting, defaults read from the
dataclasses that own them (RunConfig, StudySpec, EvalOptions), so help cannot drift from behaviour.

Typer prints `[default: X]` itself for options whose default is a value. Options that default to
None (so that a config file or a run's saved config can supply the value) say their effective
default in the help as "(default: X)": rich would swallow a literal "[default: X]" as markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ganlab.config import RunConfig
from ganlab.metrics.evaluate import EvalOptions
from ganlab.metrics.registry import FID_DIMS, METRICS

RUN = RunConfig()
EVAL = EvalOptions()
STUDY_PANEL = "Study"
OPT_HELP = "KEY=VALUE option for the {} plugin (TOML value), repeatable, e.g. {}"

# One line per RunConfig field a flag sets; the default is appended from RunConfig.
RUN_HELP = {
    "loss": "Loss plugin name (see `ganlab plugins`).",
    "arch": "Architecture plugin name.",
    "data": "Dataset plugin name.",
    "steps": "Generator steps.",
    "d_steps": "k: discriminator steps per generator step (Algorithm 1).",
    "batch_size": "Minibatch size m.",
    "latent_dim": "Dimension of z.",
    "pack": "PacGAN packing: D judges this many samples at once (real with real, fake with fake); divides --batch-size.",
    "lr_g": "Generator learning rate.",
    "lr_d": "Discriminator learning rate.",
    "lr_schedule": "constant, or linear / cosine: both learning rates fall to 0 at --steps.",
    "beta1": "Adam's beta1 (decay of its gradient average; WGAN-GP and SNGAN use 0).",
    "beta2": "Adam's beta2 (decay of its squared-gradient average; WGAN-GP uses 0.9).",
    "optimizer": "adam or sgd (momentum SGD, as in Goodfellow et al. 2014).",
    "on_nan": "NaN/Inf loss: stop, or skip-batch (drop that update).",
    "seed": "Random seed; same seed on the CPU gives identical weights.",
    "device": "auto, cpu or cuda.",
    "image_size": "Image side in pixels.",
    "data_root": "Folder holding dataset files (torchvision sets, folder).",
    "name": "Run folder name.",
    "runs_dir": "Where run folders go.",
    "sample_every": "Write a sample grid every N steps.",
    "checkpoint_every": "Write a checkpoint every N steps.",
    "eval_every": "Evaluate every N steps and at the end (ganlab eval's default metrics), keeping best and last; 0: off.",
    "eval_n": "Generated samples per evaluation of --eval-every, as `ganlab eval --n`.",
    "log_every": "Read statistics to the host (metrics.jsonl, progress bar) every N steps; weights do not depend on it.",
    "precision": "fp32, bf16 or fp16 autocast (losses in fp32; fp16 adds loss scaling).",
    "channels_last": "NHWC memory format for G, D and image batches.",
    "compile": "torch.compile G and D (checkpoints and export keep the eager modules).",
    "deterministic": "CUDA: deterministic kernels, no cudnn.benchmark (the CPU is deterministic anyway).",
    "threads": "torch CPU threads (per run; in a study with --workers, the cores are divided among them unless this is given).",
    "log": "Loggers besides metrics.jsonl, comma-separated or repeated: tensorboard (RUN/tb), mlflow, or a plugin's.",
    "ema_decay": "Keep an EMA of G's weights with this decay, e.g. 0.999; grids, eval, export and sample use it.",
}
# Fields whose RunConfig default is None: what None means.
NONE_MEANS = {
    "image_size": "the dataset's",
    "data_root": "the dataset's own place",
    "name": "<loss>-<arch>-<data>-<time>",
    "eval_n": "the metric's",
    "log_every": "1 on the CPU, 10 on CUDA",
    "threads": "$OMP_NUM_THREADS, else the physical cores",
    "log": "metrics.jsonl only",
    "ema_decay": "off",
}


def default_text(value: Any) -> str:
    return f"(default: {value})"


def run_option(field: str, panel: str | None = None) -> Any:
    """`--field-name` for a RunConfig field; the help ends with the field's default."""
    default = getattr(RUN, field)
    shown = NONE_MEANS[field] if default is None or default == [] else default
    return typer.Option(
        "--" + field.replace("_", "-"), help=f"{RUN_HELP[field]} {default_text(shown)}", rich_help_panel=panel
    )


def plugin_options(kind: str, example: str, panel: str | None = None) -> Any:
    flag = {"loss": "--loss-opt", "arch": "--arch-opt", "dataset": "--data-opt"}[kind]
    return typer.Option(flag, help=OPT_HELP.format(kind, f"{flag} {example}"), rich_help_panel=panel)


# --- settings of a run that `train` and compare's study mode share: one alias each, the Study
# panel's twin prefixed with Study (`steps: Steps = None` in a command's signature)
Steps = Annotated[Optional[int], run_option("steps")]
StudySteps = Annotated[Optional[int], run_option("steps", STUDY_PANEL)]
BatchSize = Annotated[Optional[int], run_option("batch_size")]
StudyBatchSize = Annotated[Optional[int], run_option("batch_size", STUDY_PANEL)]
Pack = Annotated[Optional[int], run_option("pack")]
StudyPack = Annotated[Optional[int], run_option("pack", STUDY_PANEL)]
LatentDim = Annotated[Optional[int], run_option("latent_dim")]
StudyLatentDim = Annotated[Optional[int], run_option("latent_dim", STUDY_PANEL)]
ImageSize = Annotated[Optional[int], run_option("image_size")]
StudyImageSize = Annotated[Optional[int], run_option("image_size", STUDY_PANEL)]
LrG = Annotated[Optional[float], run_option("lr_g")]
StudyLrG = Annotated[Optional[float], run_option("lr_g", STUDY_PANEL)]
LrD = Annotated[Optional[float], run_option("lr_d")]
StudyLrD = Annotated[Optional[float], run_option("lr_d", STUDY_PANEL)]
LrSchedule = Annotated[Optional[str], run_option("lr_schedule")]
StudyLrSchedule = Annotated[Optional[str], run_option("lr_schedule", STUDY_PANEL)]
EmaDecay = Annotated[Optional[float], run_option("ema_decay")]
StudyEmaDecay = Annotated[Optional[float], run_option("ema_decay", STUDY_PANEL)]
Beta1 = Annotated[Optional[float], run_option("beta1")]
StudyBeta1 = Annotated[Optional[float], run_option("beta1", STUDY_PANEL)]
Beta2 = Annotated[Optional[float], run_option("beta2")]
StudyBeta2 = Annotated[Optional[float], run_option("beta2", STUDY_PANEL)]
DSteps = Annotated[Optional[int], run_option("d_steps")]
StudyDSteps = Annotated[Optional[int], run_option("d_steps", STUDY_PANEL)]
Device = Annotated[Optional[str], run_option("device")]
StudyDevice = Annotated[Optional[str], run_option("device", STUDY_PANEL)]
DataRoot = Annotated[Optional[str], run_option("data_root")]
StudyDataRoot = Annotated[Optional[str], run_option("data_root", STUDY_PANEL)]
SampleEvery = Annotated[Optional[int], run_option("sample_every")]
StudySampleEvery = Annotated[Optional[int], run_option("sample_every", STUDY_PANEL)]
CheckpointEvery = Annotated[Optional[int], run_option("checkpoint_every")]
StudyCheckpointEvery = Annotated[Optional[int], run_option("checkpoint_every", STUDY_PANEL)]
EvalEvery = Annotated[Optional[int], run_option("eval_every")]
StudyEvalEvery = Annotated[Optional[int], run_option("eval_every", STUDY_PANEL)]
EvalN = Annotated[Optional[int], run_option("eval_n")]
LogEvery = Annotated[Optional[int], run_option("log_every")]
StudyLogEvery = Annotated[Optional[int], run_option("log_every", STUDY_PANEL)]
Precision = Annotated[Optional[str], run_option("precision")]
StudyPrecision = Annotated[Optional[str], run_option("precision", STUDY_PANEL)]
ChannelsLast = Annotated[Optional[bool], run_option("channels_last")]
StudyChannelsLast = Annotated[Optional[bool], run_option("channels_last", STUDY_PANEL)]
Compile = Annotated[Optional[bool], run_option("compile")]
StudyCompile = Annotated[Optional[bool], run_option("compile", STUDY_PANEL)]
Deterministic = Annotated[Optional[bool], run_option("deterministic")]
StudyDeterministic = Annotated[Optional[bool], run_option("deterministic", STUDY_PANEL)]
Threads = Annotated[Optional[int], run_option("threads")]
StudyThreads = Annotated[Optional[int], run_option("threads", STUDY_PANEL)]
LossOpt = Annotated[Optional[list[str]], plugin_options("loss", "a=-1")]
StudyLossOpt = Annotated[Optional[list[str]], plugin_options("loss", "a=-1", STUDY_PANEL)]
ArchOpt = Annotated[Optional[list[str]], plugin_options("arch", "width=32")]
StudyArchOpt = Annotated[Optional[list[str]], plugin_options("arch", "width=32", STUDY_PANEL)]
DataOpt = Annotated[Optional[list[str]], plugin_options("dataset", "channels=1")]
StudyDataOpt = Annotated[Optional[list[str]], plugin_options("dataset", "channels=1", STUDY_PANEL)]

# --- evaluation settings that `eval`, `fid` and compare's study mode share -----------------------------
METRICS_HELP = f"Comma-separated or repeated: {', '.join(METRICS)}. (default: the best available offline for the data)"
WEIGHTS_HELP = (
    "pytorch-fid's pt_inception-2015-12-05-6726825d.pth. (default: $GANLAB_FID_WEIGHTS, then the torch hub "
    "cache ($TORCH_HOME/hub/checkpoints), downloaded there when online)"
)
DIMS_HELP = f"Inception feature block for FID/KID: {', '.join(map(str, FID_DIMS))} (2048: pool3, the standard)."


def metrics_option(panel: str | None = None) -> Any:
    return typer.Option("--metrics", help=METRICS_HELP, rich_help_panel=panel)


FidWeights = Annotated[Optional[Path], typer.Option("--fid-weights", help=WEIGHTS_HELP)]
Dims = Annotated[int, typer.Option("--dims", help=DIMS_HELP)]
EvalBatch = Annotated[int, typer.Option("--batch-size", help="Images per Inception forward pass.")]
EvalDevice = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")]


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


def run_overrides(values: dict[str, Any]) -> dict[str, Any]:
    """Parameters of the shared run settings -> RunConfig fields (plugin options parsed)."""
    out = {k: v for k, v in values.items() if k in RUN_HELP}  # every RunConfig field a flag sets
    if values.get("log"):  # ["tensorboard,mlflow"] -> ["tensorboard", "mlflow"]
        out["log"] = [name.strip() for value in values["log"] for name in value.split(",") if name.strip()]
    for kind, param in (("loss", "loss_opt"), ("arch", "arch_opt"), ("data", "data_opt")):
        if param in values:
            out[f"{kind}_options"] = parse_options(values[param], "--" + param.replace("_", "-"))
    return out
