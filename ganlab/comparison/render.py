"""How a comparison reads as text: its columns and cells, and the markdown, CSV and JSON renderings
(the rich table is drawn from the same columns by the command, in ganlab.cli.compare_cmd)."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, Callable

from ganlab.comparison.rows import SECTIONS, Comparison

FORMATS = ("table", "json", "csv", "markdown")
BEST_STYLE = "bold green"
ARROW = {"lower": "↓", "higher": "↑"}
LEGEND = (
    "mean ± sample std over seeds; D(x), D(G(z)): mean sigmoid(D) over the last 100 steps; "
    "best of each metric column in bold"
)
TEXT_COLUMNS = ("name", "loss", "arch", "data", "status")  # left-aligned; the rest are numbers
STATS = ("steps", "wall_time_s", "steps_per_s", "d_real", "d_fake")


# --- numbers --------------------------------------------------------------------------------------
def decimals(x: float) -> int:
    """About four significant digits: 123.4, 1.234, 0.01234."""
    if x == 0 or not math.isfinite(x):
        return 2
    return min(6, max(0, 3 - math.floor(math.log10(abs(x)))))


def fmt_stat(s: dict[str, Any] | None, n_seeds: int | None = None, digits: int | None = None) -> str:
    if s is None:
        return "-"
    d = decimals(s["mean"]) if digits is None else digits
    text = f"{s['mean']:.{d}f}"
    if s["std"]:  # a zero spread (e.g. every seed ran 500 steps) says nothing worth a column of ± 0
        text += f" ± {s['std']:.{d}f}"
    if n_seeds is not None and s["n_seeds"] < n_seeds:
        text += f" ({s['n_seeds']}/{n_seeds} seeds)"
    return text


def setting_notes(c: Comparison) -> dict[tuple, int]:
    """Numbers each distinct (n, feature net) of the comparable metric columns, for the legend."""
    notes: dict[tuple, int] = {}
    for col in c.columns.values():
        if col["comparable"]:
            notes.setdefault((col["n"], col["feature_net"]), len(notes) + 1)
    return notes


def metric_header(name: str, kind: str, col: dict[str, Any], notes: dict[tuple, int]) -> str:
    head = f"{name} {kind} {ARROW.get(col['better'], '')}".strip()
    if not col["comparable"]:
        return f"{head} (MIXED: see the note)"
    return head if len(notes) == 1 else f"{head} [{notes[col['n'], col['feature_net']]}]"


STALE_MARK = " (stale)"  # measured before the run's last step; the warnings say when (issue 18)
CRITIC_MARK = " †"
CRITIC_NOTE = (
    "† D is a critic (the loss says d_is_probability = False): its mean raw score C(x), C(G(z)), not a probability"
)


def legend(notes: dict[tuple, int], critic: bool = False) -> str:
    """The table's footnote: how to read it, and each metric setting (one line, however many)."""
    head = [LEGEND, CRITIC_NOTE] if critic else [LEGEND]
    if len(notes) == 1:
        ((n, net),) = notes
        return "; ".join(head) + f"; metrics from n={n} samples, {net}"
    return "; ".join(head + [f"[{i}] n={n}, {net}" for (n, net), i in notes.items()])


def has_critic(c: Comparison) -> bool:
    return any(not row.get("d_is_probability", True) for row in c.rows)


def _d_cell(key: str) -> Callable[[dict], Cell]:
    def cell(row: dict) -> Cell:
        text = fmt_stat(row[key], row["n_seeds"], digits=3)
        return text + (CRITIC_MARK if not row.get("d_is_probability", True) and text != "-" else ""), False

    return cell


# --- columns shared by the rich table and markdown -------------------------------------------------
Cell = tuple[str, bool]  # text, is it the best of its column


def columns(c: Comparison, notes: dict[tuple, int]) -> list[tuple[str, Callable[[dict], Cell]]]:
    def plain(fn: Callable[[dict], str]) -> Callable[[dict], Cell]:
        return lambda row: (fn(row), False)

    cols = [
        ("name", plain(lambda r: r["name"])),
        ("loss", plain(lambda r: str(r["loss"]))),
        ("arch", plain(lambda r: str(r["arch"]))),
        ("data", plain(lambda r: f"{r['data']} {r['image_size']}px" if r["image_size"] else str(r["data"]))),
        ("seeds", plain(lambda r: str(r["n_seeds"]))),
        ("steps", plain(lambda r: fmt_stat(r["steps"], r["n_seeds"], digits=0))),
        ("wall s", plain(lambda r: fmt_stat(r["wall_time_s"], r["n_seeds"]))),
        ("steps/s", plain(lambda r: fmt_stat(r["steps_per_s"], r["n_seeds"]))),
    ]
    for name in c.metrics:
        for kind in SECTIONS:
            col = c.columns.get(f"{name}/{kind}")
            if col is not None:
                cols.append((metric_header(name, kind, col, notes), _metric_cell(name, kind)))
    cols += [
        ("D(x)", _d_cell("d_real")),
        ("D(G(z))", _d_cell("d_fake")),
    ]
    if any(r["status"] != "complete" for r in c.rows):
        cols.append(("status", plain(status_cell)))
    return cols


def status_cell(row: dict) -> str:
    """The status, with the first failed run's reason: "diverged (s1: training diverged at step 4 ...)"."""
    errors = row.get("errors") or {}
    if not errors:
        return str(row["status"])
    name, reason = next(iter(errors.items()))
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{row['status']} ({name}: {reason}){more}"


def _metric_cell(name: str, kind: str) -> Callable[[dict], Cell]:
    def cell(row: dict) -> Cell:
        s = row["metrics"][name].get(kind)
        text = fmt_stat(s, row["n_seeds"]) + (STALE_MARK if s and s.get("stale") else "")
        return text, bool(s and s["is_best"])

    return cell


def to_markdown(c: Comparison) -> str:
    notes = setting_notes(c)
    cols = columns(c, notes)
    lines = [
        "| " + " | ".join(h for h, _ in cols) + " |",
        "|" + "|".join("---" if h in TEXT_COLUMNS else "--:" for h, _ in cols) + "|",
    ]
    for row in c.rows:
        cells = [getter(row) for _, getter in cols]
        lines.append("| " + " | ".join(f"**{t}**" if best else t for t, best in cells) + " |")
    return "\n".join(lines) + f"\n\n{legend(notes, has_critic(c))}.\n"


# --- machine-readable ----------------------------------------------------------------------------------
def _finite(value: Any) -> Any:
    """JSON has no NaN/Infinity: a diverged run's non-finite numbers become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def to_json(c: Comparison) -> str:
    return json.dumps(_finite(c.rows), indent=2) + "\n"


def flat_row(row: dict[str, Any], c: Comparison) -> dict[str, Any]:
    out = {k: row[k] for k in ("name", "loss", "arch", "data", "image_size", "status", "n_seeds", "d_is_probability")}
    out["errors"] = "; ".join(f"{n}: {e}" for n, e in (row.get("errors") or {}).items())
    out["seeds"] = ";".join(str(s) for s in row["seeds"])
    out["runs"] = ";".join(row["runs"])
    for key in STATS:
        s = row[key] or {}
        out[f"{key}_mean"], out[f"{key}_std"] = s.get("mean"), s.get("std")
    for name in c.metrics:
        for kind in SECTIONS:
            if f"{name}/{kind}" not in c.columns:
                continue
            s = row["metrics"][name].get(kind) or {}
            for field in ("mean", "std", "n_seeds", "n", "feature_net", "is_best", "stale"):
                value = s.get(field)
                out[f"{name}_{kind}_{field}"] = ";".join(map(str, value)) if isinstance(value, list) else value
    return out


def to_csv(c: Comparison) -> str:
    rows = [_finite(flat_row(r, c)) for r in c.rows]
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def render(c: Comparison, fmt: str) -> str:
    return {"json": to_json, "csv": to_csv, "markdown": to_markdown}[fmt](c)
