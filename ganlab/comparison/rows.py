"""Runs -> comparison rows: find runs, group seeds, mean ± std, best per column, sorting (no rendering)."""

from __future__ import annotations

import difflib
import glob
import os
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ganlab.errors import ConfigError, GanlabError, RunError
from ganlab.losses.readout import d_output_keys
from ganlab.metrics import registry as metric_registry
from ganlab.run.rundir import RunDir

# Settings that do not change what is trained: runs differing only in these are seeds of one
# experiment. seed/name/runs_dir by definition; the rest only move files or pictures around
# (sample grids use their own fixed-noise generator, see Trainer.__init__).
NOT_EXPERIMENT = ("seed", "name", "runs_dir", "data_root", "sample_every", "checkpoint_every", "n_samples", "eval_n")

# Non-metric sort keys and their direction (True: larger first).
OTHER_SORT_KEYS = {
    "name": False,
    "steps": True,
    "wall_time_s": False,
    "steps_per_s": True,
    "d_real": False,
    "d_fake": False,
}
SECTIONS = {"final": "metrics", "best": "metrics_best"}  # column kind -> summary.json section


@dataclass
class RunRecord:
    """One run as compare sees it: its saved config and summary."""

    run: RunDir
    config: dict[str, Any]
    summary: dict[str, Any]

    @property
    def name(self) -> str:
        return self.run.name

    def experiment(self) -> tuple:
        """The config with seed and bookkeeping removed: equal for seeds of one experiment."""
        return tuple(sorted((k, repr(v)) for k, v in self.config.items() if k not in NOT_EXPERIMENT))

    def status(self) -> str:
        """The summary's status, except for a run that never finished: "running" while a process
        holds its lock, "crashed" once none does (killed, out of memory, power cut)."""
        said = self.summary.get("status")
        if said not in (None, "running"):
            return said
        from ganlab.run.lock import writer

        return "running" if writer(self.run.path) is not None else "crashed"

    def step(self) -> int | None:
        if "step" in self.summary and self.summary.get("status") != "running":
            return self.summary["step"]
        rows = self.run.metrics()  # a run in progress or killed: its log says how far it got
        return rows[-1]["step"] if rows else self.summary.get("step")

    def stale(self, entry: dict[str, Any]) -> bool:
        """A final-metric entry measured before the run's last step (a resume trained on since)."""
        step, at = self.step(), entry.get("step")
        return step is not None and at is not None and at < step

    def d_output(self, which: str) -> float | None:
        """D's mean output on "real" or "fake" data over the last 100 steps: a probability, or a
        critic's raw score when the run's loss says d_is_probability = False."""
        final = self.summary.get("final_mean_last_100") or self.summary.get("final") or {}
        real, fake = d_output_keys(self.summary.get("d_is_probability", True))
        return final.get((real if which == "real" else fake)[0])

    def metric(self, kind: str, name: str) -> dict[str, Any] | None:
        return (self.summary.get(SECTIONS[kind]) or {}).get(name)


@dataclass
class Comparison:
    rows: list[dict[str, Any]]
    groups: list[list[RunRecord]]  # parallel to rows: the runs behind each row
    metrics: list[str]  # metric columns, in display order
    columns: dict[str, dict[str, Any]]  # "fid/final" -> {"comparable", "n", "feature_net", "better"}
    warnings: list[str] = field(default_factory=list)


# --- finding runs ---------------------------------------------------------------------------------
def find_runs(patterns: Iterable[str]) -> tuple[list[RunDir], list[str]]:
    """Run folders named by paths or globs; a folder holding runs (a study) stands for its runs."""
    patterns = list(patterns)
    found: dict[Path, RunDir] = {}
    warnings: list[str] = []
    for pattern in patterns:
        is_glob = glob.has_magic(pattern)
        paths = [Path(p) for p in sorted(glob.glob(pattern))] if is_glob else [Path(pattern)]
        if is_glob and not paths:
            warnings.append(f"no folder matches {pattern!r}")
        for path in paths:
            runs, problem = _runs_at(path, explicit=not is_glob)
            warnings += [problem] if problem else []
            found.update((r.path.resolve(), r) for r in runs)
    if not found:
        given = ", ".join(repr(p) for p in patterns) or "nothing"
        why = f" ({'; '.join(w.removesuffix('; skipped') for w in warnings)})" if warnings else ""
        raise RunError(
            f"no runs matched {given}{why}; pass run folders made by `ganlab train` or globs such as 'runs/*'"
        )
    return list(found.values()), warnings


def _runs_at(path: Path, explicit: bool) -> tuple[list[RunDir], str | None]:
    if not path.exists():
        return [], f"{str(path)!r} does not exist; skipped"
    if not path.is_dir():
        return [], (f"{str(path)!r} is a file, not a run folder; skipped" if explicit else None)
    run = RunDir(path)
    if run.is_run:
        return [run], None
    children = [RunDir(c) for c in sorted(path.iterdir()) if RunDir(c).is_run]
    if children:
        return children, None
    return [], (
        f"{str(path)!r} is not a ganlab run (no config.toml) and holds none; skipped "
        "(pass folders made by `ganlab train`)"
    )


def load_record(run: RunDir) -> RunRecord:
    summary = run.summary()
    config = summary.get("config") or run.config().to_dict()
    return RunRecord(run, config, summary)


# --- rows --------------------------------------------------------------------------------------------
def stat(values: Iterable[float | None]) -> dict[str, Any] | None:
    """Mean and sample standard deviation (n - 1) over seeds; std is None for a single value."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return None
    return {
        "mean": statistics.fmean(vals),
        "std": statistics.stdev(vals) if len(vals) > 1 else None,
        "n_seeds": len(vals),
    }


SEPARATORS = "-_. "


def group_name(records: list[RunRecord]) -> str:
    """The runs' common stem ("lsgan" for lsgan-s0, lsgan-s1), or their common prefix when it ends
    at a separator in every name ("study-a" for study-a-x, study-a-y); otherwise the first name
    and a count: a prefix cut mid-word ("t" of "try" and "test") names nothing (issue 18)."""
    names = [r.name for r in records]
    if len(names) == 1:
        return names[0]
    stems = {re.sub(r"[-_.]?(s|seed)\d+$", "", n) for n in names}
    if len(stems) == 1 and stems != {""}:
        return stems.pop()
    prefix = os.path.commonprefix(names)
    whole_words = all(len(n) == len(prefix) or n[len(prefix)] in SEPARATORS for n in names)
    if not whole_words:  # back to the last separator: "study-ab" and "study-ac" share "study"
        cut = max(prefix.rfind(c) for c in SEPARATORS)
        prefix = prefix[:cut] if cut > 0 else ""
    prefix = prefix.rstrip(SEPARATORS)
    return prefix or f"{names[0]} (+{len(names) - 1})"


def one_per_seed(records: list[RunRecord]) -> tuple[list[RunRecord], list[tuple[RunRecord, RunRecord]]]:
    """The runs of one experiment, one per seed: repeats of a seed (the same config run twice)
    are one sample, not two, and would shrink the std. Keeps the furthest trained, then the
    newest folder; returns the others as (repeat, the run kept for its seed)."""

    def rank(r: RunRecord) -> tuple:
        return (r.step() or 0, r.run.config_file.stat().st_mtime_ns if r.run.config_file.exists() else 0, r.name)

    by_seed: dict[str, list[RunRecord]] = {}
    for r in records:
        by_seed.setdefault(repr(r.config.get("seed")), []).append(r)
    kept, repeats = [], []
    for same in by_seed.values():
        keeper = max(same, key=rank)
        kept.append(keeper)
        repeats += [(r, keeper) for r in same if r is not keeper]
    return kept, repeats


def _only(values: set) -> Any:
    """The single value of a set, or a sorted list when the runs of a row disagree."""
    if len(values) == 1:
        return next(iter(values))
    try:
        return sorted(values)
    except TypeError:  # e.g. None next to a number
        return sorted(values, key=repr)


def metric_stat(records: list[RunRecord], kind: str, name: str) -> dict[str, Any] | None:
    pairs = [(r, e) for r, e in ((r, r.metric(kind, name)) for r in records) if e]
    entries = [e for _, e in pairs]
    out = stat(e.get("value") for e in entries)
    if out is None:
        return None
    # final metrics measured before the run's last step; a best is of an earlier step by nature
    out["stale"] = kind == "final" and any(r.stale(e) for r, e in pairs)
    out["step"] = _only({e.get("step") for e in entries})  # the step(s) it was measured at
    out["n"] = _only({e.get("n") for e in entries})
    out["feature_net"] = _only({e.get("feature_net") for e in entries})
    out["weights"] = _only({e.get("weights", "raw") for e in entries})  # the generator that was scored
    out["is_best"] = False
    return out


def build_row(records: list[RunRecord], metrics: list[str]) -> dict[str, Any]:
    first = records[0].config
    statuses = {r.status() for r in records}
    row: dict[str, Any] = {
        "name": group_name(records),
        "runs": [r.name for r in records],
        "paths": [str(r.run.path) for r in records],
        "seeds": [r.config.get("seed") for r in records],
        "n_seeds": len(records),
        "loss": first.get("loss"),
        "arch": first.get("arch"),
        "data": first.get("data"),
        "image_size": first.get("image_size"),
        "status": _only(statuses) if len(statuses) == 1 else ", ".join(sorted(statuses)),
        # why a run diverged or failed (one line each, from its summary), by run name
        "errors": {r.name: r.summary["error"] for r in records if r.summary.get("error")},
        # which generator the grids and training-time metrics used: "ema" (--ema-decay) or "raw"
        "weights": _only({r.summary.get("weights", "raw") for r in records}),
        "steps": stat(r.step() for r in records),
        "wall_time_s": stat(r.summary.get("wall_time_s") for r in records),
        "steps_per_s": stat(r.summary.get("steps_per_s") for r in records),
        "d_real": stat(r.d_output("real") for r in records),
        "d_fake": stat(r.d_output("fake") for r in records),
        # False when the loss's D is a critic (Loss.d_is_probability): d_real/d_fake then hold its
        # mean raw scores (critic_real/critic_fake in metrics.jsonl); runs from before the flag count as True
        "d_is_probability": all(r.summary.get("d_is_probability", True) for r in records),
    }
    row["metrics"] = {}
    for name in metrics:
        cells = {kind: metric_stat(records, kind, name) for kind in SECTIONS}
        row["metrics"][name] = {k: v for k, v in cells.items() if v is not None}
    return row


def tell_apart(rows: list[dict[str, Any]], groups: list[list[RunRecord]]) -> None:
    """Rows whose runs share a name stem (two studies that differ only in --pack both name their
    runs nonsaturating-mlp-grid-sN) get the settings that differ between them appended, and the
    same settings as `differs`: "nonsaturating-mlp-grid (pack=2)"."""
    by_name: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_name.setdefault(row["name"], []).append(i)
    for name, indices in by_name.items():
        if len(indices) < 2:
            continue
        settings = [_settings(groups[i][0].config) for i in indices]
        keys = sorted(k for k in set().union(*settings) if len({repr(s.get(k)) for s in settings}) > 1)
        if not keys:  # the same experiment in two folders (no grouping): nothing to tell them apart by
            continue
        for i, values in zip(indices, settings, strict=True):
            rows[i]["differs"] = {k: values.get(k) for k in keys}
            rows[i]["name"] = f"{name} ({describe_differs(rows[i]['differs'])})"


def describe_differs(differs: dict[str, Any]) -> str:
    """ "pack=2, loss_options.lambda_gp=default": None is an option the row's runs left unset."""
    return ", ".join(f"{k}={'default' if v is None else v}" for k, v in differs.items())


def _settings(config: dict[str, Any]) -> dict[str, Any]:
    """A run's experiment settings, option tables flattened: {"pack": 2, "arch_options.hidden": 128}."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key in NOT_EXPERIMENT:
            continue
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def metric_names(records: list[RunRecord]) -> list[str]:
    names = {m for r in records for s in SECTIONS.values() for m in (r.summary.get(s) or {})}
    return metric_registry.order(names)


# What must agree for one metric column to be comparable: (name in messages, what differs).
FACETS = (("n", "sample counts"), ("feature_net", "feature networks"), ("data", "datasets"), ("size", "image sizes"))


def setting(record: RunRecord, entry: dict[str, Any]) -> tuple:
    """(n, feature net, dataset, image size) behind one metric value: numbers made on different
    data or at different resolutions do not rank runs, even with the same n and network."""
    data = record.summary.get("data") or {}
    shape = data.get("shape") or []
    size = f"{shape[-1]}px" if data.get("kind") == "image" and shape else record.config.get("image_size")
    return (entry.get("n"), entry.get("feature_net"), record.config.get("data"), size)


def describe_column(records: list[RunRecord], kind: str, name: str) -> dict[str, Any] | None:
    """n, feature net and direction of one metric column; comparable only if all runs agree on
    n, feature net, dataset and image size."""
    by_setting: dict[tuple, list[str]] = {}
    better = metric_registry.better(name)  # a summary's own "better" field wins below
    for r in records:
        entry = r.metric(kind, name)
        if entry:
            by_setting.setdefault(setting(r, entry), []).append(r.name)
            better = entry.get("better", better)
    if not by_setting:
        return None
    settings = list(by_setting)
    n, net = settings[0][:2] if len(settings) == 1 else (None, None)
    return {"comparable": len(by_setting) == 1, "n": n, "feature_net": net, "better": better, "settings": by_setting}


def mismatch_warning(column: str, settings: dict[tuple, list[str]]) -> str:
    """Names what differs (n, feature network, dataset, image size) and the fix for that cause."""
    differ = [i for i in range(len(FACETS)) if len({key[i] for key in settings}) > 1]
    parts = []
    for key, names in settings.items():
        extra = "".join(f" {key[i]}" for i in differ if i >= 2)
        parts.append(f"n={key[0]} {key[1]}{extra} ({', '.join(names[:3])}{' ...' if len(names) > 3 else ''})")
    causes = " and ".join(f"different {FACETS[i][1]}" for i in differ)
    fix = (
        "compare runs of one dataset at one image size"
        if any(i >= 2 for i in differ)
        else "evaluate them alike: `ganlab eval RUN --n N` with the same --dims/--fid-weights for every run"
    )
    return (
        f"column {column} mixes {'; '.join(parts)}: values are not comparable ({causes}), so no best is marked; {fix}"
    )


def mark_best(rows: list[dict[str, Any]], columns: dict[str, dict[str, Any]]) -> None:
    """Flags the best mean of each comparable metric column: ties are all flagged, but a column
    where every row ties (or with one row) flags none, since nothing stands out there."""
    for key, col in columns.items():
        name, kind = key.split("/")
        cells = [c for row in rows if (c := row["metrics"][name].get(kind)) and not c.get("stale")]
        if not col["comparable"] or len(cells) < 2:
            continue
        pick = min if col["better"] == "lower" else max
        best = pick(c["mean"] for c in cells)
        if all(c["mean"] == best for c in cells):
            continue
        for c in cells:
            c["is_best"] = c["mean"] == best


# --- sorting ------------------------------------------------------------------------------------------
def sort_key_names(comparison: Comparison) -> list[str]:
    best = [f"{m}_best" for m in comparison.metrics if f"{m}/best" in comparison.columns]
    return comparison.metrics + best + list(OTHER_SORT_KEYS)


def sort_rows(comparison: Comparison, key: str) -> None:
    """Best first for metrics (by their "better"), fastest first for steps/s; missing values last."""
    valid = sort_key_names(comparison)
    if key not in valid:
        close = difflib.get_close_matches(key, valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        choices = ", ".join(valid) if comparison.metrics else ", ".join(valid) + " (no run has metrics yet)"
        raise ConfigError(f"unknown --sort key {key!r}{hint}; choose from: {choices}")
    name, kind = (key[:-5], "best") if key.endswith("_best") and key[:-5] in comparison.metrics else (key, "final")
    if name in comparison.metrics:
        col = comparison.columns.get(f"{name}/{kind}")
        descending = col is not None and col["better"] == "higher"
        value = lambda row: (row["metrics"][name].get(kind) or {}).get("mean")  # noqa: E731
    else:
        descending = OTHER_SORT_KEYS[key]
        value = lambda row: row[key] if key == "name" else (row[key] or {}).get("mean")  # noqa: E731
    order = sorted(range(len(comparison.rows)), key=lambda i: _sortable(value(comparison.rows[i]), descending))
    comparison.rows = [comparison.rows[i] for i in order]
    comparison.groups = [comparison.groups[i] for i in order]


def _sortable(value: Any, descending: bool) -> tuple:
    if value is None:
        return (1, 0)
    if descending:
        return (0, -value)
    return (0, value)


# --- the entry point -------------------------------------------------------------------------------------
def compare(patterns: Iterable[str], group: bool = True, sort: str | None = None) -> Comparison:
    """Reads runs named by paths/globs into table rows; problems become warnings, not failures,
    so the table shows whatever can be shown. Raises RunError only when no run is readable."""
    runs, warnings = find_runs(patterns)
    records = []
    for run in runs:
        try:
            records.append(load_record(run))
        except GanlabError as exc:
            warnings.append(f"skipped {str(run.path)!r}: {exc}")
    if not records:
        raise RunError("none of the matched runs could be read; " + "; ".join(warnings))
    return compare_records(records, group, sort, warnings)


def compare_records(
    records: list[RunRecord], group: bool = True, sort: str | None = None, warnings: list[str] | None = None
) -> Comparison:
    groups: dict[tuple, list[RunRecord]] = {}
    for r in records:
        groups.setdefault(r.experiment() if group else (str(r.run.path),), []).append(r)
    warnings = list(warnings or [])
    grouped: list[list[RunRecord]] = []
    repeats: list[tuple[RunRecord, RunRecord]] = []
    for g in groups.values():
        kept, dropped = one_per_seed(g)
        grouped.append(sorted(kept, key=lambda r: (r.config.get("seed") or 0, r.name)))
        repeats += dropped
    records = [r for g in grouped for r in g]
    warnings += repeat_warnings(repeats)
    metrics = metric_names(records)
    comparison = Comparison([build_row(g, metrics) for g in grouped], grouped, metrics, {}, warnings)
    tell_apart(comparison.rows, grouped)
    comparison.warnings += stale_warnings(records)
    add_columns(comparison, records)
    mark_best(comparison.rows, comparison.columns)
    missing = [r.name for r in records if not r.summary.get("metrics")]
    if missing:
        listed = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        comparison.warnings.append(
            f'{len(missing)} run(s) have no evaluation metrics (shown as "-"): '
            f"{listed}; compute them with `ganlab eval RUN`"
        )
    if sort:
        sort_rows(comparison, sort)
    return comparison


def repeat_warnings(repeats: list[tuple[RunRecord, RunRecord]]) -> list[str]:
    """One line naming the runs left out as repeats of a seed that a run of their row has."""
    if not repeats:
        return []
    pairs = [f"{r.name} (seed {r.config.get('seed')}, as {keeper.name})" for r, keeper in repeats]
    return [
        f"{len(pairs)} run(s) repeat a seed with the same config and are left out: {', '.join(pairs[:5])}"
        f"{' ...' if len(pairs) > 5 else ''}; each seed counts once (its furthest trained run)"
    ]


def stale_warnings(records: list[RunRecord]) -> list[str]:
    """Runs whose final metrics predate their last step (trained on after `ganlab eval`)."""
    stale = []
    for r in records:
        steps = {e.get("step") for e in (r.summary.get("metrics") or {}).values() if r.stale(e)}
        if steps:
            stale.append(f"{r.name} (measured at step {', '.join(map(str, sorted(steps)))}, now at {r.step()})")
    if not stale:
        return []
    return [
        f"stale metrics, marked (stale) and not ranked: {', '.join(stale[:5])}{' ...' if len(stale) > 5 else ''}; "
        "re-run `ganlab eval RUN` for numbers of the current generator"
    ]


def add_columns(comparison: Comparison, records: list[RunRecord]) -> None:
    """One column per metric and kind that some run has; a warning for each that mixes settings."""
    for name in comparison.metrics:
        for kind in SECTIONS:
            col = describe_column(records, kind, name)
            if col is None:
                continue
            comparison.columns[f"{name}/{kind}"] = col
            if not col["comparable"]:
                comparison.warnings.append(mismatch_warning(f"{name} ({kind})", col["settings"]))
