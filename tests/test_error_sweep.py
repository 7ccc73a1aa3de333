"""The bad-input sweep: every command's bad arguments, files, plugins and data in one list, each
run through the CLI against a workspace that holds a finished run; docs/errors.md is this list's
real output.

Each case must exit 1 with exactly one `Error:` line, last on stderr, holding the expected words,
print no traceback, and leave every file of the workspace (the run included) byte-identical with
its mtime. Regenerate the doc after changing a message or a case (as a script, so usage errors
name the program `ganlab` as the console script does):

    python tests/test_error_sweep.py docs/errors.md
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

if __name__ == "__main__":  # run as a script to regenerate docs/errors.md: make `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ganlab.run.lock import LOCK_NAME  # noqa: E402
from tests.helpers import (  # noqa: E402
    contract_breakers,
    environ,
    invoke,
    isolated_environ,
    plugins_on_path,
    read_only,
    write_plugin_package,
)
from tests.lock_holder import holding  # noqa: E402

HOLDER = "ganlab train --resume runs/r --steps 5000"  # what the process holding a run's lock is recorded as
DOC = Path(__file__).resolve().parent.parent / "docs" / "errors.md"
SECTIONS = ("train", "eval", "fid", "compare", "export", "sample", "theory", "plugins")


@dataclass(frozen=True)
class Case:
    section: str  # the doc's table
    what: str  # the bad input, in words
    args: tuple[str, ...]  # after `ganlab`
    message: str  # a fragment of the one Error: line
    env: tuple[tuple[str, str], ...] = ()  # extra environment variables
    site: bool = False  # with the fake plugin packages (ganlab-fake, ganlab-fake-two) installed
    held: str = ""  # a run whose lock another process holds meanwhile (tests/lock_holder.py)
    hide: tuple[str, ...] = ()  # modules that cannot be imported, as where they are not installed
    read_only: str = ""  # a folder every write into fails with EROFS, as on a read-only mount (tests.helpers.read_only)
    busy_port: int = 0  # a port another socket listens on meanwhile (a rendezvous port in use)

    @property
    def command(self) -> str:
        return " ".join([*(f"{k}={v}" for k, v in self.env), "ganlab", *self.args])


def C(section: str, what: str, command: str, message: str, **kw) -> Case:
    return Case(section, what, tuple(command.split()), message, **kw)


CASES = [
    # --- train -----------------------------------------------------------------------------------
    C("train", "misspelt loss", "train --loss minmax", "unknown loss 'minmax'; did you mean 'minimax'?"),
    C("train", "misspelt arch", "train --arch dcgann", "unknown arch 'dcgann'; did you mean 'dcgan'?"),
    C("train", "misspelt dataset", "train --data digit", "unknown dataset 'digit'; did you mean 'digits'?"),
    C(
        "train",
        "image size the arch cannot build",
        "train --image-size 12",
        "dcgan cannot build image size 12x12; use --image-size with one of 8, 16, 32, 64, 128",
    ),
    C(
        "train",
        "batch size 0",
        "train --batch-size 0",
        "batch_size must be an integer >= 1, got 0; set --batch-size 1 or more",
    ),
    C(
        "train",
        "batch size not a multiple of --pack",
        "train --batch-size 10 --pack 4",
        "batch_size 10 is not a multiple of pack 4; D judges batch_size / pack packed decisions, so set --batch-size to a multiple of 4",
    ),
    C(
        "train",
        "--pack on a resumed run",
        "train --resume runs/r --pack 2",
        "--resume continues a run with its saved config; drop --pack",
    ),
    C(
        "train",
        "unknown --lr-schedule",
        "train --lr-schedule step",
        "unknown lr_schedule 'step'; choose constant, linear, cosine",
    ),
    C(
        "train",
        "unknown mlp layer option",
        "train --arch mlp --data ring --arch-opt g_norm=layer",
        "mlp option g_norm must be one of",
    ),
    C(
        "train",
        "negative ring training-set size",
        "train --arch mlp --data ring --data-opt n_train=-5",
        "ring option n_train must be a positive integer, got -5",
    ),
    C(
        "train",
        "negative learning rate",
        "train --lr-g -1",
        "lr_g must be a positive number, got -1.0; set --lr-g above 0",
    ),
    C("train", "unknown --on-nan", "train --on-nan ignore", "unknown on_nan 'ignore'; choose 'stop' or 'skip-batch'"),
    C("train", "unknown optimizer", "train --optimizer rmsprop", "unknown optimizer 'rmsprop'; choose 'adam' or 'sgd'"),
    C("train", "unknown --precision", "train --precision fp8", "unknown precision 'fp8'; choose fp32, bf16, fp16"),
    C("train", "--log-every 0", "train --log-every 0", "log_every must be an integer >= 1, got 0; set --log-every 1"),
    C("train", "--threads 0", "train --threads 0", "threads must be an integer >= 1, got 0; set --threads 1"),
    C("train", "unknown device", "train --device tpu", "unknown device 'tpu'; choose auto, cpu or cuda"),
    C(
        "train",
        "EMA decay of 1 (no averaging)",
        "train --ema-decay 1",
        "ema_decay must be a number between 0 and 1 (exclusive), got 1.0",
    ),
    C(
        "train",
        "Adam beta1 of 1",
        "train --beta1 1",
        "beta1 must be a number in [0, 1), got 1.0; set --beta1 to e.g. 0.5",
    ),
    C("train", "--nproc 0", "train --nproc 0", "--nproc must be an integer >= 1, got 0; pass --nproc 1 or more"),
    C(
        "train",
        "--nproc above the visible GPUs",
        "train --device cuda --nproc 999",
        "--nproc 999 starts one process per GPU, but torch sees",
    ),
    C(
        "train",
        "global batch not divisible by the processes",
        "train --nproc 3 --batch-size 64 --device cpu",
        "--batch-size 64 is the global batch and must divide evenly among 3 processes",
    ),
    C(
        "train",
        "rendezvous port in use",
        "train --nproc 2 --port 29487 --device cpu",
        "rendezvous port 29487 on 127.0.0.1 is in use",
        busy_port=29487,
    ),
    C(
        "train",
        "--max-restarts without --nproc",
        "train --max-restarts 2",
        "--max-restarts and --port go with --nproc N",
    ),
    C("train", "misspelt logger", "train --log tensorbord", "unknown logger 'tensorbord'"),
    C("train", "not a number", "train --steps many", "Invalid value for '--steps'"),
    C("train", "unknown flag", "train --bogus", "No such option: --bogus"),
    C(
        "train",
        "option without =",
        "train --arch-opt width",
        "--arch-opt 'width' is not KEY=VALUE; write e.g. --arch-opt width=32",
    ),
    C(
        "train",
        "option the loss does not have",
        "train --loss lsgan --loss-opt d=1",
        "loss 'lsgan' has no option 'd'; valid options: a, b, c",
    ),
    C(
        "train",
        "option value the arch rejects",
        "train --arch-opt width=-3",
        "rejected its options {'width': -3}: dcgan option width must be a positive integer, got -3",
    ),
    C(
        "train",
        "option for a dataset that takes none",
        "train --data-opt channels=3",
        "dataset 'digits' has no option 'channels'; valid options: (none)",
    ),
    C(
        "train",
        "image size for 2D points",
        "train --data ring --image-size 16",
        "dataset 'ring' is points, not images; drop --image-size 16",
    ),
    C(
        "train",
        "data folder for a dataset that reads none",
        "train --data-root bad/empty",
        "dataset 'digits' reads no files; drop --data-root bad/empty",
    ),
    C(
        "train",
        "image folder dataset without a folder",
        "train --data folder",
        "dataset 'folder' needs --data-root DIR",
    ),
    C(
        "train",
        "image folder without images",
        "train --data folder --data-root bad/empty",
        "no images under 'bad/empty'",
    ),
    C(
        "train",
        "image folder with a corrupt PNG",
        "train --data folder --data-root bad/corrupt --image-size 8 --steps 1",
        "cannot read image 'bad/corrupt/b.png'",
    ),
    C(
        "train",
        "data root that does not exist",
        "train --data mnist --data-root bad/nothing",
        "data root 'bad/nothing' does not exist",
    ),
    C(
        "train",
        "data root that is a file",
        "train --data folder --data-root bad/text.txt",
        "data root 'bad/text.txt' is a file, not a folder; pass the folder that holds your images",
    ),
    C(
        "train",
        "image folder where no file can be read, with skip_bad",
        "train --data folder --data-root bad/unreadable --data-opt skip_bad=true --steps 1",
        "none of the 1 images under 'bad/unreadable' could be read (first: 'bad/unreadable/x.png': ",
    ),
    C(
        "train",
        "skip_bad that is not true or false",
        "train --data folder --data-root bad/corrupt --data-opt skip_bad=yes",
        "folder option skip_bad must be true or false, got 'yes'; write e.g. skip_bad=true",
    ),
    C(
        "train",
        "image folder with floating-point pixels",
        "train --data folder --data-root bad/float --steps 1",
        "image 'bad/float/f.tif' holds floating-point pixels, whose range is unknown; save it as 8- or 16-bit",
    ),
    C(
        "train",
        "plugin option number in quotes",
        'train --arch-opt width="32"',
        "dcgan option width must be a positive integer, got '32'; write it without quotes: 32",
    ),
    C(
        "train",
        "config file that does not exist",
        "train --config bad/missing.toml",
        "config file 'bad/missing.toml' does not exist",
    ),
    C(
        "train",
        "config file that is not TOML",
        "train --config bad/broken.toml",
        "config file 'bad/broken.toml' is not valid TOML (Invalid value (at line 1, column 9)); fix the file",
    ),
    C(
        "train",
        "config file with an unknown key",
        "train --config bad/unknown_key.toml",
        "unknown key 'stepz' in bad/unknown_key.toml; valid keys: loss, arch",
    ),
    C(
        "train",
        "config file with a number in quotes",
        "train --config bad/quoted.toml",
        'lr_g = "0.0002" in bad/quoted.toml is a string, not a number; write it without quotes: lr_g = 0.0002',
    ),
    C("train", "resume a folder that does not exist", "train --resume bad/nothing", "run 'bad/nothing' does not exist"),
    C(
        "train",
        "resume a folder that is not a run",
        "train --resume bad/empty",
        "'bad/empty' is not a ganlab run (no config.toml)",
    ),
    C(
        "train",
        "resume to fewer steps than done",
        "train --resume runs/r --steps 2",
        "run 'r' is already at step 4; pass --steps larger than 4 to continue it",
    ),
    C(
        "train",
        "resume with a changed flag",
        "train --resume runs/r --loss lsgan",
        "--resume continues a run with its saved config; drop --loss (only --steps, --device, --data-root may change)",
    ),
    C(
        "train",
        "resume a run whose checkpoints are both damaged",
        "train --resume bad/damaged --steps 8",
        "checkpoint 'bad/damaged/checkpoints/last.previous.pt' cannot be loaded safely (WeightsUnpickler error: ",
    ),
    C(
        "train",
        "resume a run another command is writing",
        "train --resume runs/r --steps 8",
        "run 'runs/r' is being written by pid",
        held="runs/r",
    ),
    C(
        "train",
        "run name that exists",
        "train --name r --steps 1",
        "run 'runs/r' already exists; continue it with --resume runs/r or choose another --name",
    ),
    C(
        "train",
        "run name with a path in it",
        "train --name ../x --steps 1",
        "--name '../x' is not a plain folder name; runs go under --runs-dir 'runs', so pass e.g. --name x",
    ),
    C(
        "train",
        "runs folder that is a file",
        "train --runs-dir bad/text.txt --name x --steps 1",
        "cannot create run folder 'bad/text.txt/x' (Not a directory); pass a writable --runs-dir",
    ),
    C(
        "train",
        "runs folder that cannot be written",
        "train --runs-dir ro --name x --steps 1",
        "cannot create run folder 'ro/x' (Read-only file system); pass a writable --runs-dir",
        read_only="ro",
    ),
    C(
        "train",
        "resume a run that cannot be written",
        "train --resume ro/ring --steps 8",
        "cannot write run 'ro/ring' (Read-only file system on 'ro/ring/.lock'); a command that writes a run needs "
        "write access to its folder: copy the run to a writable folder (cp -r ro/ring DEST) and use the copy",
        read_only="ro",
    ),
    # --- eval ------------------------------------------------------------------------------------
    C(
        "eval",
        "run that cannot be written: the table is printed first",
        "eval ro/ring",
        "could not write 'ro/ring/summary.json' (Read-only file system); the numbers above were not saved: "
        "copy the run to a writable folder (cp -r ro/ring DEST) and evaluate the copy",
        read_only="ro",
    ),
    C("eval", "run that does not exist", "eval bad/nothing", "run 'bad/nothing' does not exist"),
    C("eval", "folder that is not a run", "eval bad/empty", "'bad/empty' is not a ganlab run (no config.toml)"),
    C(
        "eval",
        "run without checkpoints",
        "eval bad/fresh",
        "run 'bad/fresh' has no checkpoint 'last' (bad/fresh/checkpoints/last.pt); train it first",
    ),
    C("eval", "run another command is writing", "eval runs/r", "run 'runs/r' is being written by pid", held="runs/r"),
    C(
        "eval",
        "checkpoint the run does not have",
        "eval runs/r --checkpoint best",
        "run 'runs/r' has no checkpoint 'best' (runs/r/checkpoints/best.pt); pass --checkpoint last",
    ),
    C(
        "eval",
        "run whose checkpoints are both damaged",
        "eval bad/damaged",
        "cannot be loaded safely (WeightsUnpickler error: ",
    ),
    C(
        "eval",
        "misspelt metric",
        "eval runs/r --metrics fdi",
        "unknown metric 'fdi' (did you mean 'fid'?); choose from fid, kid",
    ),
    C(
        "eval",
        "metric for another kind of data",
        "eval runs/r --metrics modes_covered",
        "metric 'modes_covered' needs points, but dataset 'digits' is images; use --metrics classifier_fd",
    ),
    C("eval", "one sample", "eval runs/r --n 1", "--n must be at least 2 (a covariance needs two samples), got 1"),
    C(
        "eval",
        "Inception block that does not exist",
        "eval runs/r --dims 100",
        "unknown FID --dims 100; choose one of 64, 192, 768, 2048",
    ),
    C("eval", "batch size 0", "eval runs/r --batch-size 0", "--batch-size must be an integer >= 1, got 0"),
    C(
        "eval",
        "KID subsets of one sample",
        "eval runs/r --kid-subset-size 1",
        "--kid-subset-size must be an integer >= 2, got 1",
    ),
    C(
        "eval",
        "fewer samples than a KID subset",
        "eval runs/r --metrics kid --n 10",
        "KID needs at least 1000 samples per set (its subset size), got 10; pass --n 1000 or more",
    ),
    C("eval", "unknown device", "eval runs/r --device tpu", "unknown device 'tpu'; choose auto, cpu or cuda"),
    C(
        "eval",
        "EMA weights of a run trained without --ema-decay",
        "eval runs/r --weights ema",
        "has no EMA generator (trained without --ema-decay); pass --weights raw",
    ),
    C(
        "eval",
        "FID weights file that does not exist",
        "eval runs/r --metrics fid --fid-weights bad/missing.pth",
        "FID weights file 'bad/missing.pth' (from --fid-weights) does not exist",
    ),
    C(
        "eval",
        "$GANLAB_FID_WEIGHTS naming a missing file",
        "eval runs/r --metrics fid",
        "FID weights file 'bad/missing.pth' (from GANLAB_FID_WEIGHTS) does not exist",
        env=(("GANLAB_FID_WEIGHTS", "bad/missing.pth"),),
    ),
    C(
        "eval",
        "FID weights file that is not weights",
        "eval runs/r --metrics fid --fid-weights bad/garbage.pt",
        "cannot read FID weights 'bad/garbage.pt' (WeightsUnpickler error: ",
    ),
    C("eval", "no run given", "eval", "Missing argument 'RUN'"),
    # --- fid -------------------------------------------------------------------------------------
    C(
        "fid",
        "folder of images of two sizes",
        "fid bad/mixed digits",
        "mixed image sizes: b.png is 16x16 but a.png is 8x8",
    ),
    C("fid", "folder with a corrupt PNG", "fid bad/corrupt digits", "cannot read image 'bad/corrupt/b.png'"),
    C(
        "fid",
        "folder without images",
        "fid bad/empty digits",
        "folder 'bad/empty' has no image files; FID needs at least 2 images",
    ),
    C(
        "fid",
        ".npz without mu/sigma",
        "fid bad/nomu.npz digits",
        "'bad/nomu.npz' has no mu or sigma array (it holds a)",
    ),
    C("fid", ".npz that is not an archive", "fid bad/garbage.npz digits", "'bad/garbage.npz' is not an .npz archive"),
    C(
        "fid",
        "file that is not statistics",
        "fid bad/text.txt digits",
        "'bad/text.txt' is a file but not a .npz of statistics",
    ),
    C(
        "fid",
        "name that is nothing known",
        "fid nosuch digits",
        "'nosuch' is not an image folder, a .npz file, a run directory or a dataset name",
    ),
    C("fid", "dataset of 2D points", "fid ring digits", "dataset 'ring' is points, not images; FID needs images"),
    C("fid", "run without checkpoints", "fid bad/fresh digits", "run 'bad/fresh' has no checkpoint 'last'"),
    C(
        "fid",
        "--save-stats to a file that is not .npz",
        "fid digits bad/out.txt --save-stats",
        "--save-stats writes a .npz file; name the output bad/out.npz",
    ),
    C(
        "fid",
        "--save-stats over an existing file",
        "fid digits bad/nomu.npz --save-stats",
        "--save-stats 'bad/nomu.npz' already exists; pass --force to replace it, or choose another name",
    ),
    C(
        "fid",
        "--n where no source is a run or a dataset",
        "fid bad/mixed bad/corrupt --n 100",
        "--n applies only to a run or a dataset name (how many images it gives); here both sources are folders: drop --n",
    ),
    C(
        "fid",
        "--image-size where no source is a dataset name",
        "fid bad/nomu.npz bad/mixed --image-size 16",
        "--image-size applies only to a dataset name (the size its images are resized to); here the sources are "
        "a .npz of statistics and a folder: drop --image-size",
    ),
    C(
        "fid",
        "--force without --save-stats",
        "fid digits runs/r --force",
        "--force replaces the file --save-stats writes; without --save-stats nothing is written",
    ),
    C("fid", "Inception block that does not exist", "fid digits runs/r --dims 100", "unknown FID --dims 100"),
    C(
        "fid",
        "FID weights file that is not weights",
        "fid digits runs/r --fid-weights bad/garbage.pt",
        "cannot read FID weights 'bad/garbage.pt' (WeightsUnpickler error: ",
    ),
    C("fid", "unknown device", "fid digits runs/r --device tpu", "unknown device 'tpu'; choose auto, cpu or cuda"),
    C("fid", "one source only", "fid runs/r", "Missing argument 'B'"),
    # --- compare ---------------------------------------------------------------------------------
    C("compare", "glob that matches nothing", "compare bad/nothing/*", "no runs matched 'bad/nothing/*'"),
    C("compare", "folder that holds no run", "compare bad/empty", "no runs matched 'bad/empty'"),
    C(
        "compare",
        "run with a torn summary.json",
        "compare bad/torn",
        "none of the matched runs could be read; skipped 'bad/torn': 'bad/torn/summary.json' is not valid JSON",
    ),
    C(
        "compare",
        "unknown output format",
        "compare runs/r --format xml",
        "unknown --format 'xml'; choose one of: table, json, csv, markdown",
    ),
    C(
        "compare",
        "--plot file matplotlib cannot write",
        "compare runs/r --plot bad/curves.txt",
        "--plot 'bad/curves.txt' must end in .png, .pdf, .svg or another ending matplotlib writes",
    ),
    C("compare", "--grid that is a folder", "compare runs/r --grid bad/empty", "--grid 'bad/empty' is a folder"),
    C(
        "compare",
        "runs and study flags together",
        "compare runs/r --loss lsgan",
        "pass run folders or study flags, not both",
    ),
    C("compare", "nothing to compare", "compare", "nothing to compare; pass run folders or globs"),
    C("compare", "study with an unknown loss", "compare --loss nosuch --steps 1", "unknown loss 'nosuch'"),
    C(
        "compare",
        "study from a missing config file",
        "compare --config bad/none.toml",
        "config file 'bad/none.toml' does not exist",
    ),
    C("compare", "study with no seeds", "compare --seeds 0", "--seeds must be an integer >= 1, got 0"),
    C(
        "compare",
        "study name with a path in it",
        "compare --loss lsgan --study ../x",
        "study name '../x' is not a plain folder name",
    ),
    C(
        "compare",
        "study listing a loss twice",
        "compare --loss lsgan --loss lsgan",
        "--loss lists a name twice (lsgan, lsgan)",
    ),
    C(
        "compare",
        "study evaluated on one sample",
        "compare --loss lsgan --steps 1 --eval-n 1",
        "--eval-n must be an integer >= 2 (a covariance needs two samples), got 1",
    ),
    C(
        "compare",
        "unknown study executor",
        "compare --loss lsgan --executor dask",
        "unknown --executor 'dask'; choose one of: local, ray",
    ),
    C("compare", "study on no workers", "compare --loss lsgan --workers 0", "--workers must be an integer >= 1, got 0"),
    C(
        "compare",
        "Ray address without the Ray executor",
        "compare --loss lsgan --ray-address auto",
        "--ray-address is for Ray; add --executor ray or drop --ray-address",
    ),
    C(
        "compare",
        "Ray cluster that does not answer",
        "compare --loss lsgan --steps 1 --executor ray --ray-address 127.0.0.1:1",
        "cannot reach the Ray cluster at --ray-address 127.0.0.1:1",
    ),
    C(
        "compare",
        "Ray executor where Ray is not installed",
        "compare --loss lsgan --steps 1 --executor ray",
        "--executor ray needs Ray, which is not installed; pip install 'ganlab[ray]'",
        hide=("ray",),
    ),
    # --- export ----------------------------------------------------------------------------------
    C("export", "run that does not exist", "export bad/nothing", "run 'bad/nothing' does not exist"),
    C(
        "export",
        "run that cannot be written, no --out",
        "export ro/ring",
        "cannot write 'ro/ring/generator.onnx' (Read-only file system); pass --out PATH.onnx in a folder you can write",
        read_only="ro",
    ),
    C("export", "folder that is not a run", "export bad/empty", "'bad/empty' is not a ganlab run (no config.toml)"),
    C("export", "unknown --weights", "export runs/r --weights best", "--weights 'best' is unknown; choose ema or raw"),
    C("export", "run without checkpoints", "export bad/fresh", "run 'bad/fresh' has no checkpoint 'last'"),
    C(
        "export",
        "checkpoint the run does not have",
        "export runs/r --checkpoint best",
        "run 'runs/r' has no checkpoint 'best'",
    ),
    C(
        "export",
        "checkpoint file that is not a checkpoint",
        "export bad/garbage.pt",
        "checkpoint 'bad/garbage.pt' cannot be loaded safely (WeightsUnpickler error: ",
    ),
    C(
        "export",
        "into a run another command is writing",
        "export runs/r",
        "run 'runs/r' is being written by pid",
        held="runs/r",
    ),
    C("export", "unknown --output", "export runs/r --output half", "--output 'half' is not one of float, uint8"),
    C(
        "export",
        "opset older than the exporter writes",
        "export runs/r --opset 13",
        "--opset 13 is older than the exporter writes; pass --opset 18 or newer",
    ),
    C(
        "export",
        "opset newer than the exporter writes",
        "export runs/r --opset 99",
        "--opset 99 is newer than the exporter writes; pass --opset 28 or older",
    ),
    C(
        "export",
        "--out that exists",
        "export runs/r --out bad/vector.onnx",
        "--out 'bad/vector.onnx' already exists; pass --force to replace it, or choose another name",
    ),
    C(
        "export",
        "--out without .onnx",
        "export runs/r --out bad/g.txt",
        "--out 'bad/g.txt' must end in .onnx; pass e.g. --out bad/g.onnx",
    ),
    C(
        "export",
        "--out in a folder that does not exist",
        "export runs/r --out bad/nothing/g.onnx",
        "folder 'bad/nothing' for --out does not exist",
    ),
    C("export", "no run given", "export", "Missing argument 'RUN'"),
    # --- sample ----------------------------------------------------------------------------------
    C("sample", "zero samples", "sample runs/r --n 0", "--n must be an integer >= 1, got 0"),
    C(
        "sample",
        "--out in a folder that cannot be written",
        "sample runs/r --out ro/x.png",
        "Read-only file system: 'ro/x.png'; free space, fix permissions or pass another path",
        read_only="ro",
    ),
    C(
        "sample",
        "unknown --weights",
        "sample runs/r --weights average",
        "--weights 'average' is unknown; choose ema or raw",
    ),
    C(
        "sample",
        "interpolation of one step",
        "sample runs/r --interpolate 1",
        "--interpolate must be an integer >= 2 (steps per row, both ends included), got 1",
    ),
    C("sample", "timelapse not a GIF", "sample runs/r --timelapse movie.mp4", "must end in .gif"),
    C(
        "sample",
        "timelapse of an .onnx file",
        "sample --onnx bad/vector.onnx --timelapse t.gif",
        "--timelapse reads a run's sample grids: pass a RUN folder",
    ),
    C("sample", "timelapse of a run without grids", "sample bad/fresh --timelapse t.gif", "has no sample grids"),
    C(
        "sample",
        "neither a run nor --onnx",
        "sample",
        "pass either a RUN folder (torch) or --onnx FILE (onnxruntime), not neither",
    ),
    C("sample", "a run and --onnx", "sample runs/r --onnx bad/vector.onnx", "not both"),
    C(
        "sample",
        ".onnx file that does not exist",
        "sample --onnx bad/missing.onnx",
        "ONNX file 'bad/missing.onnx' does not exist; make one with `ganlab export RUN`",
    ),
    C(
        "sample",
        "random bytes named .onnx",
        "sample --onnx bad/random.onnx",
        "'bad/random.onnx' is not an ONNX model onnxruntime can load ([ONNXRuntimeError] : 7 : INVALID_PROTOBUF",
    ),
    C(
        "sample",
        ".onnx newer than onnxruntime reads",
        "sample --onnx bad/ir99.onnx",
        "failed: Unsupported model IR version: 99",
    ),
    C(
        "sample",
        ".onnx from another tool: an image filter",
        "sample --onnx bad/image-filter.onnx",
        "'bad/image-filter.onnx' does not take a single z of shape (batch, latent_dim)",
    ),
    C(
        "sample",
        ".onnx without ganlab metadata",
        "sample --onnx bad/vector.onnx",
        "'bad/vector.onnx' has no ganlab metadata (not made by `ganlab export`); pass --latent-dim N",
    ),
    C(
        "sample",
        "--latent-dim that does not fit",
        "sample --onnx bad/vector.onnx --latent-dim 4",
        "--latent-dim 4 does not fit 'bad/vector.onnx', whose z has width 8; pass --latent-dim 8",
    ),
    C(
        "sample",
        "unknown provider",
        "sample runs/r --provider gpu",
        "--provider 'gpu' is unknown; choose one of auto, cuda, tensorrt, cpu",
    ),
    C(
        "sample",
        "TensorRT for a torch run",
        "sample runs/r --provider tensorrt",
        "--provider tensorrt runs .onnx files only",
    ),
    C(
        "sample",
        "--latent-dim for a run",
        "sample runs/r --latent-dim 8",
        "--latent-dim is for .onnx files without ganlab metadata",
    ),
    C(
        "sample",
        "--out-dir that holds PNGs",
        "sample runs/r --out-dir bad/corrupt",
        "--out-dir 'bad/corrupt' is not an empty folder",
    ),
    C(
        "sample",
        "--out that is not a picture",
        "sample runs/r --out bad/samples.txt",
        "--out 'bad/samples.txt' must end in .png, .jpg, .pdf or another picture ending; pass e.g. --out bad/samples.png",
    ),
    C(
        "sample",
        "--out that is a run's config",
        "sample runs/r --out runs/r/config.toml",
        "--out 'runs/r/config.toml' must end in",
    ),
    C(
        "sample",
        "--out that is a folder",
        "sample runs/r --out bad/empty",
        "--out 'bad/empty' is a folder; pass a file name",
    ),
    C(
        "sample",
        "--out in a folder that does not exist",
        "sample runs/r --out bad/nothing/s.png",
        "folder 'bad/nothing' for --out does not exist",
    ),
    C(
        "sample",
        "--out that exists",
        "sample runs/r --out bad/mixed/a.png",
        "--out 'bad/mixed/a.png' already exists; pass --force to replace it, or choose another name",
    ),
    C(
        "sample",
        "--npy that exists",
        "sample runs/r --npy bad/old.npy",
        "--npy 'bad/old.npy' already exists; pass --force to replace it",
    ),
    C(
        "sample",
        "--timelapse that exists",
        "sample runs/r --timelapse bad/old.gif",
        "--timelapse 'bad/old.gif' already exists; pass --force to replace it",
    ),
    C(
        "sample",
        "--npy without .npy",
        "sample runs/r --npy bad/samples.txt",
        "--npy 'bad/samples.txt' must end in .npy",
    ),
    C(
        "sample",
        "checkpoint file that is not a checkpoint",
        "sample runs/r --checkpoint bad/garbage.pt",
        "checkpoint 'bad/garbage.pt' cannot be loaded safely",
    ),
    C(
        "sample",
        "run whose checkpoints are both damaged",
        "sample bad/damaged",
        "cannot be loaded safely (WeightsUnpickler error: ",
    ),
    # --- theory ----------------------------------------------------------------------------------
    C(
        "theory",
        "misspelt claim",
        "theory dstr",
        "unknown claim 'dstr'; valid claims: dstar, value, lsgan, saturation, convergence, collapse",
    ),
    C("theory", "unknown output format", "theory --format yaml", "unknown --format 'yaml'; choose table or json"),
    C("theory", "negative seed", "theory --seed -1", "--seed must be an integer from 0 to 4294967295, got -1"),
    C(
        "theory",
        "--loss on a claim whose losses are fixed",
        "theory value --loss nonsaturating",
        "--loss applies to the claims dstar and saturation only, not 'value'",
    ),
    C(
        "theory",
        "--loss whose D loss is not -V, on dstar",
        "theory dstar --loss lsgan",
        "claim 'dstar' does not apply to loss 'lsgan': its d_loss is not -V(D, G)",
    ),
    C("theory", "misspelt loss", "theory --loss minmax", "unknown loss 'minmax'; did you mean 'minimax'?"),
    C(
        "theory",
        "plot folder that is a file",
        "theory lsgan --out bad/text.txt",
        "--out 'bad/text.txt': 'bad/text.txt' is a file, not a folder; pass a folder for the plots",
    ),
    C("theory", "non-integer seed", "theory --seed abc", "Invalid value for '--seed': Input should be a valid integer"),
    # --- plugins ---------------------------------------------------------------------------------
    C("plugins", "argument to `plugins`", "plugins loss", "Got unexpected extra argument(s) (loss)"),
    C("plugins", "unknown flag of `plugins`", "plugins --kind loss", "No such option: --kind"),
    C("plugins", "unknown output format", "plugins --format xml", "unknown --format 'xml'; choose one of: table, json"),
    C(
        "plugins",
        "`--check` with broken and conflicting plugins",
        "plugins --check --format json",
        "plugins are broken or claimed twice: loss 'Shouty', loss 'broken-import', loss 'twin', loss 'wrong-base'",
        site=True,
    ),
    C(
        "plugins",
        "plugin whose module fails to import",
        "train --loss broken-import",
        "loss 'broken-import' (ganlab_fake_sweep_broken:Loss from ganlab-fake==0.0.1) failed to import: "
        "ModuleNotFoundError: No module named 'ganlab_fake_missing_dependency'",
        site=True,
    ),
    C(
        "plugins",
        "plugin that is not a Loss",
        "train --loss wrong-base",
        "is <class 'ganlab_fake_sweep.NotALoss'>, not a subclass of ganlab.losses.base.Loss",
        site=True,
    ),
    C(
        "plugins",
        "one name from two packages",
        "train --loss twin",
        "loss 'twin' is registered by more than one package: ganlab-fake",
        site=True,
    ),
    C("plugins", "plugin name with capitals", "train --loss Shouty", "has an invalid name", site=True),
    C(
        "plugins",
        "loss that returns NaN",
        "train --loss nan-loss --steps 1",
        "loss 'nan-loss' (ganlab_fake_sweep:NaNLoss from ganlab-fake==0.0.1): d_loss returned nan, expected a finite value",
        site=True,
    ),
    C(
        "plugins",
        "arch whose G makes half-size images",
        "train --arch half-size --image-size 8 --steps 1",
        "arch 'half-size' (ganlab_fake_sweep:HalfSizeArch from ganlab-fake==0.0.1): generator returned",
        site=True,
    ),
    C(
        "plugins",
        "loss whose g_loss raises (a relativistic loss without needs_real_logits_in_g)",
        "train --loss forgetful --steps 1",
        "loss 'forgetful' (ganlab_fake_sweep:Forgetful from ganlab-fake==0.0.1) failed in g_loss "
        "(ganlab_fake_sweep.py:",
        site=True,
    ),
    C(
        "plugins",
        "arch whose build raises ValueError",
        "train --arch picky --steps 1",
        "arch 'picky' (ganlab_fake_sweep:Picky from ganlab-fake==0.0.1) failed in build (ganlab_fake_sweep.py:",
        site=True,
    ),
    C(
        "plugins",
        "dataset whose load raises ValueError",
        "train --data broken-load --steps 1",
        "dataset 'broken-load' (ganlab_fake_sweep:BrokenLoad from ganlab-fake==0.0.1) failed in load "
        "(ganlab_fake_sweep.py:",
        site=True,
    ),
    C(
        "plugins",
        "dataset that raises PluginUserError",
        "train --data fussy --steps 1",
        "dataset 'fussy' (ganlab_fake_sweep:Fussy from ganlab-fake==0.0.1): turns must be at least 1, got 0; "
        "pass --data-opt turns=2",
        site=True,
    ),
    C(
        "plugins",
        "dataset whose images are in [0, 255]",
        "train --data raw-images --steps 1",
        "dataset 'raw-images' (ganlab_fake_sweep:RawImages from ganlab-fake==0.0.1): sample(8) spans [0, 255], "
        "expected images in [-1, 1]",
        site=True,
    ),
    C(
        "plugins",
        "study with a broken plugin",
        "compare --loss broken-import --steps 1",
        "loss 'broken-import' (ganlab_fake_sweep_broken:Loss from ganlab-fake==0.0.1) failed to import",
        site=True,
    ),
    C(
        "plugins",
        "sample a run whose arch package is uninstalled",
        "sample bad/orphan",
        "unknown arch 'gone-dcgan'; it came from the package ganlab-gone==1.0: pip install 'ganlab-gone==1.0'",
    ),
    C(
        "plugins",
        "resume a run whose arch package is uninstalled",
        "train --resume bad/orphan --steps 8",
        "unknown arch 'gone-dcgan'; it came from the package ganlab-gone==1.0: pip install 'ganlab-gone==1.0'",
    ),
    C(
        "plugins",
        "export a run whose arch package is uninstalled",
        "export bad/orphan",
        "unknown arch 'gone-dcgan'; it came from the package ganlab-gone==1.0: pip install 'ganlab-gone==1.0'",
    ),
    C(
        "plugins",
        "evaluate a run whose arch package is uninstalled",
        "eval bad/orphan",
        "unknown arch 'gone-dcgan'; it came from the package ganlab-gone==1.0: pip install 'ganlab-gone==1.0'",
    ),
]

# --- the workspace ----------------------------------------------------------------------------------
GONE = '''
"""dcgan under another name, from a package that is uninstalled after training."""
from ganlab.archs.dcgan import DCGAN


class GoneArch(DCGAN):
    pass
'''


def fake_site(site: Path) -> Path:
    """ganlab-fake 0.0.1 (broken plugins) and ganlab-fake-two 0.0.2 (which also claims `twin`)."""
    losses = {
        "broken-import": "ganlab_fake_sweep_broken:Loss",
        "wrong-base": "ganlab_fake_sweep:NotALoss",
        "twin": "ganlab_fake_sweep:NaNLoss",
        "nan-loss": "ganlab_fake_sweep:NaNLoss",
        "Shouty": "ganlab_fake_sweep:NaNLoss",
        "forgetful": "ganlab_fake_sweep:Forgetful",
    }
    archs = {"half-size": "ganlab_fake_sweep:HalfSizeArch", "picky": "ganlab_fake_sweep:Picky"}
    datasets = {
        "broken-load": "ganlab_fake_sweep:BrokenLoad",
        "fussy": "ganlab_fake_sweep:Fussy",
        "raw-images": "ganlab_fake_sweep:RawImages",
    }
    eps = {"ganlab.losses": losses, "ganlab.archs": archs, "ganlab.datasets": datasets}
    write_plugin_package(site, "ganlab-fake", "0.0.1", eps, contract_breakers("ganlab_fake_sweep"))
    write_plugin_package(site, "ganlab-fake-two", "0.0.2", {"ganlab.losses": {"twin": "ganlab_fake_sweep:NotALoss"}})
    return site


def tiny_onnx(path: Path, shape: list, ir_version: int) -> None:
    """A valid one-node (Relu) model that another tool could have written: no ganlab metadata."""
    from onnx import TensorProto, helper, save

    io_ = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", *shape]) for n in ("x", "y")]
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "other", [io_[0]], [io_[1]])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = ir_version
    save(model, str(path))


def build_workspace(base: Path) -> Path:
    """base/ws: runs/r (a finished tiny run) and bad/ (everything the cases feed in); base/site:
    the fake plugin packages, kept off sys.path until a case asks for them."""
    import numpy as np
    from PIL import Image

    from ganlab.run import runner
    from tests.conftest import tiny_config

    ws = base / "ws"
    bad = ws / "bad"
    runner.start(tiny_config(runs_dir=str(ws / "runs"), name="r"))
    points = dict(data="ring", arch="mlp", arch_options={"hidden": 16}, batch_size=16, latent_dim=4, image_size=None)
    runner.start(tiny_config(runs_dir=str(ws / "ro"), name="ring", **points))  # cases see ro/ read-only
    gone = write_plugin_package(
        base / "gone",
        "ganlab-gone",
        "1.0",
        {"ganlab.archs": {"gone-dcgan": "ganlab_gone:GoneArch"}},
        {"ganlab_gone": GONE},
    )
    with plugins_on_path(gone):
        runner.start(tiny_config(arch="gone-dcgan", runs_dir=str(bad), name="orphan", steps=1))
    fake_site(base / "site")

    (bad / "empty").mkdir()
    for folder, second in (("mixed", None), ("corrupt", b"\x89PNG\r\n\x1a\nnot really a PNG")):
        (bad / folder).mkdir()
        Image.new("L", (8, 8)).save(bad / folder / "a.png")
        if second is None:
            Image.new("L", (16, 16)).save(bad / folder / "b.png")
        else:
            (bad / folder / "b.png").write_bytes(second)
    (bad / "fresh").mkdir()
    shutil.copy(ws / "runs" / "r" / "config.toml", bad / "fresh" / "config.toml")
    (bad / "torn").mkdir()
    shutil.copy(ws / "runs" / "r" / "config.toml", bad / "torn" / "config.toml")
    (bad / "torn" / "summary.json").write_text("{ torn")
    shutil.copytree(ws / "runs" / "r", bad / "damaged")
    for ckpt in (bad / "damaged" / "checkpoints").glob("*.pt"):
        ckpt.write_bytes(b"not a checkpoint\n" * 4)
    (bad / "garbage.pt").write_bytes(b"not a checkpoint\n" * 4)
    (bad / "random.onnx").write_bytes(bytes(range(256)))
    tiny_onnx(bad / "ir99.onnx", [8], ir_version=99)
    tiny_onnx(bad / "image-filter.onnx", [3, 4, 4], ir_version=10)
    tiny_onnx(bad / "vector.onnx", [8], ir_version=10)
    np.savez(bad / "nomu.npz", a=np.zeros(3))
    (bad / "garbage.npz").write_text("not an archive\n")
    (bad / "broken.toml").write_text("steps = = 3\n")
    (bad / "unknown_key.toml").write_text("stepz = 3\n")
    (bad / "quoted.toml").write_text('lr_g = "0.0002"\n')
    (bad / "unreadable").mkdir()
    (bad / "unreadable" / "x.png").write_bytes(b"\x89PNG\r\n\x1a\ncut short")
    (bad / "float").mkdir()
    Image.fromarray(np.zeros((8, 8), np.float32)).save(bad / "float" / "f.tif")  # mode F: no known range
    np.save(bad / "old.npy", np.zeros(2))
    (bad / "old.gif").write_bytes(b"GIF89a an earlier timelapse")
    (bad / "text.txt").write_text("hello\n")
    return ws


def snapshot(root: Path) -> dict[str, object]:
    """Every path under root; files with their SHA-256 and mtime. Not a run's lock file: every
    command that writes a run takes the lock before it reads the run (and so before it finds
    most bad input), which rewrites that file; it holds no results."""
    out: dict[str, object] = {}
    for p in sorted(root.rglob("*")):
        if p.name == LOCK_NAME:
            continue
        rel = str(p.relative_to(root))
        out[rel] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) if p.is_file() else "dir"
    return out


@dataclass
class Result:
    code: int
    out: str
    err: str
    error_lines: list[str] = field(default_factory=list)


def run_cli(case: Case, ws: Path, site: Path) -> Result:
    """`ganlab ARGS...` in-process (the console script's entry point) with ws as the working folder;
    the fake plugin packages installed only for the cases that ask for them."""
    with contextlib.ExitStack() as stack:
        if case.site:
            stack.enter_context(plugins_on_path(site))
        if case.held:
            stack.enter_context(holding(ws / case.held, HOLDER))
        if case.read_only:
            stack.enter_context(read_only(ws / case.read_only))
        if case.busy_port:
            stack.enter_context(_listening(case.busy_port))
        for module in case.hide:  # `import ray` raises ImportError while sys.modules holds None
            stack.enter_context(_hidden(module))
        stack.enter_context(environ(dict(case.env)))
        result = invoke(*case.args, cwd=ws)
    lines = result.err.splitlines()
    return Result(result.code, result.out, result.err, [line for line in lines if line.startswith("Error:")])


@contextlib.contextmanager
def _listening(port: int):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield


@contextlib.contextmanager
def _hidden(module: str):
    saved = sys.modules.get(module)
    sys.modules[module] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if saved is None:
            sys.modules.pop(module, None)
        else:
            sys.modules[module] = saved


# --- the tests --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    base = tmp_path_factory.mktemp("sweep")
    ws = build_workspace(base)
    return ws, base / "site", snapshot(ws)


def test_the_sweep_covers_every_command_with_40_distinct_inputs():
    assert len({c.command for c in CASES}) == len(CASES) >= 40
    assert {c.section for c in CASES} == set(SECTIONS)
    used = {c.args[0] for c in CASES if c.args}
    assert {"train", "eval", "fid", "compare", "export", "sample", "plugins"} <= used


@pytest.mark.parametrize("case", CASES, ids=[c.command.replace("ganlab ", "") for c in CASES])
def test_bad_input_is_one_error_line_exit_1_and_changes_nothing(workspace, case):
    ws, site, before = workspace
    result = run_cli(case, ws, site)
    shown = f"\nstdout:\n{result.out}\nstderr:\n{result.err}"
    assert result.code == 1, shown
    assert "Traceback" not in result.out + result.err, shown
    assert len(result.error_lines) == 1, shown
    last = result.err.rstrip("\n").splitlines()[-1]
    assert last.startswith("Error: ") and case.message in last, shown
    assert "" not in result.err.rstrip("\n").splitlines(), shown  # no stray blank line from a progress bar
    after = snapshot(ws)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"files changed: {changed}{shown}"


def test_docs_list_every_case_with_its_message():
    """docs/errors.md is generated from CASES; each row holds the command and the expected words."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| ") and ("`` ganlab" in line or "`` GANLAB_" in line):
            command = line.split("`` ", 1)[1].split(" ``", 1)[0]
            rows[command] = line
    for case in CASES:
        assert case.command in rows, (
            f"docs/errors.md lacks `{case.command}`; regenerate it (see this module's docstring)"
        )
        assert case.message.replace("|", "\\|") in rows[case.command], case.command


# --- docs/errors.md ---------------------------------------------------------------------------------
INTRO = """# Bad inputs and what ganlab says

Every row below is a real run: `tests/test_error_sweep.py` runs each command in a workspace that
holds one finished run (`runs/r`, a tiny dcgan on digits) and the bad files listed next, and checks
that it exits with code 1, prints exactly one `Error:` line (the last line on stderr) holding the
message shown, prints no traceback, and leaves every file of the workspace byte-identical with
its modification time. The messages are copied from that run (regenerate this page with
`python tests/test_error_sweep.py docs/errors.md`). Lists of available plugins depend on what is
installed; these were made with ganlab's built-ins only.

An error that is not in this list and prints a traceback is a bug: please report it with the
command (`ganlab --debug ...` shows the full traceback of any error).

## The workspace

| path | what it is |
| --- | --- |
| `runs/r` | a finished 4-step run (dcgan, 8 px, digits) |
| `ro/ring` | a finished 4-step run (mlp on ring points), in a folder the *read-only* rows see as a read-only mount |
| `bad/empty` | an empty folder |
| `bad/fresh` | a run folder with its `config.toml` but no checkpoints |
| `bad/damaged` | a copy of `runs/r` whose `last.pt` and `last.previous.pt` are both overwritten with text |
| `bad/torn` | a run folder whose `summary.json` is cut off |
| `bad/orphan` | a run trained with arch `gone-dcgan` from the package `ganlab-gone`, since uninstalled |
| `bad/mixed` | two PNGs, 8x8 and 16x16 |
| `bad/corrupt` | one good PNG and `b.png`, a PNG header followed by text |
| `bad/garbage.pt` | text saved as a `.pt` |
| `bad/random.onnx` | 256 bytes that are not a protobuf |
| `bad/ir99.onnx` | a valid model that declares ONNX IR version 99 |
| `bad/image-filter.onnx` | a valid model (Relu) from another tool: image in, image out |
| `bad/vector.onnx` | a valid model (Relu) from another tool: (N, 8) in and out, no ganlab metadata |
| `bad/nomu.npz` | an `.npz` with one array `a` and no `mu` / `sigma` |
| `bad/garbage.npz` | text saved as an `.npz` |
| `bad/broken.toml`, `bad/unknown_key.toml`, `bad/quoted.toml` | `steps = = 3`; `stepz = 3`; `lr_g = "0.0002"` |
| `bad/unreadable` | one file, `x.png`: a PNG header followed by text |
| `bad/float` | one TIFF of 32-bit floating-point pixels |
| `bad/old.npy`, `bad/old.gif` | files from an earlier `ganlab sample` |
| `bad/text.txt` | a text file |

Rows marked *with fake plugins* run with two plugin packages installed the way pip installs
them: `ganlab-fake 0.0.1` (losses `broken-import` whose module imports a missing dependency,
`wrong-base` that is not a `Loss`, `nan-loss` whose D loss is NaN, `forgetful` whose `g_loss`
raises TypeError, `Shouty`, and `twin`; archs `half-size` whose G returns images half the asked
size and `picky` whose `build` raises ValueError; datasets `broken-load` whose `load` raises
ValueError, `fussy` whose `load` raises `PluginUserError`, and `raw-images` whose images are in
[0, 255]) and `ganlab-fake-two 0.0.2`, which registers `twin` too.

Rows marked *read-only* run with every write under `ro/` failing with EROFS ("Read-only file
system"), as on a read-only mount. `eval` prints its table (on stdout) before the error: the
numbers are worth seeing even when they cannot be saved.

Rows about a run *another command is writing* run while a second process holds the lock of
`runs/r` (as `ganlab train --resume runs/r --steps 5000` would); the pid, host and time in those
messages are that process's.
"""


def render(results: list[tuple[Case, Result]]) -> str:
    parts = [INTRO]
    for section in SECTIONS:
        title = (
            "plugins (bad plugins, through the commands that load them)"
            if section == "plugins"
            else f"ganlab {section}"
        )
        parts += [f"\n## {title}\n", "| bad input | command | message |", "| --- | --- | --- |"]
        for case, result in results:
            if case.section == section:
                what = (
                    case.what
                    + (" (with fake plugins)" if case.site else "")
                    + (" (read-only)" if case.read_only else "")
                )
                message = result.error_lines[0].replace("|", "\\|")
                parts.append(f"| {what} | `` {case.command} `` | `` {message} `` |")
    return "\n".join(parts) + "\n"


def write_doc(path: Path) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, environ(isolated_environ(Path(tmp))):
        ws = build_workspace(Path(tmp))
        results = []
        for case in CASES:
            result = run_cli(case, ws, Path(tmp) / "site")
            if result.code != 1 or len(result.error_lines) != 1 or case.message not in result.error_lines[0]:
                raise SystemExit(f"{case.command}: exit {result.code}, stderr:\n{result.err}")
            results.append((case, result))
    path.write_text(render(results), encoding="utf-8")
    print(f"wrote {path} ({len(results)} cases)")


if __name__ == "__main__":
    sys.path.insert(0, str(DOC.parent.parent))  # the repository, for tests.conftest
    write_doc(Path(sys.argv[1]) if len(sys.argv) > 1 else DOC)
