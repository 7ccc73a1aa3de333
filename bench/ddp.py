"""Data-parallel scaling: ganlab's training loop in 1 process and in N DDP ranks (torchrun; gloo on
the CPU, nccl on CUDA), with the same global batch. Prints steps/s, samples/s and the scaling
efficiency against the named reference, one single-thread process (on CUDA: one GPU).

    python bench/ddp.py [--nproc 2] [--steps 20] [--rounds 3] [--image-size 32] [--width 64]
                        [--batch-size 128] [--arch dcgan] [--data digits] [--device cpu|cuda]

efficiency = samples/s of N ranks / (N x samples/s of the reference). Every rank runs one torch
thread on the CPU (as torchrun sets OMP_NUM_THREADS=1), so N ranks use N cores: on a machine whose
cores others are using, the figure measures the neighbours too; the load average is printed with
it. Rounds alternate which side goes first; medians are reported; each side runs WARMUP untimed
steps first. Time is wall time between two barriers (collectives wait, so CPU time would flatter).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WARMUP = 3  # untimed steps per side and round
ENV = "GANLAB_BENCH_DDP"  # the worker's settings (torchrun's own parser would read abbreviations of its flags)


def worker() -> None:
    """One rank (or the single reference process): trains `steps` timed steps, rank 0 writes the rate."""
    import torch

    from ganlab.config import RunConfig
    from ganlab.run import distributed
    from ganlab.run.trainer import Trainer, train

    settings = json.loads(os.environ[ENV])
    config = RunConfig(
        loss="nonsaturating",
        arch=settings["arch"],
        data=settings["data"],
        image_size=settings["image_size"],
        arch_options={"width": settings["width"]},
        batch_size=settings["batch_size"],
        sample_every=10**9,
        checkpoint_every=10**9,
        device=settings["device"],
        threads=1 if settings["device"] == "cpu" else None,
    )
    trainer = Trainer(config)
    world = trainer.world
    train(trainer, WARMUP)
    barrier(world, trainer.device)
    start = time.perf_counter()
    train(trainer, WARMUP + settings["steps"])
    barrier(world, trainer.device)
    elapsed = time.perf_counter() - start
    if world.is_main:
        Path(settings["out"]).write_text(
            json.dumps({"steps_per_s": settings["steps"] / elapsed, "threads": torch.get_num_threads()})
        )
    distributed.shutdown()


def barrier(world, device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)
    if world.distributed:
        import torch.distributed as dist

        dist.barrier()


def measure(nproc: int, settings: dict) -> float:
    """steps/s of one round: the reference runs as a plain process, N ranks under torchrun."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rate.json"
        env = dict(os.environ, **{ENV: json.dumps({**settings, "out": str(out)})}, OMP_NUM_THREADS="1")
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH")])
        )
        if nproc == 1:
            command = [sys.executable, __file__, "--worker"]
        else:
            command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]
            command += [__file__, "--worker"]
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return json.loads(out.read_text())["steps_per_s"]


def main() -> None:
    if "--worker" in sys.argv:
        worker()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--arch", default="dcgan")
    parser.add_argument("--data", default="digits")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    settings = {k: getattr(args, k) for k in ("steps", "image_size", "width", "batch_size", "arch", "data", "device")}
    one, many = [], []
    load_before = os.getloadavg()
    for i in range(args.rounds):  # the side that goes first alternates, so order effects cancel
        if i % 2:
            many.append(measure(args.nproc, settings))
        one.append(measure(1, settings))
        if not i % 2:
            many.append(measure(args.nproc, settings))
    load_after = os.getloadavg()
    o, m = statistics.median(one), statistics.median(many)
    b = args.batch_size
    unit, units = ("GPU", "GPUs") if args.device == "cuda" else ("single-thread process", "single-thread processes")
    print(
        f"{args.arch} {args.image_size}px width {args.width}, global batch {b}, {args.data}, {args.device}, "
        f"{args.steps} steps x {args.rounds} rounds (median), wall clock; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after, {os.cpu_count()} CPUs"
    )
    print(f"  reference: 1 {unit:22}: {o:7.3f} steps/s {o * b:9.1f} samples/s   rounds: {_fmt(one)}")
    print(f"  DDP {args.nproc} ranks ({units}): {m:7.3f} steps/s {m * b:9.1f} samples/s   rounds: {_fmt(many)}")
    print(f"  speed-up {m / o:.3f}x; scaling efficiency {m / (args.nproc * o):.3f} (of {args.nproc}x the reference)")


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


if __name__ == "__main__":
    main()
