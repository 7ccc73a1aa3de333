"""Study wall time: an 8-run toy study (2 losses x 4 seeds, mlp on the ring) trained one run after
another, by 2 local worker processes, and as Ray tasks on a local 2-CPU Ray cluster; every run
uses one torch thread. Prints each wall time and the speedup over the sequential study.

    python bench/study.py [--steps 600] [--hidden 64] [--modes sequential,workers,ray]

Each mode runs in a fresh Python process (same imports, same cold start) into its own folder.
The time is that of run_study (planning, training, writing the runs); the local Ray cluster's
start-up is timed apart, since a real cluster is started once and reused. The three studies
must agree: the script checks their rows are identical (timings aside).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("sequential", "workers", "ray")


def one(mode: str, root: Path, steps: int, hidden: int) -> dict:
    """Runs in the child process: the study under `mode`, timed."""
    from ganlab.comparison import rows as comparing
    from ganlab.comparison.executors import Execution
    from ganlab.comparison.study import StudySpec, run_study

    spec = StudySpec(
        losses=["minimax", "lsgan"],
        archs=["mlp"],
        datas=["ring"],
        seeds=4,
        name=mode,
        runs_dir=str(root),
        overrides=dict(
            steps=steps, batch_size=64, latent_dim=4, arch_options={"hidden": hidden}, sample_every=10**6, device="cpu"
        ),
        evaluate=False,
    )
    execution = {
        "sequential": Execution(threads=1),
        "workers": Execution(workers=2, threads=1),
        "ray": Execution(executor="ray", threads=1),
    }[mode]
    ray_start = None
    if mode == "ray":
        import ray

        t = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        ray_start = time.perf_counter() - t
    start = time.perf_counter()
    result = run_study(spec, None, execution)
    wall = time.perf_counter() - start
    assert not result.failures, result.failures
    skip = ("paths", "wall_time_s", "steps_per_s")
    rows = [{k: v for k, v in r.items() if k not in skip} for r in comparing.compare([str(result.path)]).rows]
    return {"mode": mode, "wall_s": wall, "ray_start_s": ray_start, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=600, help="generator steps per run")
    parser.add_argument("--hidden", type=int, default=64, help="mlp width")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, Path(args.root), args.steps, args.hidden)))
        return
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            cmd = [sys.executable, __file__, "--one", mode, "--root", tmp, "--steps", str(args.steps)]
            out = subprocess.run(cmd + ["--hidden", str(args.hidden)], check=True, capture_output=True, text=True)
            results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    base = results.get("sequential")
    print(f"8 runs x {args.steps} steps (mlp hidden {args.hidden}, batch 64, 1 torch thread per run)")
    for mode, r in results.items():
        speedup = f"  speedup {base['wall_s'] / r['wall_s']:.2f}x" if base else ""
        extra = f"  (+ {r['ray_start_s']:.1f} s to start the local Ray cluster)" if r["ray_start_s"] else ""
        print(f"{mode:>10}: {r['wall_s']:7.1f} s{speedup}{extra}")
    if base:
        same = all(r["rows"] == base["rows"] for r in results.values())
        print("rows identical across modes:", same)


if __name__ == "__main__":
    main()
