"""The metric registry: every metric's name, group, direction and description, and the order
in which tables and plots show them. Adding a metric touches this file (and its group)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ganlab.errors import MetricError


@dataclass(frozen=True)
class Metric:
    name: str
    group: str  # metrics of one group are computed together
    better: str  # "lower" or "higher"
    about: str


METRICS = {
    m.name: m
    for m in (
        Metric("fid", "inception", "lower", "Fréchet Inception Distance, pytorch-fid features (Heusel et al. 2017)"),
        Metric("kid", "inception", "lower", "Kernel Inception Distance, cubic-kernel MMD^2 (Binkowski et al. 2018)"),
        Metric("classifier_fd", "classifier", "lower", "Fréchet distance in ganlab's small classifier's features"),
        Metric("classes_covered", "classifier", "higher", "classes the classifier finds among the samples"),
        Metric("class_kl", "classifier", "lower", "KL(generated || real) of predicted class histograms"),
        Metric("modes_covered", "modes", "higher", "mixture modes with a sample within 3 std"),
        Metric("high_quality_pct", "modes", "higher", "% of samples within 3 std of their nearest mode"),
        Metric("mode_kl", "modes", "lower", "KL(nearest-mode histogram of all samples || uniform)"),
        Metric("mode_kl_hq", "modes", "lower", "KL(nearest-mode histogram of high-quality samples || uniform)"),
        Metric(
            "energy_distance",
            "points",
            "lower",
            "energy distance to the source's own sample()d points, Euclidean (Szekely & Rizzo 2013)",
        ),
        Metric(
            "precision",
            "fidelity",
            "higher",
            "share of samples on the real k-NN manifold, k=3 (Kynkaanniemi et al. 2019)",
        ),
        Metric(
            "recall",
            "fidelity",
            "higher",
            "share of real data on the samples' k-NN manifold, k=3 (Kynkaanniemi et al. 2019)",
        ),
        Metric(
            "density",
            "fidelity",
            "higher",
            "real k-NN balls per sample / k, k=5; 1 on average for a match (Naeem et al. 2020)",
        ),
        Metric("coverage", "fidelity", "higher", "share of real k-NN balls (k=5) holding a sample (Naeem et al. 2020)"),
        Metric("inception_score", "inception_score", "higher", "Inception Score, 10 splits (Salimans et al. 2016)"),
    )
}
FID_DIMS = (64, 192, 768, 2048)  # pytorch-fid's InceptionV3.BLOCK_INDEX_BY_DIM; 2048 = pool3, the standard
DEFAULT_N = {
    "inception": 5000,
    "classifier": 5000,
    "modes": 2500,
    "points": 2000,
    "fidelity": 5000,
    "inception_score": 5000,
}  # pytorch-fid: use >= 2048 for FID
# energy distance: independent draws of n generated and n real points, mean and std over them.
# Measured on ring at n = 2000 (mean +- std over 5 repeats): ring itself -0.0002 +- 0.0009 (unbiased: either side of 0), a
# sampler on 4 of its 8 modes 0.39 +- 0.02, on 1 mode 1.24 +- 0.02; the std is small enough to
# rank runs.
POINT_REPEATS = 5


def parse_metric_names(values: list[str] | str | None) -> list[str] | None:
    """["fid,kid", "mode_kl"] -> ["fid", "kid", "mode_kl"]; unknown names are a MetricError."""
    if not values:
        return None
    names = []
    for value in [values] if isinstance(values, str) else values:
        names += [v.strip() for v in value.split(",") if v.strip()]
    for name in names:
        if name not in METRICS:
            close = difflib.get_close_matches(name, METRICS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise MetricError(f"unknown metric {name!r}{hint}; choose from {', '.join(METRICS)}")
    return list(dict.fromkeys(names))


def primary_metric(names: list[str]) -> str:
    """The one metric that picks the best checkpoint during training."""
    for name in ("fid", "classifier_fd", "modes_covered", "energy_distance"):
        if name in names:
            return name
    return names[0]


def order(names) -> list[str]:
    """`names` in registry order (the display order of tables and plots); unknown names follow,
    sorted (a summary written by a newer ganlab, or a plugin's metric)."""
    names = set(names)
    known = [m for m in METRICS if m in names]
    return known + sorted(names - set(known))


def better(name: str) -> str:
    """ "lower" or "higher"; an unknown metric counts as lower-is-better (distances)."""
    metric = METRICS.get(name)
    return metric.better if metric is not None else "lower"
