"""Training throughput: ganlab's loop (Trainer + metrics log) against a plain PyTorch loop
written here, over the same G, D, optimizer, batch and data. Prints steps/s and the ratio.

    python bench/train_step.py [--steps 200] [--rounds 3] [--image-size 16] [--width 64] [--batch-size 64]
                               [--device cpu|cuda] [--precision fp32|bf16|fp16] [--compile]
                               [--channels-last] [--log-every N] [--threads N] [--clock wall|cpu]

The plain loop is always the fp32 eager reference: sync-free (no .item(), no Python `if` on a
tensor), data as uint8 on the training device, noise from a generator there. ganlab runs with the
flags given. Rounds alternate between the two (and which goes first) so machine load affects both alike; medians are
reported; each side warms up (kernel choice, cudnn autotuning, compilation) before it is timed.
`--clock cpu` times the process's CPU seconds instead of wall seconds: on a CPU shared with other
jobs, wall time mostly measures the neighbours (use it with --threads 1; meaningless on CUDA).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ganlab.config import RunConfig
from ganlab.run.rundir import RunDir
from ganlab.run.runner import Recorder
from ganlab.run.trainer import Trainer, train

WARMUP = 10  # untimed steps per side and round
CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCK["wall"]


def plain_loop(G, D, opt_g, opt_d, images: torch.Tensor, steps: int, batch: int, latent: int, gen) -> None:
    """The textbook loop: one D step and one G step (non-saturating BCE from logits)."""
    device = images.device
    ones, zeros = torch.ones(batch, device=device), torch.zeros(batch, device=device)
    for _ in range(steps):
        idx = torch.randint(len(images), (batch,), generator=gen, device=device)
        real = images[idx].float().div_(127.5).sub_(1.0)
        with torch.no_grad():
            fake = G(torch.randn(batch, latent, generator=gen, device=device))
        d_loss = F.binary_cross_entropy_with_logits(D(real), ones) + F.binary_cross_entropy_with_logits(D(fake), zeros)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = F.binary_cross_entropy_with_logits(
            D(G(torch.randn(batch, latent, generator=gen, device=device))), ones
        )
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ganlab(config: RunConfig, steps: int) -> float:
    trainer = Trainer(config)
    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir(Path(tmp))
        (run.path / "samples").mkdir()
        (run.path / "checkpoints").mkdir()
        recorder = Recorder(run)  # metrics.jsonl on every logging step, as in a real run
        train(trainer, WARMUP, [recorder])
        sync(trainer.device)
        start = clock()
        train(trainer, WARMUP + steps, [recorder])
        sync(trainer.device)
        elapsed = clock() - start
        recorder.close()
    return steps / elapsed


def time_plain(config: RunConfig, steps: int) -> float:
    trainer = Trainer(config)  # only to get identical networks, optimizers and data (on the device)
    args = (trainer.G, trainer.D, trainer.opt_g, trainer.opt_d, trainer.train_data.images)
    shape = (config.batch_size, config.latent_dim, trainer.gen)
    plain_loop(*args, WARMUP, *shape)
    sync(trainer.device)
    start = clock()
    plain_loop(*args, steps, *shape)
    sync(trainer.device)
    return steps / (clock() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--arch", default="dcgan", help="dcgan, or resnet (the ganlab-resnet plugin)")
    parser.add_argument("--data", default="digits")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--log-every", type=int, default=None, help="(default: ganlab's, 1 on the CPU, 10 on CUDA)")
    parser.add_argument("--threads", type=int, default=None, help="(default: ganlab's choice)")
    parser.add_argument(
        "--clock", choices=list(CLOCK), default="wall", help="wall seconds, or this process's CPU seconds"
    )
    args = parser.parse_args()
    global clock
    clock = CLOCK[args.clock]
    plain_config = RunConfig(
        loss="nonsaturating",
        arch=args.arch,
        data=args.data,
        image_size=args.image_size,
        arch_options={"width": args.width},
        batch_size=args.batch_size,
        steps=args.steps,
        sample_every=10**9,
        checkpoint_every=10**9,
        device=args.device,
        threads=args.threads,
    )
    config = dataclasses.replace(
        plain_config,
        precision=args.precision,
        compile=args.compile,
        channels_last=args.channels_last,
        log_every=args.log_every,
    )
    ours, plain = [], []
    for i in range(args.rounds):  # the side that goes first alternates, so order effects cancel
        if i % 2:
            plain.append(time_plain(dataclasses.replace(plain_config), args.steps))
        ours.append(time_ganlab(dataclasses.replace(config), args.steps))
        if not i % 2:
            plain.append(time_plain(dataclasses.replace(plain_config), args.steps))
    o, p = statistics.median(ours), statistics.median(plain)
    trainer = Trainer(dataclasses.replace(config))
    flags = (
        f"{config.precision}{', channels_last' if config.channels_last else ''}{', compile' if config.compile else ''}"
    )
    print(
        f"{args.arch} {args.image_size}px width {args.width}, batch {args.batch_size}, {args.data}, "
        f"{trainer.device} ({torch.cuda.get_device_name() if trainer.device.type == 'cuda' else 'CPU'}), "
        f"{torch.get_num_threads()} threads, ganlab {flags}, log every {trainer.config.log_every}, "
        f"{args.steps} steps x {args.rounds} rounds (median), {args.clock} clock"
    )
    print(f"  plain fp32 loop    : {p:8.2f} steps/s   rounds: {', '.join(f'{x:.2f}' for x in plain)}")
    print(f"  ganlab Trainer     : {o:8.2f} steps/s   rounds: {', '.join(f'{x:.2f}' for x in ours)}")
    paired = [a / b for a, b in zip(ours, plain, strict=True)]  # each round's pair ran back to back
    print(
        f"  paired rounds      : {statistics.median(paired):8.3f}  (median of {', '.join(f'{r:.2f}' for r in paired)})"
    )
    print(f"  ganlab / plain     : {o / p:8.3f}  (framework overhead {100 * (1 - o / p):+.1f}%)")


if __name__ == "__main__":
    main()
