"""Training throughput: ganlab's loop (Trainer + metrics log) against a plain PyTorch loop
written here, over the same G, D, optimizer, batch and data. Prints steps/s and the ratio.

    python bench/train_step.py [--steps 200] [--rounds 3] [--image-size 16] [--width 64]

Rounds alternate between the two so machine load affects both alike; the median is reported.
"""

from __future__ import annotations

import argparse
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


def plain_loop(G, D, opt_g, opt_d, images: torch.Tensor, steps: int, batch: int, latent: int, gen) -> None:
    """The textbook loop: one D step and one G step (non-saturating BCE from logits)."""
    ones, zeros = torch.ones(batch), torch.zeros(batch)
    for _ in range(steps):
        idx = torch.randint(len(images), (batch,), generator=gen)
        real = images[idx].float().div_(127.5).sub_(1.0)
        with torch.no_grad():
            fake = G(torch.randn(batch, latent, generator=gen))
        d_loss = F.binary_cross_entropy_with_logits(D(real), ones) + F.binary_cross_entropy_with_logits(D(fake), zeros)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = F.binary_cross_entropy_with_logits(D(G(torch.randn(batch, latent, generator=gen))), ones)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()


def time_ganlab(config: RunConfig, steps: int) -> float:
    trainer = Trainer(config)
    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir(Path(tmp))
        (run.path / "samples").mkdir()
        (run.path / "checkpoints").mkdir()
        recorder = Recorder(run)  # metrics.jsonl every step, as in a real run
        start = time.perf_counter()
        train(trainer, steps, [recorder])
        elapsed = time.perf_counter() - start
        recorder.close()
    return steps / elapsed


def time_plain(config: RunConfig, steps: int) -> float:
    trainer = Trainer(config)  # only to get identical networks, optimizers and data
    gen = torch.Generator().manual_seed(config.seed)
    start = time.perf_counter()
    plain_loop(
        trainer.G,
        trainer.D,
        trainer.opt_g,
        trainer.opt_d,
        trainer.data.images,
        steps,
        config.batch_size,
        config.latent_dim,
        gen,
    )
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    config = RunConfig(
        loss="nonsaturating",
        image_size=args.image_size,
        arch_options={"width": args.width},
        batch_size=args.batch_size,
        steps=args.steps,
        sample_every=10**9,
        checkpoint_every=10**9,
        device="cpu",
    )
    time_plain(config, 10)  # warm-up: first conv calls pick their kernels
    ours, plain = [], []
    for _ in range(args.rounds):
        ours.append(time_ganlab(config, args.steps))
        plain.append(time_plain(config, args.steps))
    o, p = statistics.median(ours), statistics.median(plain)
    print(
        f"dcgan {args.image_size}px width {args.width}, batch {args.batch_size}, digits, CPU, "
        f"{torch.get_num_threads()} threads, {args.steps} steps x {args.rounds} rounds (median)"
    )
    print(f"  plain PyTorch loop : {p:8.2f} steps/s   rounds: {', '.join(f'{x:.2f}' for x in plain)}")
    print(f"  ganlab Trainer     : {o:8.2f} steps/s   rounds: {', '.join(f'{x:.2f}' for x in ours)}")
    print(f"  ganlab / plain     : {o / p:8.3f}  (framework overhead {100 * (1 - o / p):+.1f}%)")


if __name__ == "__main__":
    main()
