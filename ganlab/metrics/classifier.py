"""Offline metrics for labelled image sets (digits, mnist, fashion-mnist): a small CNN that ganlab
trains on the real training split on first use and caches, its feature space for a Fréchet
distance (reported as `classifier_fd`, never as FID), and class coverage of generated samples."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
from torch import Tensor, nn

from ganlab import plugins
from ganlab.data.base import ImageSource, to_unit_range
from ganlab.errors import MetricError, RunError
from ganlab.metrics.fid import cache_dir
from ganlab.run import checkpoint

DATASETS = ("digits", "mnist", "fashion-mnist")  # labelled sets a small CNN classifies well (>0.9)
FORMAT = 1  # bump when the architecture or the training recipe changes: old caches are retrained
TRAIN_STEPS = 450  # about 20 epochs of digits' 1,437 training images; a few seconds on a CPU
BATCH = 64
FEATURE_DIMS = 128
DIGITS_TEST_SHARE = 0.2  # digits ships no split: a fixed, seeded 80/20 split stands in for one
_loaded: dict[str, "Classifier"] = {}


class SmallCNN(nn.Module):
    """Three stride-2 convolutions and two linear layers; works at any size from 8 px up."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 16, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(256, FEATURE_DIMS),
            nn.ReLU(),  # the feature space of classifier_fd
        )
        self.head = nn.Linear(FEATURE_DIMS, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


@dataclass
class Classifier:
    net: SmallCNN  # eval mode; moved to the device it is asked to run on
    dataset: str
    shape: tuple[int, int, int]
    test_accuracy: float

    def describe(self) -> str:
        c, h, w = self.shape
        return f"ganlab classifier ({self.dataset} {h}x{w}, test accuracy {self.test_accuracy:.3f})"

    @torch.no_grad()
    def features_and_labels(
        self, images: Tensor | Iterable[Tensor], batch_size: int = 500, device: torch.device | str = "cpu"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Images in [-1, 1], (N, C, H, W) or batches of them -> (N, 128) penultimate features and
        (N,) predicted classes. The network runs on `device`; batches already there (a generator's
        samples on the GPU) are not copied through the host, only the small features come back."""
        net = self.net.to(device)
        chunks = images.split(batch_size) if isinstance(images, Tensor) else images
        feats, labels = [], []
        for chunk in chunks:
            f = net.body(chunk.to(device).float())
            feats.append(f.cpu().numpy())
            labels.append(net.head(f).argmax(1).cpu().numpy())
        return np.concatenate(feats), np.concatenate(labels)


def supports(dataset: str) -> bool:
    return dataset in DATASETS


def get_classifier(dataset: str, shape: tuple[int, ...], data_root: str | None = None) -> Classifier:
    """The cached classifier for `dataset` at image `shape`; trained (and cached) on first use."""
    if dataset not in DATASETS:
        raise MetricError(
            f"the classifier metrics need a labelled dataset ({', '.join(DATASETS)}), "
            f"not {dataset!r}; use --metrics fid,kid"
        )
    c, h, w = shape
    path = cache_dir() / "classifiers" / f"{dataset}-{c}x{h}x{w}-v{FORMAT}.pt"
    if str(path) in _loaded:
        return _loaded[str(path)]
    clf = _load(path, dataset, (c, h, w))
    if clf is None:
        clf = train_classifier(dataset, (c, h, w), data_root)
        path.parent.mkdir(parents=True, exist_ok=True)
        checkpoint.save(
            path,
            {
                "state": clf.net.state_dict(),
                "dataset": dataset,
                "shape": list(clf.shape),
                "num_classes": clf.net.head.out_features,
                "test_accuracy": clf.test_accuracy,
                "train_steps": TRAIN_STEPS,
                "classifier_format": FORMAT,
            },
        )
    _loaded[str(path)] = clf
    return clf


def _load(path: Path, dataset: str, shape: tuple[int, int, int]) -> Classifier | None:
    if not path.is_file():
        return None
    try:
        state = checkpoint.load(path)
        net = SmallCNN(shape[0], int(state["num_classes"]))
        net.load_state_dict(state["state"])
    except (RunError, KeyError, RuntimeError):
        return None  # a damaged or outdated cache file is simply retrained
    return Classifier(net.eval(), dataset, shape, float(state["test_accuracy"]))


def train_classifier(dataset: str, shape: tuple[int, int, int], data_root: str | None = None) -> Classifier:
    """Adam on cross-entropy for TRAIN_STEPS minibatches of the training split, seeded, then the
    accuracy on the held-out split. Leaves the global RNG as it was (training may be running)."""
    train_set, test_set = _splits(dataset, shape[1], data_root)
    if tuple(train_set.shape) != shape:
        raise MetricError(
            f"dataset {dataset!r} gives images of shape {tuple(train_set.shape)}, not {shape}; "
            "evaluate the run with the image size it was trained at"
        )
    assert train_set.labels is not None and test_set.labels is not None  # labelled sets only (supports())
    num_classes = int(train_set.labels.max()) + 1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = SmallCNN(shape[0], num_classes)
        gen = torch.Generator().manual_seed(0)
        opt = torch.optim.Adam(net.parameters(), lr=2e-3)
        for _ in range(TRAIN_STEPS):
            idx = torch.randint(len(train_set.images), (BATCH,), generator=gen)
            loss = nn.functional.cross_entropy(net(to_unit_range(train_set.images[idx])), train_set.labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    net.eval()
    clf = Classifier(net, dataset, shape, 0.0)
    _, predicted = clf.features_and_labels(to_unit_range(test_set.images))
    correct = torch.from_numpy(predicted).eq(test_set.labels)
    clf.test_accuracy = float(correct.double().mean())
    return clf


def _splits(dataset: str, image_size: int, data_root: str | None) -> tuple[ImageSource, ImageSource]:
    if dataset == "digits":
        full = plugins.create("dataset", "digits", {})[0].load(image_size, None)
        order = torch.randperm(len(full.images), generator=torch.Generator().manual_seed(0))
        cut = int(len(order) * (1 - DIGITS_TEST_SHARE))
        train, test = order[:cut], order[cut:]
        return (ImageSource(full.images[train], full.labels[train]), ImageSource(full.images[test], full.labels[test]))
    return tuple(
        plugins.create("dataset", dataset, {"split": split})[0].load(image_size, data_root)
        for split in ("train", "test")
    )


def class_metrics(gen_labels: np.ndarray, real_labels: np.ndarray, num_classes: int) -> dict[str, float]:
    """classes_covered: classes predicted for at least one generated sample (the "modes captured" of
    Srivastava et al. 2017 on stacked MNIST); class_kl: KL(p_generated || p_real) in nats between
    the predicted class histograms of generated and real images (the same classifier on both, so
    its errors cancel for a generator that matches the data)."""
    p = np.bincount(gen_labels, minlength=num_classes) / len(gen_labels)
    q = np.bincount(real_labels, minlength=num_classes) / len(real_labels)
    q = np.maximum(q, 1e-12)  # a class absent from the real sample: a large but finite penalty
    nz = p > 0
    return {"classes_covered": float(nz.sum()), "class_kl": max(float((p[nz] * np.log(p[nz] / q[nz])).sum()), 0.0)}
