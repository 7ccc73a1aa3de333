"""`ganlab fid A B`: turns each of A and B (an image folder, a .npz of statistics, a run directory or
a dataset name) into pytorch-fid statistics, and the FID between them."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from ganlab.errors import GanlabNotice, MetricError
from ganlab.run.rundir import RunDir


@dataclass
class Stats:
    mu: np.ndarray
    sigma: np.ndarray
    n: int | None  # None for a .npz (pytorch-fid's files do not record it)
    kind: str  # "folder", "npz", "run" or "dataset"
    source: str
    feature_net: str | None = None  # None for a .npz
    features: np.ndarray | None = None  # (n, dims) when computed here; None for a .npz
    size: tuple[int, int] | None = None  # (height, width) of the images; None for a .npz


@dataclass
class FidResult:
    value: float
    a: Stats
    b: Stats
    dims: int
    feature_net: str | None  # None when both sides were .npz files


def folder_images(path: Path) -> list[Path]:
    """The files `python -m pytorch_fid` reads from a folder: top level only, its image extensions
    (matched without regard to case, a superset of its case-sensitive glob)."""
    from pytorch_fid.fid_score import IMAGE_EXTENSIONS

    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower().lstrip(".") in IMAGE_EXTENSIONS)
    if len(files) < 2:
        found = "no image files" if not files else f"only 1 image ({files[0].name})"
        raise MetricError(
            f"folder {str(path)!r} has {found}; FID needs at least 2 images ({', '.join(sorted(IMAGE_EXTENSIONS))})"
        )
    return files


def check_sizes(files: list[Path]) -> tuple[int, int]:
    """One size for every image (pytorch-fid stacks them into batches); reads headers only.
    Returns it as (height, width)."""
    from PIL import Image, UnidentifiedImageError

    first = None
    for file in files:
        try:
            with Image.open(file) as img:
                size = img.size
        except (UnidentifiedImageError, OSError) as exc:
            reason = " ".join(str(exc).split())[:80] or exc.__class__.__name__
            raise MetricError(f"cannot read image {str(file)!r} ({reason}); remove or replace the file") from exc
        if first is None:
            first = (file, size)
        elif size != first[1]:
            raise MetricError(
                f"mixed image sizes: {file.name} is {size[0]}x{size[1]} but {first[0].name} is "
                f"{first[1][0]}x{first[1][1]}; resize the folder's images to one size"
            )
    assert first is not None, "folder_images returns at least 2 files"
    return first[1][1], first[1][0]


def file_batches(files: list[Path], batch_size: int) -> Iterator[torch.Tensor]:
    """(B, 3, H, W) float in [0, 1]: PIL's convert("RGB") then ToTensor's /255, as pytorch-fid reads."""
    from PIL import Image

    for start in range(0, len(files), batch_size):
        arrays = []
        for file in files[start : start + batch_size]:
            try:
                with Image.open(file) as img:
                    arrays.append(np.asarray(img.convert("RGB"), dtype=np.uint8))
            except OSError as exc:  # truncated data shows only when the pixels are decoded
                raise MetricError(
                    f"cannot read image {str(file)!r} ({' '.join(str(exc).split())[:80]}); remove or replace the file"
                ) from exc
        yield torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div(255)


def kind_of(spec: str) -> str:
    """What `spec` names: "npz", "run", "folder" or "dataset", from the path alone (nothing is read)."""
    path = Path(spec)
    if path.is_file():
        if path.suffix.lower() != ".npz":
            raise MetricError(
                f"{spec!r} is a file but not a .npz of statistics; pass an image folder, "
                "a .npz, a run directory or a dataset name"
            )
        return "npz"
    if path.is_dir():
        return "run" if RunDir(path).is_run else "folder"
    return "dataset"


def check_flags(kinds: list[str], n: int | None, image_size: int | None) -> None:
    """--n and --image-size change only some kinds of source; given where none of the sources
    reads them, they would be silently ignored, so they are refused."""
    if n is not None and not {"run", "dataset"} & set(kinds):
        raise MetricError(
            f"--n applies only to a run or a dataset name (how many images it gives); here {_sources(kinds)}: drop --n"
        )
    if image_size is not None and "dataset" not in kinds:
        raise MetricError(
            "--image-size applies only to a dataset name (the size its images are resized to); "
            f"here {_sources(kinds)}: drop --image-size"
        )


KIND_WORDS = {"npz": ".npz of statistics", "run": "run", "folder": "folder", "dataset": "dataset name"}
KIND_PLURALS = {"npz": ".npz files of statistics", "run": "runs", "folder": "folders", "dataset": "dataset names"}


def _sources(kinds: list[str]) -> str:
    """["folder", "folder"] -> "both sources are folders"; ["npz", "folder"] -> "the sources are a
    .npz of statistics and a folder"; ["folder"] -> "the source is a folder"."""
    if len(kinds) == 1:
        return f"the source is a {KIND_WORDS[kinds[0]]}"
    if len(set(kinds)) == 1:
        return f"both sources are {KIND_PLURALS[kinds[0]]}"
    return "the sources are " + " and ".join(f"a {KIND_WORDS[k]}" for k in kinds)


def resolve(spec: str, options, image_size: int | None = None) -> Stats:
    """Statistics of `spec`, which is a .npz file, a run directory, an image folder or a dataset name."""
    from ganlab.metrics import fid

    kind = kind_of(spec)
    if kind == "npz":
        mu, sigma = fid.load_npz(spec)
        return Stats(mu, sigma, None, "npz", spec)
    if kind == "run":
        return _run_stats(Path(spec), options)
    if kind == "folder":
        return _folder_stats(Path(spec), options)
    return _dataset_stats(spec, options, image_size)


def _net(options):
    from ganlab.metrics import fid
    from ganlab.run.device import pick_device

    return fid.feature_net(options.fid_weights, options.dims, str(pick_device(options.device)), options.progress)


def _stats(features: np.ndarray, kind: str, source: str, net, size: tuple[int, int]) -> Stats:
    from ganlab.metrics.frechet import statistics

    mu, sigma = statistics(features)
    return Stats(mu, sigma, len(features), kind, source, net.describe(), features, size)


def _folder_stats(path: Path, options) -> Stats:
    from ganlab.metrics.groups import tracked

    files = folder_images(path)
    size = check_sizes(files)
    net = _net(options)
    feats = net.features(tracked(file_batches(files, options.batch_size), len(files), path.name, options))
    return _stats(feats, "folder", str(path), net, size)


def _run_stats(path: Path, options) -> Stats:
    from ganlab.metrics import fid
    from ganlab.metrics.groups import check_applicable, sample_count, tracked
    from ganlab.metrics.registry import METRICS
    from ganlab.metrics.subject import Subject
    from ganlab.run.device import pick_device
    from ganlab.run.restore import restore

    subject = Subject.from_restored(restore(path, "last", device=str(pick_device(options.device))))
    check_applicable(METRICS["fid"], subject)
    n = sample_count(options, "inception")
    net = _net(options)
    samples = subject.sample_batches(n, options.batch_size, options.seed, on_device=True)  # stay on the device
    batches = (fid.generator_to_unit(b) for b in samples)
    feats = net.features(tracked(batches, n, f"{path.name} samples", options))
    return _stats(feats, "run", str(path), net, (subject.data_shape[-2], subject.data_shape[-1]))


def _dataset_stats(name: str, options, image_size: int | None) -> Stats:
    from ganlab import plugins
    from ganlab.metrics.groups import real_inception_features
    from ganlab.metrics.subject import Subject

    if name not in plugins.available("dataset"):
        raise MetricError(
            f"{name!r} is not an image folder, a .npz file, a run directory or a dataset name "
            f"(datasets: {', '.join(plugins.available('dataset'))}); check the path"
        )
    from ganlab.plugins import contract, guard

    dataset, spec = plugins.create("dataset", name, {})
    if dataset.default_image_size is None:  # before load refuses an --image-size meant for the other side
        raise MetricError(f"dataset {name!r} is points, not images; FID needs images")
    source = contract.load_data(dataset, guard.Owner.of_spec(spec), name, image_size, None)
    if source.kind != "image":
        raise MetricError(f"dataset {name!r} is points, not images; FID needs images")
    subject = Subject(
        None, 0, torch.device("cpu"), 0, source.kind, tuple(source.shape), source.meta, name, {}, None, lambda: source
    )
    n = min(options.n, len(source)) if options.n is not None else len(source)
    net = _net(options)
    feats = real_inception_features(subject, n, net, options)
    size = (source.shape[-2], source.shape[-1])
    return _stats(feats, "dataset", f"{name} ({n} images, {source.shape[-1]} px)", net, size)


def fid_between(a: str, b: str, options, image_size: int | None = None) -> FidResult:
    from ganlab.metrics.frechet import frechet_distance, frechet_distance_features

    check_flags([kind_of(a), kind_of(b)], options.n, image_size)  # before any image is read
    first, second = resolve(a, options, image_size), resolve(b, options, image_size)
    for said in pitfalls(first, second):
        warnings.warn(GanlabNotice(said), stacklevel=2)
    if first.features is not None and second.features is not None:  # same value, less work for n < dims
        value = frechet_distance_features(first.features, second.features)
    else:
        value = frechet_distance(first.mu, first.sigma, second.mu, second.sigma)
    return FidResult(value, first, second, len(first.mu), first.feature_net or second.feature_net)


def pitfalls(a: Stats, b: Stats) -> list[str]:
    """What makes this FID hard to compare with others, in words: sources of two resolutions
    (Inception resizes both to 299 px, so the score also measures the blur of upsampling), and
    fewer images than feature dimensions (the covariance is then rank-deficient and FID is
    biased upward, more the smaller n; Chong & Forsyth 2020)."""
    said = []
    if a.size is not None and b.size is not None and a.size != b.size:
        said.append(
            f"the sources differ in resolution ({_px(a.size)} and {_px(b.size)}); FID then also measures "
            "the resizing, so compare sources of one size"
        )
    counts = [s.n for s in (a, b) if s.n is not None]
    dims = len(a.mu)
    if counts and min(counts) < dims:
        said.append(few_samples(min(counts), dims))
    return said


def few_samples(n: int, dims: int) -> str:
    return (
        f"FID from {n} images in {dims} feature dimensions: with fewer images than dimensions the "
        "covariance is singular and FID is biased upward; compare only FIDs measured at the same n "
        f"(pytorch-fid recommends at least {dims})"
    )


def _px(size: tuple[int, int]) -> str:
    return f"{size[1]}x{size[0]} px"


def save_stats(src: str, out: str, options, image_size: int | None = None, force: bool = False) -> Stats:
    """Writes pytorch-fid's .npz (mu, sigma) for `src`; an existing file only with `force`."""
    from ganlab.files import check_overwrite
    from ganlab.metrics import fid

    target = Path(out)
    if target.suffix.lower() != ".npz":
        raise MetricError(f"--save-stats writes a .npz file; name the output {target.with_suffix('.npz')}")
    check_overwrite(target, "--save-stats", force)
    check_flags([kind_of(src)], options.n, image_size)
    stats = resolve(src, options, image_size)
    fid.save_npz(target, stats.mu, stats.sigma)
    return stats
