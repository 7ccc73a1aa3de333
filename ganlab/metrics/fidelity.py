"""Fidelity and diversity measured apart, in a feature space: improved precision and recall
(Kynkaanniemi et al. 2019, k = 3), density and coverage (Naeem et al. 2020, k = 5), and the
Inception Score (Salimans et al. 2016, 10 splits).

Precision/recall/density/coverage use pytorch-fid's Inception features when its weights are on disk,
else the offline classifier's features (labelled sets); each result names its feature net. The
k-NN manifold of a set is the union of balls around its points, each with the distance to its k-th
nearest neighbour in that set as radius (the point itself excluded).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ganlab.errors import MetricError

K_PR = 3  # Kynkaanniemi et al. 2019, section 3: k = 3 balanced sensitivity and robustness
K_DC = 5  # Naeem et al. 2020, section 4: k = 5
IS_SPLITS = 10  # Salimans et al. 2016's reference code
CHUNK = 1024  # rows of a distance matrix held at once: 1024 x 5000 float64 = 40 MB
# cdist through matrix products gives d(a, b) and d(b, a) that differ in the last bits, so a point
# at exactly the k-th-neighbour distance (duplicates, identical sets) could fall out of a ball the
# definitions' "<=" puts it in; radii are widened by this relative slack, far below any real gap.
SLACK = 1e-9


def _distances(a: torch.Tensor, b: torch.Tensor):
    """(rows of a, all of b) Euclidean distance blocks, CHUNK rows at a time."""
    for start in range(0, len(a), CHUNK):
        yield start, torch.cdist(a[start : start + CHUNK], b)


def knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row of x to its k-th nearest other row (the row itself, at 0, is skipped)."""
    if len(x) <= k:
        raise MetricError(f"a k-NN radius with k = {k} needs more than {k} samples, got {len(x)}; pass a larger --n")
    out = torch.empty(len(x), dtype=x.dtype)
    for start, d in _distances(x, x):
        out[start : start + len(d)] = d.kthvalue(k + 1, dim=1).values
    return out * (1 + SLACK)


def _as_tensor(feats: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(feats), dtype=torch.float64)


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = K_PR) -> dict[str, float]:
    """precision: share of fake samples inside the real k-NN manifold; recall: share of real
    samples inside the fake k-NN manifold (Kynkaanniemi et al. 2019, eq. 1-3)."""
    r, f = _as_tensor(real), _as_tensor(fake)
    return {"precision": _inside(f, r, knn_radii(r, k)), "recall": _inside(r, f, knn_radii(f, k))}


def _inside(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> float:
    hits = 0
    for _start, d in _distances(points, centres):
        hits += int((d <= radii[None, :]).any(dim=1).sum())
    return hits / len(points)


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = K_DC) -> dict[str, float]:
    """density: (1 / kM) sum over fake j of the number of real balls holding j (can exceed 1);
    coverage: share of real samples whose ball holds at least one fake sample (Naeem et al. 2020,
    eq. 4-5). Both use the real k-NN radii only."""
    r, f = _as_tensor(real), _as_tensor(fake)
    radii = knn_radii(r, k)
    count = 0
    for _start, d in _distances(f, r):
        count += int((d <= radii[None, :]).sum())
    covered = 0
    for start, d in _distances(r, f):
        covered += int((d.min(dim=1).values <= radii[start : start + len(d)]).sum())
    return {"density": count / (k * len(f)), "coverage": covered / len(r)}


def inception_score(logits: np.ndarray, splits: int = IS_SPLITS) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) on each of `splits` equal parts; (mean, std) over the parts,
    as Salimans et al. 2016's code reports it."""
    if len(logits) < splits:
        raise MetricError(
            f"the Inception Score uses {splits} splits and needs at least {splits} samples; pass a larger --n"
        )
    p = torch.softmax(torch.as_tensor(logits, dtype=torch.float64), dim=1)
    scores = []
    for part in p.chunk(splits):  # the code's split: consecutive blocks of n // splits
        py = part.mean(dim=0, keepdim=True)
        kl = (part * (torch.log(part.clamp_min(1e-30)) - torch.log(py))).sum(dim=1).mean()
        scores.append(float(torch.exp(kl)))
    return float(np.mean(scores)), float(np.std(scores))


# --- metric groups (ganlab.metrics.groups.GROUPS) ----------------------------------------------
def fidelity_group(subject, names: list[str], options) -> dict[str, dict[str, Any]]:
    """precision, recall, density, coverage on one set of real and generated features."""
    real, fake, base = _features(subject, options)
    values: dict[str, float] = {}
    if {"precision", "recall"} & set(names):
        values |= precision_recall(real, fake)
    if {"density", "coverage"} & set(names):
        values |= density_coverage(real, fake)
    k = {"precision": K_PR, "recall": K_PR, "density": K_DC, "coverage": K_DC}
    return {name: {**base, "value": values[name], "k": k[name]} for name in names}


def _features(subject, options) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    from ganlab.metrics import classifier, fid, groups

    n = groups.sample_count(options, "fidelity")
    if fid.configured_weights(options.fid_weights) is not None:
        from ganlab.run.device import pick_device

        net = fid.feature_net(options.fid_weights, options.dims, str(pick_device(options.device)), options.progress)
        samples = subject.sample_batches(n, options.batch_size, options.seed, on_device=True)  # stay on the device
        batches = (fid.generator_to_unit(b) for b in samples)
        fake = subject.gather(net.features(groups.tracked(batches, n, "generated images", options)))
        real = groups.real_inception_features(subject, min(n, len(subject.real())), net, options)
        return real, fake, {"std": None, "n": n, "n_real": len(real), "dims": net.dims, "feature_net": net.describe()}
    if not classifier.supports(subject.dataset):
        raise MetricError(
            f"precision, recall, density and coverage need Inception features (pass --fid-weights PATH or put "
            f"{fid.hub_weights_path().name} in {fid.hub_weights_path().parent}) or, offline, a labelled dataset "
            f"({', '.join(classifier.DATASETS)}), not {subject.dataset!r}"
        )
    clf = classifier.get_classifier(subject.dataset, subject.data_shape, subject.data_root)
    images = groups.tracked(
        subject.sample_batches(n, 500, options.seed, on_device=True), n, "generated images", options
    )
    fake = subject.gather(clf.features_and_labels(images, device=subject.device)[0])
    real, _ = clf.features_and_labels(groups.real_batches(subject, n, 500), device=subject.device)
    dims = classifier.FEATURE_DIMS
    return real, fake, {"std": None, "n": n, "n_real": len(real), "dims": dims, "feature_net": clf.describe()}


def inception_score_group(subject, names: list[str], options) -> dict[str, dict[str, Any]]:
    """The Inception Score from pool3 features and the weights' own classification head."""
    from ganlab.metrics import fid, groups
    from ganlab.run.device import pick_device

    n = groups.sample_count(options, "inception_score")
    net = fid.feature_net(options.fid_weights, 2048, str(pick_device(options.device)), options.progress)
    head = classification_head(net.weights)
    batches = (fid.generator_to_unit(b) for b in subject.sample_batches(n, options.batch_size, options.seed))
    pool3 = subject.gather(net.features(groups.tracked(batches, n, "generated images", options)))
    mean, std = inception_score(pool3.astype(np.float64) @ head.T)
    about = f"{net.describe()}, 1008-way head, {IS_SPLITS} splits"
    return {"inception_score": {"value": mean, "std": std, "n": n, "n_real": 0, "dims": 2048, "feature_net": about}}


def classification_head(weights) -> np.ndarray:
    """(1008, 2048) logit weights of the Inception graph. The FID weights keep torchvision's `fc`
    layer of the 2015-12-05 graph; like Salimans et al.'s code (pool3 @ W, no bias) and
    torch-fidelity's "logits_unbiased", the bias is left out."""
    from ganlab.metrics import fid

    state = fid._load_state(weights)
    if "fc.weight" not in state:
        raise MetricError(
            f"{str(weights)!r} has no classification head (fc.weight), which the Inception Score needs; "
            "pass pytorch-fid's pt_inception-2015-12-05 weights with --fid-weights"
        )
    return state["fc.weight"].double().numpy()
