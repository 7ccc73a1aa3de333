"""The metric groups: each draws its samples once and computes all of its metrics from them."""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import numpy as np
import torch

from ganlab.errors import MetricError
from ganlab.metrics.subject import Subject

CACHE_FORMAT = 1  # part of the real-feature cache key; bump when the way features are made changes


POINT_GROUPS = ("points", "modes")


def declares_modes(meta: dict[str, Any]) -> bool:
    """The mode metrics' hook: a points source whose meta holds `modes` (a list of centres) and
    `std` (every mode's standard deviation), as MixtureSource does for ring and grid."""
    return "modes" in meta and "std" in meta


def check_applicable(metric, subject: Subject) -> None:
    """Raises a MetricError naming the metrics that do apply, when `metric` does not."""
    from ganlab.metrics import classifier

    name, dataset = metric.name, subject.dataset
    points = subject.data_kind == "points"
    if points and metric.group == "modes" and not declares_modes(subject.data_meta):
        raise MetricError(
            f"metric {name!r} needs a source that declares its modes (meta 'modes' and 'std', as ring "
            f"and grid do); dataset {dataset!r} declares none; use --metrics energy_distance"
        )
    if points and metric.group not in POINT_GROUPS:
        raise MetricError(f"metric {name!r} needs images, but dataset {dataset!r} is points; {_advice(subject)}")
    if not points and metric.group in POINT_GROUPS:
        raise MetricError(f"metric {name!r} needs points, but dataset {dataset!r} is images; {_advice(subject)}")
    if metric.group == "classifier" and not classifier.supports(dataset):
        raise MetricError(
            f"metric {name!r} needs a labelled dataset ({', '.join(classifier.DATASETS)}), "
            f"not {dataset!r}; use --metrics fid,kid (with the Inception weights)"
        )


def _advice(subject: Subject) -> str:
    """What does apply to this subject, said once (never a metric that would refuse in turn)."""
    from ganlab.metrics import classifier

    if subject.data_kind == "points":
        modes = ",modes_covered,high_quality_pct,mode_kl" if declares_modes(subject.data_meta) else ""
        return f"use --metrics energy_distance{modes}"
    if classifier.supports(subject.dataset):
        return "use --metrics classifier_fd,classes_covered,class_kl, or fid,kid with the Inception weights"
    return "use --metrics fid,kid (they need the Inception weights: --fid-weights PATH)"


def sample_count(options, group: str) -> int:
    from ganlab.metrics.registry import DEFAULT_N

    n = options.n if options.n is not None else DEFAULT_N[group]
    if n < 2:
        raise MetricError(f"--n must be at least 2 (a covariance needs two samples), got {n}; pass --n 2 or more")
    return n


def tracked(batches: Iterable, total: int, what: str, options) -> Iterator:
    """Passes batches through, telling options.progress how many samples are done."""
    done = 0
    for batch in batches:
        yield batch
        done += len(batch)
        if options.progress is not None:
            options.progress(what, min(done, total), total)


def subset(count: int, n: int) -> torch.Tensor:
    """min(n, count) indices: all of them, or a fixed seeded random subset in ascending order."""
    if n >= count:
        return torch.arange(count)
    return torch.randperm(count, generator=torch.Generator().manual_seed(0))[:n].sort().values


def real_batches(subject: Subject, n: int, batch_size: int) -> tuple[torch.Tensor, ...]:
    """min(n, size) real examples as float batches in [-1, 1], the range of G's output."""
    real = subject.real()
    images = getattr(real, "images", None)
    if images is not None:
        return images[subset(len(images), n)].float().div(127.5).sub(1.0).split(batch_size)
    return real.sample(n, torch.Generator().manual_seed(0)).split(batch_size)  # a source without .images


# --- inception: fid, kid ---------------------------------------------------------------------------
def inception_group(subject: Subject, names: list[str], options) -> dict[str, dict[str, Any]]:
    from ganlab.metrics import fid, frechet, kid
    from ganlab.run.device import pick_device

    n = sample_count(options, "inception")
    real_count = len(subject.real())
    n_real = min(n, real_count)
    if "kid" in names:
        kid.check_counts(n, n_real, options.kid_subsets, options.kid_subset_size)
    net = fid.feature_net(options.fid_weights, options.dims, str(pick_device(options.device)), options.progress)
    batches = subject.sample_batches(n, options.batch_size, options.seed, on_device=True)  # stay on the device
    fake_batches = (fid.generator_to_unit(b) for b in batches)
    fake = subject.gather(net.features(tracked(fake_batches, n, "generated images", options)))
    real = real_inception_features(subject, n_real, net, options)
    base = {"std": None, "n": n, "n_real": len(real), "dims": options.dims, "feature_net": net.describe()}
    out = {}
    if "fid" in names:
        value = frechet.frechet_distance_features(fake, real)
        out["fid"] = {**base, "value": value}
    if "kid" in names:
        mean, std = kid.kid(fake, real, options.kid_subsets, options.kid_subset_size, seed=options.seed)
        out["kid"] = {**base, "value": mean, "std": std}
    return out


def real_inception_features(subject: Subject, n_real: int, net, options) -> np.ndarray:
    from ganlab.metrics import fid

    key = {
        "dataset": subject.dataset,
        "split": str(subject.data_options.get("split", "train")),
        "image_size": subject.data_shape[-1],
        "n": n_real,
        "dims": net.dims,
        "channels": subject.data_shape[0],
        "options": subject.data_options,
        "root": subject.data_root,
        "weights_sha256": net.sha256,
        "format": CACHE_FORMAT,
    }

    def compute() -> np.ndarray:
        unit = (fid.generator_to_unit(b) for b in real_batches(subject, n_real, options.batch_size))
        return net.features(tracked(unit, n_real, "real images", options))

    return fid.cached_features(key, compute)


# --- classifier: classifier_fd, classes_covered, class_kl ---------------------------------------------
def classifier_group(subject: Subject, names: list[str], options) -> dict[str, dict[str, Any]]:
    from ganlab.metrics import classifier, frechet

    n = sample_count(options, "classifier")
    clf = classifier.get_classifier(subject.dataset, subject.data_shape, subject.data_root)
    # generated images stay on G's device through the classifier (no round trip per batch); under
    # DDP each rank classifies its share and the rows are gathered in order
    fake = tracked(subject.sample_batches(n, 500, options.seed, on_device=True), n, "generated images", options)
    fake_feats, fake_labels = (subject.gather(a) for a in clf.features_and_labels(fake, device=subject.device))
    real_feats, real_labels = clf.features_and_labels(real_batches(subject, n, 500), device=subject.device)
    k = clf.net.head.out_features
    base = {"std": None, "n": n, "n_real": len(real_feats), "feature_net": clf.describe()}
    fd = frechet.frechet_distance_features(fake_feats, real_feats)
    out = {"classifier_fd": {**base, "dims": classifier.FEATURE_DIMS, "value": fd}}
    for name, value in classifier.class_metrics(fake_labels, real_labels, k).items():
        out[name] = {**base, "dims": None, "value": value}
    return {name: out[name] for name in names}


# --- modes: modes_covered, high_quality_pct, mode_kl, mode_kl_hq ---------------------------------------
def modes_group(subject: Subject, names: list[str], options) -> dict[str, dict[str, Any]]:
    from ganlab.metrics import modes

    n = sample_count(options, "modes")
    points = subject.samples(n, options.seed)
    means, std = subject.data_meta["modes"], float(subject.data_meta["std"])
    values = modes.mode_metrics(points, torch.tensor(means), std)
    net = f"nearest of {len(means)} modes, std {std:g}"
    return {
        name: {"value": values[name], "std": None, "n": n, "dims": points.shape[1], "feature_net": net}
        for name in names
    }


# --- points: energy_distance ---------------------------------------------------------------------------
def points_group(subject: Subject, names: list[str], options) -> dict[str, dict[str, Any]]:
    """Energy distance between n generated points and n points from the source's own sample(),
    POINT_REPEATS times on fresh draws of both; value = mean, std = their sample std."""
    from ganlab.metrics import points
    from ganlab.metrics.registry import POINT_REPEATS

    n = sample_count(options, "points")
    real = subject.real()
    mean, std = points.repeated(
        lambda r: subject.samples(n, options.seed + r),
        lambda r: real.sample(n, torch.Generator().manual_seed(options.seed + r)),
        POINT_REPEATS,
    )
    about = f"Euclidean energy distance, mean of {POINT_REPEATS} draws"
    entry = {"value": mean, "std": std, "n": n, "n_real": n, "dims": subject.data_shape[0], "feature_net": about}
    return {name: entry for name in names}


GROUPS = {"inception": inception_group, "classifier": classifier_group, "modes": modes_group, "points": points_group}


def _fidelity_groups() -> dict:
    from ganlab.metrics import fidelity

    return {"fidelity": fidelity.fidelity_group, "inception_score": fidelity.inception_score_group}


GROUPS.update(_fidelity_groups())  # precision, recall, density, coverage; inception_score
