"""Pictures of a comparison: training curves of every row on shared axes, and the final sample grids."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from ganlab import viz
from ganlab.comparison.rows import SECTIONS, Comparison, RunRecord, describe_differs
from ganlab.errors import ConfigError, RunError
from ganlab.losses.readout import CRITIC_KEYS, PROBABILITY_KEYS
from ganlab.metrics.registry import METRICS

# D's outputs: probabilities and a critic's raw scores get panels of their own (never shared axes)
CURVES = (
    ("d_loss", "D loss"),
    ("g_loss", "G loss"),
    *((key, f"{label}, mean sigmoid(D)") for key, label in PROBABILITY_KEYS),
    *((key, f"{label}, mean raw critic score") for key, label in CRITIC_KEYS),
)
ARROWS = {"lower": "↓ lower is better", "higher": "↑ higher is better"}


def metric_history(record: RunRecord) -> dict[str, list[tuple[int, float]]]:
    """metric -> [(step, value)]: every evaluation made during training (summary's
    metrics_history), plus the latest evaluation and best values (each carries its step)."""
    points: dict[str, dict[int, float]] = {}
    for row in [*record.run.metrics(), *record.summary.get("metrics_history", [])]:
        for name in METRICS:
            if isinstance(row.get(name), (int, float)):
                points.setdefault(name, {})[row["step"]] = float(row[name])
    for section in SECTIONS.values():
        for name, entry in (record.summary.get(section) or {}).items():
            if isinstance(entry, dict) and entry.get("step") is not None and entry.get("value") is not None:
                points.setdefault(name, {}).setdefault(int(entry["step"]), float(entry["value"]))
    return {name: sorted(p.items()) for name, p in points.items()}


def _mean_curve(records: list[RunRecord], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Smoothed per-run curves averaged over seeds on the steps all of them logged; mean and std."""
    curves = []
    for r in records:
        rows = [row for row in r.run.metrics() if key in row]
        if rows:
            values = viz._smooth([row[key] for row in rows], max(1, len(rows) // 50))
            curves.append(dict(zip((row["step"] for row in rows), values, strict=False)))
    if not curves:
        return None
    steps = sorted(set.intersection(*(set(c) for c in curves)))
    if not steps:
        return None
    table = np.array([[c[s] for s in steps] for c in curves])  # (seeds, steps)
    return np.array(steps), table.mean(0), table.std(0)


def save_curves(c: Comparison, path: str | Path) -> Path:
    """Losses and D outputs against step, one colour per row with a ± std band over seeds; each
    metric against step where runs were evaluated more than once, else its final value per seed."""
    histories = [[metric_history(r) for r in group] for group in c.groups]
    metrics = [m for m in c.metrics if any(m in h for hs in histories for h in hs)]
    logged = {key for group in c.groups for r in group for row in r.run.metrics()[-1:] for key in row}
    panels = [(k, t) for k, t in CURVES if k in logged or k in ("d_loss", "g_loss")]
    panels += [(m, f"{m}  {ARROWS[METRICS[m].better]}") for m in metrics]
    plt = viz._pyplot()
    nrows = (len(panels) + 1) // 2
    fig, axes = plt.subplots(nrows, 2, figsize=(11, 3.2 * nrows), dpi=100, squeeze=False)
    colors = [plt.get_cmap("tab10")(i % 10) for i in range(len(c.rows))]
    for ax, (key, title) in zip(axes.flat, panels, strict=False):
        if key in dict(CURVES):
            _loss_panel(ax, c, key, colors)
        elif any(len(h.get(key, [])) > 1 for hs in histories for h in hs):
            _metric_curves(ax, c, [[h.get(key) for h in hs] for hs in histories], colors)
        else:
            _metric_spread(ax, c, key, colors)
            title = f"{title}, at the end (dots: seeds; bar: mean ± std)"
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, max(1, len(labels))), fontsize=8)
    fig.suptitle(plot_title(c), fontsize=11)
    fig.tight_layout(rect=(0, 0.04 + 0.02 * (len(labels) // 4), 1, 1))
    return _save(fig, plt, path)


def plot_title(c: Comparison) -> str:
    """What is compared: rows and runs, and the settings every run shares (dataset, arch, steps)."""
    runs = [r for group in c.groups for r in group]
    shared = [
        f"{key} {values.pop()}"
        for key in ("data", "arch", "steps")
        if len(values := {str(r.config.get(key)) for r in runs}) == 1
    ]
    head = f"{len(c.rows)} row{'s' if len(c.rows) != 1 else ''}, {len(runs)} run{'s' if len(runs) != 1 else ''}"
    return f"ganlab compare: {head}" + (f" ({', '.join(shared)})" if shared else "") + "; bands: ± std over seeds"


def _loss_panel(ax, c: Comparison, key: str, colors: list) -> None:
    for row, group, color in zip(c.rows, c.groups, colors, strict=False):
        curve = _mean_curve(group, key)
        if curve is not None:
            steps, mean, std = curve
            ax.plot(steps, mean, color=color, label=row["name"])
            ax.fill_between(steps, mean - std, mean + std, color=color, alpha=0.2, linewidth=0)
    ax.set_xlabel("generator step")


def _metric_curves(ax, c: Comparison, histories: list[list], colors: list) -> None:
    for row, runs, color in zip(c.rows, histories, colors, strict=False):
        for j, points in enumerate(p for p in runs if p):
            xs, ys = zip(*points, strict=False)
            ax.plot(xs, ys, marker="o", color=color, label=row["name"] if j == 0 else None)
    ax.set_xlabel("generator step")


def _metric_spread(ax, c: Comparison, key: str, colors: list) -> None:
    for i, (row, group, color) in enumerate(zip(c.rows, c.groups, colors, strict=False)):
        values = [e["value"] for e in (r.metric("final", key) for r in group) if e]
        ax.scatter([i] * len(values), values, color=color, alpha=0.7, zorder=3)
        cell = row["metrics"][key].get("final")
        if cell is not None:
            ax.errorbar(
                [i + 0.15], [cell["mean"]], yerr=[cell["std"] or 0.0], fmt="_", color="black", capsize=4, markersize=12
            )
    ax.set_xticks(range(len(c.rows)))
    ax.set_xticklabels([row["name"] for row in c.rows], rotation=15, fontsize=7, ha="right")
    ax.set_xlim(-0.5, len(c.rows) - 0.5)


def final_samples(record: RunRecord) -> Path | None:
    """The grid the run wrote last: summary["samples"], else the newest samples/step_*.png."""
    named = record.summary.get("samples")
    if named and (record.run.path / named).is_file():
        return record.run.path / named
    grids = sorted(record.run.samples_dir.glob("step_*.png"))
    return grids[-1] if grids else None


def save_grid(c: Comparison, path: str | Path) -> Path:
    """One row per comparison row, one column per seed, each panel titled with its run name."""
    import matplotlib.image as mpimg

    ncols = max(len(g) for g in c.groups)
    titles = [[panel_title(record, row) for record in group] for group, row in zip(c.groups, c.rows, strict=True)]
    extra_lines = max(t.count("\n") for row_titles in titles for t in row_titles) - 1  # beyond name and step
    plt = viz._pyplot()
    height = 2.9 + 0.15 * extra_lines  # room for the longer titles, so they do not cover the row above
    fig, axes = plt.subplots(
        len(c.groups), ncols, figsize=(2.6 * ncols, height * len(c.groups)), dpi=100, squeeze=False
    )
    found = 0
    for ax_row, group, row_titles in zip(axes, c.groups, titles, strict=False):
        for ax, record, title in zip(ax_row, group, row_titles, strict=False):
            image = final_samples(record)
            if image is not None:
                # nearest: a grid of small images stays sharp squares when matplotlib resizes it
                ax.imshow(mpimg.imread(image), cmap="gray", interpolation="nearest")
                found += 1
            else:
                ax.text(0.5, 0.5, "no samples", ha="center", va="center")
            ax.set_title(title, fontsize=8)
        for ax in ax_row:
            ax.set_xticks([])
            ax.set_yticks([])
        for ax in ax_row[len(group) :]:
            ax.set_visible(False)
    if not found:
        plt.close(fig)
        raise RunError("none of the compared runs has a sample grid (samples/step_*.png); train them first")
    fig.tight_layout()
    return _save(fig, plt, path)


def panel_title(record: RunRecord, row: dict[str, Any]) -> str:
    """Run name, loss and step; plus the settings that tell its row from a row of the same name
    (rows.tell_apart), wrapped to the panel's width: two studies' "hinge-mlp-ring-s0" differ."""
    lines = [record.name, f"{record.config.get('loss')}, step {record.step()}"]
    if row.get("differs"):
        lines += textwrap.wrap(describe_differs(row["differs"]), width=38)
    return "\n".join(lines)


def check_path(path: str | Path, flag: str) -> None:
    """Before any work: --plot/--grid must name a file in a format matplotlib writes (it would
    raise on .txt, and silently append .png to a name without an ending)."""
    from matplotlib.backend_bases import FigureCanvasBase

    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{flag} {str(path)!r} is a folder; pass a file name, e.g. {flag} {path / 'compare.png'}")
    if path.suffix.lower().lstrip(".") not in FigureCanvasBase.get_supported_filetypes():
        raise ConfigError(
            f"{flag} {str(path)!r} must end in .png, .pdf, .svg or another ending matplotlib "
            f"writes; pass e.g. {flag} {path.with_suffix('.png')}"
        )


def _save(fig, plt, path: str | Path) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    except OSError as exc:
        raise RunError(f"cannot write {str(path)!r} ({exc.strerror}); pass a writable path") from exc
    finally:
        plt.close(fig)
    return path
