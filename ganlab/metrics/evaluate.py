"""Evaluation: options, the default metrics per dataset, and `evaluate_run`, which scores a run's
generator and writes the numbers into its summary.json."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ganlab.errors import GanlabNotice, MetricError
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
    **options: Any,
) -> dict[str, dict[str, Any]]:
    """Scores a run's generator (checkpoint "last", "best" or a file) and merges the results into
    summary["metrics"]; returns them. `weights`: "ema", "raw", or None for the EMA generator when
    the run kept one; each result records which."""
    from ganlab.metrics.subject import Subject
    from ganlab.run.device import pick_device
    from ganlab.run.lock import RunLock
    from ganlab.run.restore import restore
    from ganlab.run.rundir import open_run

    run = open_run(run_path)
    opts = EvalOptions(n=n, **options)
    names = parse_metric_names(metrics)  # unknown names fail before any work
    # held from before the checkpoint is read until the merge into summary.json: a training that
    # finishes meanwhile would rewrite the summary and drop these results (issue 19)
    with RunLock(run.path):
        restored = restore(run.path, which=checkpoint, device=str(pick_device(opts.device)), weights=weights)
        subject = Subject.from_restored(restored)
        names = names or default_metrics(subject, opts)
        with guard.translating(restored.owners()):  # the arch's G and the dataset's sample() run in here
            computed = evaluate(subject, names, opts)
        results = {name: {**e, "weights": restored.weights} for name, e in computed.items()}
        run.update_summary(metrics={**run.summary().get("metrics", {}), **results})
    return results
