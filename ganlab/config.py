"""The run configuration: one dataclass with a reason for every default; TOML in, dict out."""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganlab.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib


@dataclass
class RunConfig:
    # --- what to train -------------------------------------------------------------------
    loss: str = "minimax"  # the original objective of Goodfellow et al. 2014
    arch: str = "dcgan"  # Radford et al. 2015; the default pairing of the main job
    data: str = "digits"  # scikit-learn's bundled digits: real images, no download
    loss_options: dict[str, Any] = field(default_factory=dict)  # e.g. {a=0, b=1, c=1} for lsgan
    arch_options: dict[str, Any] = field(default_factory=dict)  # e.g. {width=32} for dcgan
    data_options: dict[str, Any] = field(default_factory=dict)  # passed to the dataset plugin
    data_root: str | None = None  # where torchvision sets / image folders live on disk
    image_size: int | None = None  # None: the dataset's own default size

    # --- Algorithm 1 of Goodfellow et al. 2014 ------------------------------------------
    steps: int = 1500  # generator updates; the default job takes about 1-2 minutes on 2 CPU cores
    d_steps: int = 1  # k discriminator updates per generator update (the paper used k=1)
    batch_size: int = 64  # m in Algorithm 1; DCGAN used 128, 64 keeps CPU steps quick
    latent_dim: int = 100  # z in R^100 ~ N(0, I), as in the DCGAN paper
    # PacGAN (Lin et al. 2018): D judges m samples at once, concatenated along channels (images) or
    # features (points), real with real and fake with fake; batch_size / pack decisions per batch.
    # 1: the unpacked D of Algorithm 1.
    pack: int = 1

    # --- optimisation -----------------------------------------------------------------------
    optimizer: str = "adam"  # "adam" (DCGAN's choice) or "sgd" (momentum SGD, the 2014 paper's)
    lr_g: float = 2e-4  # DCGAN paper: 0.0002
    # D learns 4x slower than G. Measured on the default job (minimax, dcgan, digits 16 px):
    # at 2e-4 D wins within 1,000-1,500 steps (seeds 0 and 1, batch 64 and 128), D(G(z)) -> 0
    # and the saturating generator gradient vanishes (norm ~1e-6), exactly the failure
    # Goodfellow et al. 2014 describe; at 5e-5 the game stays balanced past 2,000 steps.
    lr_d: float = 5e-5
    # "constant", or both learning rates fall to 0 at `steps`: "linear" or "cosine" (half a cosine).
    # Issue 15: a decaying rate is what sharpens the toy mixtures' samples (examples/toy/)
    lr_schedule: str = "constant"
    beta1: float = 0.5  # DCGAN paper: 0.9 oscillated, 0.5 stabilised training
    beta2: float = 0.999  # Adam's default
    momentum: float = 0.5  # SGD only; Goodfellow et al. 2014 started at 0.5

    # --- bookkeeping ------------------------------------------------------------------------
    on_nan: str = "stop"  # a NaN/Inf loss: "stop" the run, or "skip-batch" (drop that update)
    seed: int = 0  # same seed on the CPU -> bit-identical weights
    device: str = "auto"  # auto: cuda when available, else cpu
    name: str | None = None  # run folder name under runs_dir; None: <loss>-<arch>-<data>-<time>
    runs_dir: str = "runs"
    sample_every: int = 250  # write a fixed-noise sample grid every N steps (and at the end)
    checkpoint_every: int = 500  # write the full training state every N steps (and at the end)
    n_samples: int = 64  # images in each sample grid (8 x 8) / points x 40 in each scatter plot
    eval_every: int = 0  # evaluate G every N steps and at the end (ganlab eval's default metrics); 0: never
    eval_n: int | None = None  # generated samples per --eval-every evaluation; None: each metric's default
    # read the step's statistics to the host (metrics.jsonl, progress bar) every N steps and at the
    # last; None: 1 on the CPU (reads are free there), 10 on CUDA (each read waits for the GPU).
    # The resolved value is what config.toml records. Weights do not depend on it.
    log_every: int | None = None

    # --- speed (issue 12); opt-in, so the CPU default stays bit-identical to earlier versions -----
    precision: str = "fp32"  # fp32, or autocast to bf16 / fp16 (fp16 adds a GradScaler per optimizer)
    channels_last: bool = False  # NHWC memory format for G, D and image batches (faster convs on tensor cores)
    compile: bool = False  # torch.compile G and D separately; checkpoints and export use the eager modules
    deterministic: bool = False  # CUDA: no cudnn.benchmark, deterministic kernels; the CPU is deterministic anyway
    # torch's CPU threads; None: $OMP_NUM_THREADS when set, else the physical cores this process may
    # use (hyper-threads share one core's FPU and only add contention for GEMM/conv kernels)
    threads: int | None = None
    # where the loop's scalars and grids go besides metrics.jsonl (always written: the summary and
    # loss curve read it); names from the ganlab.loggers entry points, e.g. ["tensorboard", "mlflow"]
    log: list[str] = field(default_factory=list)
    # EMA of G's weights, ema = D * ema + (1 - D) * G after every generator step (Karras et al.
    # 2018 used 0.999); None: off. Grids, eval, export and sample use it when present.
    ema_decay: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> "RunConfig":
        unknown = sorted(set(values) - set(FIELDS))
        if unknown:
            raise ConfigError(f"unknown key {unknown[0]!r} in {source}; valid keys: {', '.join(FIELDS)}")
        check_quoted_numbers(values, source)
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        """Checks what needs no plugin: ranges and choices. Plugins check their own options."""
        for key in (
            "steps",
            "batch_size",
            "pack",
            "d_steps",
            "latent_dim",
            "sample_every",
            "checkpoint_every",
            "n_samples",
        ):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                flag = flag_name(key)
                raise ConfigError(f"{key} must be an integer >= 1, got {value!r}; set {flag} 1 or more")
        if self.batch_size % self.pack:
            raise ConfigError(
                f"batch_size {self.batch_size} is not a multiple of pack {self.pack}; D judges batch_size / pack "
                f"packed decisions, so set --batch-size to a multiple of {self.pack}"
            )
        for key in ("lr_g", "lr_d"):
            value = getattr(self, key)
            if not isinstance(value, (int, float)) or not value > 0:
                flag = flag_name(key)
                raise ConfigError(
                    f"{key} must be a positive number, got {value!r}; set {flag} above 0, e.g. {flag} 2e-4"
                )
        if not isinstance(self.eval_every, int) or isinstance(self.eval_every, bool) or self.eval_every < 0:
            raise ConfigError(
                f"eval_every must be an integer >= 0, got {self.eval_every!r}; set --eval-every 0 (off) or more"
            )
        for key in ("beta1", "beta2", "momentum"):  # torch would only say "Invalid beta parameter"
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                flag = flag_name(key) if key != "momentum" else "momentum in the config file"
                raise ConfigError(f"{key} must be a number in [0, 1), got {value!r}; set {flag} to e.g. 0.5")
        if self.eval_n is not None and (
            not isinstance(self.eval_n, int) or isinstance(self.eval_n, bool) or self.eval_n < 2
        ):
            raise ConfigError(
                f"eval_n must be an integer >= 2 (a covariance needs two samples), got {self.eval_n!r}; "
                "set --eval-n 2 or more, e.g. --eval-n 1000"
            )
        for key in ("log_every", "threads"):  # None: resolved when the run starts
            value = getattr(self, key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ConfigError(f"{key} must be an integer >= 1, got {value!r}; set {flag_name(key)} 1 or more")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"unknown precision {self.precision!r}; choose {', '.join(PRECISIONS)}")
        for key in ("channels_last", "compile", "deterministic"):
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(f"{key} must be true or false, got {getattr(self, key)!r}")
        if not isinstance(self.log, list) or not all(isinstance(n, str) and n for n in self.log):
            raise ConfigError(f'log must be a list of logger names, got {self.log!r}; e.g. log = ["tensorboard"]')
        if self.ema_decay is not None and (
            isinstance(self.ema_decay, bool)
            or not isinstance(self.ema_decay, (int, float))
            or not 0 < self.ema_decay < 1
        ):
            raise ConfigError(
                f"ema_decay must be a number between 0 and 1 (exclusive), got {self.ema_decay!r}; "
                "e.g. --ema-decay 0.999, or leave it out for no EMA"
            )
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"unknown lr_schedule {self.lr_schedule!r}; choose {', '.join(LR_SCHEDULES)}")
        if self.on_nan not in ("stop", "skip-batch"):
            raise ConfigError(f"unknown on_nan {self.on_nan!r}; choose 'stop' or 'skip-batch'")
        if self.optimizer not in ("adam", "sgd"):
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; choose 'adam' or 'sgd'")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"unknown device {self.device!r}; choose auto, cpu or cuda")
        if self.image_size is not None and (not isinstance(self.image_size, int) or self.image_size < 1):
            raise ConfigError(f"image_size must be a positive integer, got {self.image_size!r}")
        for key in OPTION_TABLES:
            if not isinstance(getattr(self, key), dict):
                raise ConfigError(f"{key} must be a table, got {getattr(self, key)!r}")


PRECISIONS = ("fp32", "bf16", "fp16")
LR_SCHEDULES = ("constant", "linear", "cosine")
FIELDS = [f.name for f in dataclasses.fields(RunConfig)]
# The plugins' option tables: a flag merges into a config file's table key by key (resolve).
OPTION_TABLES = ("loss_options", "arch_options", "data_options")
# Fields whose command-line flag is not simply --field-name.
FLAGS = {"loss_options": "--loss-opt", "arch_options": "--arch-opt", "data_options": "--data-opt"}


# Fields that hold a number: TOML keeps "0.0002" a string, and the range check would then say
# "must be a positive number, got '0.0002'", which reads as if the value were wrong.
NUMERIC = [f.name for f in dataclasses.fields(RunConfig) if str(f.type).split(" |")[0] in ("int", "float")]


def check_quoted_numbers(values: dict[str, Any], source: str) -> None:
    """A number written in quotes (lr_g = "0.0002") gets told to lose the quotes."""
    for key in NUMERIC:
        value = values.get(key)
        if isinstance(value, str) and _is_number(value):
            raise ConfigError(
                f"{key} = {json.dumps(value)} in {source} is a string, not a number; "
                f"write it without quotes: {key} = {value.strip()}"
            )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def flag_name(field: str) -> str:
    """The `ganlab train` flag that sets a RunConfig field."""
    return FLAGS.get(field, "--" + field.replace("_", "-"))


def load_toml(path: str | Path) -> dict[str, Any]:
    """Reads a run config file; a missing or unparsable file is a one-line ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist; pass an existing .toml file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        detail = str(exc).splitlines()[0]
        raise ConfigError(f"config file {str(path)!r} is not valid TOML ({detail}); fix the file") from exc


def resolve(file_values: dict[str, Any] | None, overrides: dict[str, Any], source: str = "config") -> RunConfig:
    """Defaults < config file < command-line flags (only flags the user actually set). An option
    table merges key by key: `--arch-opt g_hidden=256` over a file's `[arch_options] hidden = 128`
    keeps hidden = 128, as a reader of the command line expects."""
    return RunConfig.from_dict(merge(file_values, overrides), source=source)


def merge(file_values: dict[str, Any] | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """`file_values` with the overrides that are set (not None) on top, option tables key by key."""
    merged: dict[str, Any] = dict(file_values or {})
    for key, value in overrides.items():
        if value is None:
            continue
        if key in OPTION_TABLES and isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = {**merged[key], **value}
        merged[key] = value
    return merged


def dump_toml(values: dict[str, Any]) -> str:
    """Writes a flat config (scalars + one level of tables) as TOML that `--config` reads back."""
    scalars = {k: v for k, v in values.items() if not isinstance(v, dict) and v is not None}
    tables = {k: v for k, v in values.items() if isinstance(v, dict)}
    lines = [f"{k} = {_toml_value(v)}" for k, v in scalars.items()]
    for name, table in tables.items():
        lines += ["", f"[{name}]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (int, str)):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {value!r} to TOML")
