"""Times `ganlab fid A B` against `python -m pytorch_fid A B` on the same two image folders and
prints both values and the time ratio; then times the Fréchet distance alone (ganlab's, without
sqrtm, against pytorch-fid's calculate_frechet_distance) on 2048-d statistics.

    python bench/fid.py [--n 50] [--size 32] [--dims 2048,768] [--threads 1] [--weights PATH]

Without --weights it builds the stand-in weights of the tests (pytorch-fid's FID Inception with
random, batch-norm-calibrated weights) in a temporary TORCH_HOME, so it runs offline. Both commands
run as fresh processes with the same environment (device cpu, the same thread count for torch and
BLAS), so both pay their start-up. On a small shared CPU two threads that wait for each other can
be several times slower than one, so --threads defaults to 1.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def write_folders(root: Path, n: int, size: int) -> tuple[Path, Path]:
    """Two folders of n digit images each (different digits), PNG, greyscale."""
    from PIL import Image
    from sklearn.datasets import load_digits

    pixels = load_digits().images * (255 / 16)
    folders = (root / "a", root / "b")
    for k, folder in enumerate(folders):
        folder.mkdir(parents=True)
        for i in range(n):
            img = Image.fromarray(pixels[k * n + i].astype(np.uint8)).resize((size, size), Image.BILINEAR)
            img.save(folder / f"{i:04d}.png")
    return folders


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        print(f"FAILED ({elapsed:.1f} s): {' '.join(cmd[:4])} ...: {tail[0] if tail else done.returncode}")
        return float("nan"), elapsed
    return float(re.findall(r"FID:\s*([-\d.e+]+)", done.stdout)[-1]), elapsed


def frechet_timing(n: int, dims: int, repeats: int = 3) -> None:
    """Both functions on the same statistics: n samples (rank n - 1 when n <= dims) and a full-rank case."""
    from pytorch_fid.fid_score import calculate_frechet_distance

    from ganlab.metrics.frechet import frechet_distance, statistics

    rng = np.random.default_rng(0)
    for label, count in ((f"{n} samples", n), (f"{dims + 952} samples (full rank)", dims + 952)):
        mix = rng.standard_normal((dims, dims)) / np.sqrt(dims)
        a = statistics(rng.standard_normal((count, dims)) @ mix)
        b = statistics(rng.standard_normal((count, dims)) @ mix + 0.1)
        ours, theirs = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            v_ours = frechet_distance(*a, *b)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    v_theirs = float(calculate_frechet_distance(*a, *b))
            except (ValueError, TypeError) as exc:  # "Imaginary component ...", or SciPy >= 1.18's `disp`
                v_theirs = f"failed: {exc}"
            theirs.append(time.perf_counter() - t)
        rel = f"{abs(v_ours - v_theirs) / abs(v_theirs):.1e}" if isinstance(v_theirs, float) else "-"
        print(
            f"frechet {dims}-d, {label}: ganlab {min(ours):.2f} s ({v_ours:.6f}), pytorch-fid "
            f"{min(theirs):.2f} s ({v_theirs if isinstance(v_theirs, str) else f'{v_theirs:.6f}'}), "
            f"relative difference {rel}, ratio {min(ours) / min(theirs):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="images per folder")
    parser.add_argument("--size", type=int, default=32, help="image side in pixels (both tools resize to 299)")
    parser.add_argument("--dims", default="2048,768", help="comma-separated feature sizes to run")
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads, both tools")
    parser.add_argument("--weights", type=Path, help="real FID weights (default: build the stand-in)")
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # read by torch / numpy at import, here and in the children

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, GANLAB_CACHE=str(tmp / "cache"), TORCH_HOME=str(tmp / "torch_home"))
        if args.weights is None:
            sys.path.insert(0, str(ROOT))
            from tests.fid_standin import build_standin

            weights = build_standin(tmp / "torch_home")
        else:
            weights = tmp / "torch_home" / "hub" / "checkpoints" / "pt_inception-2015-12-05-6726825d.pth"
            weights.parent.mkdir(parents=True)
            weights.symlink_to(args.weights.resolve())
        a, b = write_folders(tmp, args.n, args.size)
        print(
            f"{args.n} + {args.n} images of {args.size} px, weights {weights.name} "
            f"({'stand-in' if args.weights is None else args.weights}), {os.cpu_count()} CPUs, "
            f"{args.threads} thread(s), device cpu"
        )
        for dims in [int(d) for d in args.dims.split(",")]:
            flags = ["--dims", str(dims), "--device", "cpu"]
            ref_value, ref_time = timed([sys.executable, "-m", "pytorch_fid", str(a), str(b), *flags], env)
            our_value, our_time = timed([sys.executable, "-m", "ganlab", "fid", str(a), str(b), *flags], env)
            print(f"[{dims} dims] python -m pytorch_fid: FID {ref_value:.6f} in {ref_time:.1f} s")
            print(f"[{dims} dims] ganlab fid:            FID {our_value:.6f} in {our_time:.1f} s")
            print(
                f"[{dims} dims] relative difference {abs(our_value - ref_value) / abs(ref_value):.2e}, "
                f"time ratio ganlab / pytorch-fid {our_time / ref_time:.2f}"
            )
    from threadpoolctl import (
        threadpool_limits,  # numpy is already imported: limit its BLAS here
    )

    with threadpool_limits(limits=args.threads, user_api="blas"):
        frechet_timing(args.n, 2048)


if __name__ == "__main__":
    main()
