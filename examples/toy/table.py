"""`ganlab compare --format json` rows -> README's mode-collapse table: mean ± standard error.

compare reports mean ± sample std over seeds; the literature's tables (PacGAN Table 1) give
means with standard errors, so each std is divided by sqrt(seeds) here.
    python examples/toy/table.py runs/toy-table/table.json
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

METRICS = (("modes_covered", "{:.1f}"), ("high_quality_pct", "{:.1f}"), ("mode_kl", "{:.3f}"), ("mode_kl_hq", "{:.3f}"))


def cell(stat: dict | None, fmt: str) -> str:
    if not stat or stat.get("mean") is None:
        return "-"
    mean, std, n = stat["mean"], stat.get("std"), stat.get("n_seeds", 1)
    if std is None or n < 2:
        return fmt.format(mean)
    return f"{fmt.format(mean)} ± {fmt.format(std / math.sqrt(n))}"


def pack(row: dict) -> int:
    """compare's rows do not carry --pack: read it from the first run's recorded config."""
    summary = json.loads(open(f"{row['paths'][0]}/summary.json", encoding="utf-8").read())
    return summary["config"].get("pack", 1)


def label(row: dict) -> str:
    """A recipe or PacGAN row keeps its name (recipe-grid, pacgan2-ring-5000); a study's row is named
    by its study less pack, data and steps, and its loss ("losses: hinge", "critics-gp0.1: wgan-gp"),
    since compare's own name for it lists every setting that differs from the other studies' rows."""
    study = Path(row["paths"][0]).parent.name  # e.g. critics-gp0.1-pack2-ring-3000
    if study == "single":
        return row["name"]
    return f"{re.sub(r'-pack[0-9]+-.*$', '', study)}: {row['loss']}"


def main(path: str) -> None:
    rows = json.loads(open(path, encoding="utf-8").read())
    print("| row | data | loss | pack | seeds | steps | s / run | modes | % HQ | KL (all) | KL (HQ) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    packs = {id(row): pack(row) for row in rows}  # one summary.json read per row
    for row in sorted(rows, key=lambda r: (r["data"], label(r), packs[id(r)])):
        stats = [cell(row["metrics"].get(name, {}).get("final"), fmt) for name, fmt in METRICS]
        steps, wall = (row.get("steps") or {}).get("mean"), (row.get("wall_time_s") or {}).get("mean")
        if steps is None or row.get("status") != "complete":  # not finished (yet)
            continue
        print(
            f"| {label(row)} | {row['data']} | {row['loss']} | {packs[id(row)]} | {row['n_seeds']} | {int(steps):,} | {'-' if wall is None else f'{wall:.0f}'} | "
            + " | ".join(stats)
            + " |"
        )


if __name__ == "__main__":
    main(sys.argv[1])
