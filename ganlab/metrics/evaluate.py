"""Evaluation: options, the default metrics per dataset, and `evaluate_run`, which scores a run's
generator and writes the numbers into its summary.json."""

from __future__ import annotations

import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ganlab.errors import GanlabNotice, MetricError, ResultsNotSaved, RunError
from ganlab.metrics.registry import DEFAULT_N, FID_DIMS, METRICS, parse_metric_names
from ganlab.plugins import guard

if TYPE_CHECKING:  # the subject module imports torch; `ganlab --help` should not
    from ganlab.metrics.subject import Subject

Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass
class EvalOptions:
    n: int | None = None  # generated samples; None: DEFAULT_N of each group
    dims: int = 2048  # pytorch-fid feature block: 64, 192, 768 or 2048 (pool3, the standard FID)
    fid_weights: str | None = None  # None: $GANLAB_FID_WEIGHTS, then the torch hub cache
    batch_size: int = 50  # pytorch-fid's default batch size
    device: str = "auto"
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    seed: int = 0  # z for generated samples: the same noise at every evaluation of a run
    progress: Progress | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        """Values are checked here, before weights, checkpoints or data are touched."""
        if self.n is not None and (not isinstance(self.n, int) or self.n < 2):
            raise MetricError(
                f"--n must be at least 2 (a covariance needs two samples), got {self.n}; pass --n 2 or more"
            )
        if self.dims not in FID_DIMS:
            raise MetricError(f"unknown FID --dims {self.dims}; choose one of {', '.join(map(str, FID_DIMS))}")
        for flag, value, low in (
            ("--batch-size", self.batch_size, 1),
            ("--kid-subsets", self.kid_subsets, 1),
            ("--kid-subset-size", self.kid_subset_size, 2),
        ):
            if not isinstance(value, int) or value < low:
                raise MetricError(f"{flag} must be an integer >= {low}, got {value}; pass {flag} {low} or more")


def default_metrics(subject: Subject, options: EvalOptions) -> list[str]:
    """The best metrics available offline for this data: for points, the energy distance (every
    source) and the mode metrics (sources that declare modes); FID when Inception weights are
    on disk, with KID when there are samples enough for its subsets; the classifier metrics for
    labelled image sets."""
    from ganlab.metrics import classifier, fid
    from ganlab.metrics.groups import declares_modes

    if subject.data_kind == "points":
        modes = ["modes_covered", "high_quality_pct", "mode_kl"] if declares_modes(subject.data_meta) else []
        return modes + ["energy_distance"]
    names = []
    if fid.configured_weights(options.fid_weights) is not None:
        n = options.n if options.n is not None else DEFAULT_N["inception"]
        names += ["fid", "kid"] if min(n, len(subject.real())) >= options.kid_subset_size else ["fid"]
    if classifier.supports(subject.dataset):
        names += ["classifier_fd", "classes_covered", "class_kl"]
    if not names:
        raise MetricError(
            f"no metric is available offline for dataset {subject.dataset!r}: FID needs the "
            f"Inception weights; pass --fid-weights PATH or put {fid.hub_weights_path().name} "
            f"in {fid.hub_weights_path().parent}"
        )
    if "fid" not in names:  # the usual headline numbers are missing: say why, and how to get them
        warnings.warn(
            GanlabNotice(
                f"FID and KID left out: the Inception weights {fid.hub_weights_path().name} are not on disk; "
                f"pass --fid-weights PATH or put the file in {fid.hub_weights_path().parent}"
            ),
            stacklevel=2,
        )
    return names


def evaluate(subject: Subject, names: list[str], options: EvalOptions) -> dict[str, dict[str, Any]]:
    """Computes `names` for `subject`; returns {name: {value, std, n, dims, feature_net, step, better}}."""
    from ganlab.metrics import groups

    for name in names:
        if name not in METRICS:
            parse_metric_names([name])  # raises with the list of valid names
        groups.check_applicable(METRICS[name], subject)
    results: dict[str, dict[str, Any]] = {}
    for group in dict.fromkeys(METRICS[n].group for n in names):
        wanted = [n for n in names if METRICS[n].group == group]
        computed = groups.GROUPS[group](subject, wanted, options)
        for name in wanted:
            results[name] = {**computed[name], "step": subject.step, "better": METRICS[name].better}
    return results


def evaluate_run(
    run_path: str | Path,
    metrics: list[str] | str | None = None,
    n: int | None = None,
    checkpoint: str = "last",
    weights: str | None = None,
    replace: bool = False,
    **options: Any,
) -> dict[str, dict[str, Any]]:
    """Scores a run's generator (checkpoint "last", "best" or a file) and merges the results into
    summary["metrics"] (see `merge`; `replace` lets a smaller-n result replace a larger-n one of the
    same step); returns them. `weights`: "ema", "raw", or None for the EMA generator when the run
    kept one; each result records which. A run folder that cannot be written is still scored:
    ResultsNotSaved then carries the results. Under torchrun every rank samples its share and
    rank 0 alone locks and writes (issue 13)."""
    from ganlab import files
    from ganlab.metrics.subject import Subject
    from ganlab.run import distributed
    from ganlab.run.device import pick_device
    from ganlab.run.lock import RunLock
    from ganlab.run.restore import restore
    from ganlab.run.rundir import open_run

    run = open_run(run_path)
    opts = EvalOptions(n=n, **options)
    names = parse_metric_names(metrics)  # unknown names fail before any work
    world = distributed.init()
    device = distributed.device_for(pick_device(opts.device), world)
    opts.device = str(device)
    blocked = files.unwritable(run.path) if world.is_main else None  # a read-only archive: score, say not saved
    # held from before the checkpoint is read until the merge into summary.json: a training that
    # finishes meanwhile would rewrite the summary and drop these results (issue 19). A folder
    # nobody can write needs no lock (and cannot hold one); ranks other than 0 write nothing.
    with RunLock(run.path) if world.is_main and blocked is None else nullcontext():
        restored = restore(run.path, which=checkpoint, device=str(device), weights=weights)
        subject = Subject.from_restored(restored)
        subject.world = world
        names = names or default_metrics(subject, opts)
        with guard.translating(restored.owners()):  # the arch's G and the dataset's sample() run in here
            computed = evaluate(subject, names, opts)
        results = {name: {**e, "weights": restored.weights} for name, e in computed.items()}
        if not world.is_main:
            return results
        for note in small_n_notes(results):
            warnings.warn(GanlabNotice(note), stacklevel=2)
        if blocked is not None:
            raise ResultsNotSaved(not_saved(run.summary_file, files.reason(blocked)), results)
        try:
            summary = run.summary()
            sections, kept = merge(summary, results, checkpoint, replace)
            run.update_summary(**sections)
        except (RunError, OSError) as exc:  # a full disk, a torn summary.json: the numbers are still shown
            why = files.reason(exc) if isinstance(exc, OSError) else str(exc)
            raise ResultsNotSaved(not_saved(run.summary_file, why), results) from exc
    for note in kept:
        warnings.warn(GanlabNotice(note), stacklevel=2)
    return results


def not_saved(summary_file: Path, why: str) -> str:
    return (
        f"could not write {str(summary_file)!r} ({why}); the numbers above were not saved: "
        f"copy the run to a writable folder (cp -r {summary_file.parent} DEST) and evaluate the copy"
    )


# Fréchet distances fit a Gaussian to the features: with fewer samples than feature dimensions
# the covariance is singular and the distance is biased upwards by an amount that depends on n
# (Chong & Forsyth 2020), so such values rank nothing. Their name -> why the dims matter.
FRECHET = ("fid", "classifier_fd")
HISTORY_KEY = "evaluations"  # summary.json: every `ganlab eval`, newest last


def small_n_notes(results: dict[str, dict[str, Any]]) -> list[str]:
    """One note per Fréchet metric computed from fewer samples than its feature dimension."""
    notes = []
    for name in FRECHET:
        entry = results.get(name)
        if not entry or not entry.get("dims"):
            continue
        n = min(entry["n"], entry.get("n_real") or entry["n"])
        if n < entry["dims"]:
            notes.append(
                f"{name} from n={n} samples in {entry['dims']} feature dimensions: the covariance is singular "
                f"(n < {entry['dims']}), so the value is biased by n and only comparable at the same n; "
                f"pass --n {entry['dims']} or more for a number that means something"
            )
    return notes


def merge(
    summary: dict[str, Any], results: dict[str, dict[str, Any]], checkpoint: str, replace: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """The summary sections after one evaluation, and a note per metric kept from before.

    Every evaluation is appended to summary["evaluations"]; summary["metrics"] gets each new
    result unless it holds one of the same step, generator and feature setting made from more
    samples: a quick `eval --n 50` does not silently replace an n=20000 FID (issue 18)."""
    current = dict(summary.get("metrics") or {})
    kept: dict[tuple, list[str]] = {}  # (old n, new n, step) -> names kept from before
    for name, new in results.items():
        old = current.get(name)
        if not replace and old is not None and _same_setting(old, new) and (old.get("n") or 0) > (new.get("n") or 0):
            kept.setdefault((old["n"], new["n"], old["step"]), []).append(name)
            continue
        current[name] = new
    notes = [
        f"summary.json keeps {', '.join(names)} from n={old_n} over this n={new_n} evaluation (both at step {step}; "
        f"this one is in its {HISTORY_KEY!r} list); pass --replace to record it as the run's"
        for (old_n, new_n, step), names in kept.items()
    ]
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "checkpoint": checkpoint, "metrics": results}
    return {"metrics": current, HISTORY_KEY: [*(summary.get(HISTORY_KEY) or []), record]}, notes


def _same_setting(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return all(old.get(k) == new.get(k) for k in ("step", "weights", "dims", "feature_net"))
