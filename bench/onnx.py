"""Generator inference: onnxruntime against torch eager, same weights, on the CPU (and on the GPU
when torch and onnxruntime both see one). Latency at batch 1, throughput at batch 64.

    python bench/onnx.py [RUN] [--image-size 16] [--channels 1] [--width 64] [--latent-dim 100]
                         [--threads N] [--rounds 3] [--opt-level all|extended|basic|disabled]
                         [--no-mem-pattern] [--parallel] [--ort-threads N]

Without RUN a dcgan G with the DCGAN initialisation is built (ganlab's default job: digits, 16 px,
1 channel); with RUN, that run's last checkpoint. Both sides take z from host memory and return
images to host memory. Rounds alternate between the two so machine load affects both alike;
medians are reported.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# This file is named onnx.py and Python puts its folder first on sys.path when it runs as a
# script; drop that entry so `import onnx` (inside torch.onnx and ganlab) finds the real package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ganlab import plugins  # noqa: E402
from ganlab.deploy.export import TOLERANCE, Exportable, to_onnx, verify  # noqa: E402

LATENCY_CALLS = 200  # batch-1 calls per round
THROUGHPUT_BATCH = 64
THROUGHPUT_CALLS = 20  # batch-64 calls per round


def build_generator(args) -> tuple[torch.nn.Module, int, str]:
    if args.run:
        from ganlab.run.restore import restore

        r = restore(args.run)
        return r.G, r.latent_dim, f"run {args.run} ({r.config.arch}, shape {r.data_shape})"
    arch, _ = plugins.create("arch", "dcgan", {"width": args.width})
    torch.manual_seed(0)
    G, _ = arch.build((args.channels, args.image_size, args.image_size), args.latent_dim)
    return (
        G.eval(),
        args.latent_dim,
        (f"dcgan {args.image_size}px x{args.channels} width {args.width}, latent {args.latent_dim}"),
    )


OPT_LEVELS = ("all", "extended", "basic", "disabled")


def ort_session(model: bytes, device: str, args):
    """An onnxruntime session with the SessionOptions under test (issue 12 asked which of them move
    the batch-64 ratio): graph optimisation level, intra-op threads, memory pattern, execution mode."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    level = ort.GraphOptimizationLevel
    opts.graph_optimization_level = {
        "all": level.ORT_ENABLE_ALL,
        "extended": level.ORT_ENABLE_EXTENDED,
        "basic": level.ORT_ENABLE_BASIC,
        "disabled": level.ORT_DISABLE_ALL,
    }[args.opt_level]
    opts.intra_op_num_threads = args.ort_threads or args.threads  # default: as many threads as torch
    opts.inter_op_num_threads = 1
    opts.enable_mem_pattern = not args.no_mem_pattern
    opts.execution_mode = ort.ExecutionMode.ORT_PARALLEL if args.parallel else ort.ExecutionMode.ORT_SEQUENTIAL
    provider = "CUDAExecutionProvider" if device == "cuda" else "CPUExecutionProvider"
    session = ort.InferenceSession(model, opts, providers=[provider])
    if session.get_providers()[0] != provider:
        return None
    return session


def runners(G, session, device: str):
    """Two callables numpy z -> numpy images: torch eager and onnxruntime."""
    G = G.to(device)

    @torch.inference_mode()
    def torch_run(z: np.ndarray) -> np.ndarray:
        return G(torch.from_numpy(z).to(device)).cpu().numpy()  # .cpu() waits for the GPU

    def ort_run(z: np.ndarray) -> np.ndarray:
        return session.run(None, {"z": z})[0]

    return {"torch eager": torch_run, "onnxruntime": ort_run}


def time_calls(fn, z: np.ndarray, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn(z)
    return time.perf_counter() - start


def measure(fns: dict, latent: int, rounds: int) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(0)
    z1 = rng.standard_normal((1, latent), dtype=np.float32)
    z64 = rng.standard_normal((THROUGHPUT_BATCH, latent), dtype=np.float32)
    for fn in fns.values():  # warm-up: kernel selection, allocator, CUDA context
        time_calls(fn, z1, 10)
        time_calls(fn, z64, 3)
    lat = {name: [] for name in fns}
    thr = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            lat[name].append(1000 * time_calls(fn, z1, LATENCY_CALLS) / LATENCY_CALLS)
            thr[name].append(THROUGHPUT_BATCH * THROUGHPUT_CALLS / time_calls(fn, z64, THROUGHPUT_CALLS))
    return {
        name: {"latency_ms": statistics.median(lat[name]), "images_per_s": statistics.median(thr[name])} for name in fns
    }


def report(device: str, results: dict[str, dict[str, float]]) -> None:
    t, o = results["torch eager"], results["onnxruntime"]
    print(
        f"  {device:4s} latency, batch 1      {t['latency_ms']:10.3f} ms  {o['latency_ms']:10.3f} ms"
        f"   {t['latency_ms'] / o['latency_ms']:6.2f}x"
    )
    print(
        f"  {device:4s} throughput, batch {THROUGHPUT_BATCH}  {t['images_per_s']:10.0f} /s  "
        f"{o['images_per_s']:10.0f} /s   {o['images_per_s'] / t['images_per_s']:6.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", default=None, help="a run folder (default: a fresh dcgan G)")
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--latent-dim", type=int, default=100)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--opt-level", choices=OPT_LEVELS, default="all", help="graph_optimization_level")
    parser.add_argument("--no-mem-pattern", action="store_true", help="enable_mem_pattern = False")
    parser.add_argument("--parallel", action="store_true", help="execution_mode = ORT_PARALLEL")
    parser.add_argument("--ort-threads", type=int, default=None, help="intra_op_num_threads (default: --threads)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    G, latent, what = build_generator(args)
    module = Exportable(G, uint8=False).eval()
    model = to_onnx(module, latent, "image", None, "arch 'dcgan'").SerializeToString()
    diffs = verify(model, module, latent, TOLERANCE)  # same weights, checked before timing them
    import onnxruntime as ort

    print(
        f"{what}; torch {torch.__version__}, onnxruntime {ort.__version__}, threads {args.threads}, "
        f"{args.rounds} rounds (median); parity max |diff| {max(diffs.values()):.1e}"
    )
    print(
        f"  onnxruntime SessionOptions: graph optimisation {args.opt_level}, intra-op threads "
        f"{args.ort_threads or args.threads}, mem pattern {not args.no_mem_pattern}, "
        f"{'parallel' if args.parallel else 'sequential'}"
    )
    print(f"  {'':30s}{'torch eager':>13s}  {'onnxruntime':>13s}   ort speedup")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        session = ort_session(model, device, args)
        if session is None:
            print(f"  {device}: onnxruntime could not start its {device} provider; skipped")
            continue
        report(device, measure(runners(G, session, device), latent, args.rounds))
    if devices == ["cpu"]:
        print("  cuda: torch sees no GPU on this machine; skipped")


if __name__ == "__main__":
    main()
