"""FID features: pytorch-fid's InceptionV3, where its weights come from, and the cache of real-data
features (Heusel et al. 2017, "GANs trained by a two time-scale update rule ...")."""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
import zipfile
from pathlib import Path
from typing import Callable, Iterable
from unittest import mock

import numpy as np
import torch

from ganlab import files
from ganlab.errors import GanlabNotice, MetricError
from ganlab.metrics.frechet import statistics
from ganlab.metrics.registry import FID_DIMS
from ganlab.run import checkpoint

WEIGHTS_ENV = "GANLAB_FID_WEIGHTS"
_models: dict[tuple, "FeatureNet"] = {}  # one loaded network per (weights, dims, device) per process
_hashes: dict[tuple, str] = {}


def cache_dir() -> Path:
    """Root of ganlab's caches: $GANLAB_CACHE, else ~/.cache/ganlab."""
    return Path(os.environ.get("GANLAB_CACHE") or Path.home() / ".cache" / "ganlab")


def weights_url() -> str:
    from pytorch_fid.inception import FID_WEIGHTS_URL

    return FID_WEIGHTS_URL


def hub_weights_path() -> Path:
    """Where pytorch-fid's `load_state_dict_from_url` keeps the file: $TORCH_HOME/hub/checkpoints/."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights_url())


def configured_weights(explicit: str | Path | None = None) -> Path | None:
    """--fid-weights, else $GANLAB_FID_WEIGHTS, else the torch hub cache file; None when none is there.
    A path the user named must exist."""
    for value, origin in ((explicit, "--fid-weights"), (os.environ.get(WEIGHTS_ENV), WEIGHTS_ENV)):
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise MetricError(
                    f"FID weights file {str(path)!r} (from {origin}) does not exist; "
                    f"pass the path of {os.path.basename(weights_url())}"
                )
            return path
    hub = hub_weights_path()
    return hub if hub.is_file() else None


def find_weights(explicit: str | Path | None = None) -> Path:
    """The weights file, downloading it the way pytorch-fid does when it is nowhere on disk."""
    path = configured_weights(explicit)
    if path is not None:
        return path
    from pytorch_fid import inception

    hub = hub_weights_path()
    try:
        inception.load_state_dict_from_url(weights_url(), progress=True)
    except Exception as exc:  # URLError, HTTPError, OSError, ... : offline or blocked
        reason = " ".join(str(exc).split())[:120]
        raise MetricError(
            f"FID weights {hub.name} are missing and could not be downloaded ({reason}); "
            f"put the file at {hub} (from {weights_url()}) or pass --fid-weights PATH "
            f"(or set {WEIGHTS_ENV})"
        ) from exc
    return hub


def file_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _hashes:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        _hashes[key] = digest.hexdigest()
    return _hashes[key]


class FeatureNet:
    """pytorch-fid's InceptionV3 (the TF FID graph ported to PyTorch) at one of its output blocks."""

    def __init__(self, weights: Path, dims: int, device: str | torch.device = "cpu"):
        from pytorch_fid import inception

        if dims not in FID_DIMS:
            raise MetricError(f"unknown FID --dims {dims}; choose one of {', '.join(map(str, FID_DIMS))}")
        state = _load_state(weights)
        block = inception.InceptionV3.BLOCK_INDEX_BY_DIM[dims]
        # pytorch-fid builds its network by calling load_state_dict_from_url(FID_WEIGHTS_URL); handing
        # it our state dict there keeps its exact architecture and loading code for any weights file.
        with mock.patch.object(inception, "load_state_dict_from_url", lambda *a, **k: state):
            try:
                self.model = inception.InceptionV3([block]).to(device).eval()
            except RuntimeError as exc:  # missing / unexpected keys, wrong shapes
                raise MetricError(
                    f"{str(weights)!r} is not a pytorch-fid FID Inception weights file "
                    f"({str(exc).splitlines()[0]}); pass {os.path.basename(weights_url())}"
                ) from exc
        self.weights, self.dims, self.device = weights, dims, torch.device(device)
        self.sha256 = file_sha256(weights)

    def describe(self) -> str:
        return f"pytorch-fid InceptionV3 ({self.weights.name}, sha256 {self.sha256[:12]})"

    @torch.no_grad()
    def features(self, batches: Iterable[torch.Tensor]) -> np.ndarray:
        """Batches of (N, C, H, W) in [0, 1] (C = 1 or 3) -> (total, dims) float32 activations, the
        way pytorch-fid's get_activations computes them (resize to 299 inside the network). Batches
        already on the network's device stay there; the features come to the host once, at the end."""
        out = []
        for batch in batches:
            x = batch.to(self.device, torch.float32)
            if x.shape[1] == 1:
                x = x.repeat(1, 3, 1, 1)  # greyscale -> RGB, as PIL's convert("RGB") does for files
            pred = self.model(x)[0]
            if pred.shape[2] != 1 or pred.shape[3] != 1:  # blocks before pool3 are spatial maps
                pred = torch.nn.functional.adaptive_avg_pool2d(pred, output_size=(1, 1))
            out.append(pred.squeeze(3).squeeze(2))
        if not out:
            return np.zeros((0, self.dims), np.float32)
        return torch.cat(out).cpu().numpy()


def _load_state(weights: Path) -> dict:
    try:
        return torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated download, not a torch file, pickled code
        raise MetricError(
            f"cannot read FID weights {str(weights)!r} ({checkpoint.load_failure_reason(exc)[:120]}); "
            f"download {os.path.basename(weights_url())} again"
        ) from exc


LOADING = "loading Inception"  # the progress label while the network loads (seconds on a CPU)


def feature_net(
    weights: str | Path | None = None,
    dims: int = 2048,
    device: str = "cpu",
    progress: Callable[[str, int, int], None] | None = None,
) -> FeatureNet:
    """The network for `dims`, loaded once per process (evaluation during training calls it often).
    `progress(LOADING, 0, 0)` is called before a load (total 0: no known length, a spinner) and
    `progress(LOADING, 1, 1)` after it, so a user is not left looking at a silent terminal."""
    path = find_weights(weights)
    key = (str(path.resolve()), file_sha256(path), dims, str(device))
    if key not in _models:
        if progress is not None:
            progress(LOADING, 0, 0)
        _models[key] = FeatureNet(path, dims, device)
        if progress is not None:
            progress(LOADING, 1, 1)
    return _models[key]


def generator_to_unit(images: torch.Tensor) -> torch.Tensor:
    """G's output in [-1, 1] -> [0, 1], the range pytorch-fid's network takes."""
    return ((images.float() + 1.0) / 2.0).clamp_(0.0, 1.0)


# --- the cache of real-data features ------------------------------------------------------------
def cached_features(key: dict, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """Features of a real data set, computed once per key. The file also holds pytorch-fid's mu and
    sigma, so it can be passed to `python -m pytorch_fid` or `ganlab fid` as statistics."""
    path = stats_cache_path(key)
    if path.is_file():
        try:
            with np.load(path) as f:
                return f["features"]
        except (OSError, ValueError, KeyError):
            pass  # a torn or foreign file is recomputed
    feats = compute()
    mu, sigma = statistics(feats)
    try:
        save_npz(path, mu, sigma, features=feats, key=np.array(json.dumps(key, sort_keys=True)))
    except OSError as exc:  # a read-only cache costs time on the next run, not this result
        warnings.warn(
            GanlabNotice(
                f"could not cache real-data features in {path.parent} ({exc.strerror or exc}); "
                "set GANLAB_CACHE to a writable folder"
            ),
            stacklevel=2,
        )
    return feats


def stats_cache_path(key: dict) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    label = "-".join(str(key.get(k)) for k in ("dataset", "split", "image_size", "n", "dims"))
    return cache_dir() / "fid-stats" / f"{label}-{digest}.npz"


def save_npz(path: Path, mu: np.ndarray, sigma: np.ndarray, **extra: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, mu=mu, sigma=sigma, **extra)  # type: ignore[arg-type]  # numpy's stub types **kwds as bool
    path.parent.mkdir(parents=True, exist_ok=True)
    files.atomic_write_bytes(path, lambda fh: fh.write(buffer.getvalue()))


def load_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """pytorch-fid statistics file -> (mu, sigma); anything else is a one-line MetricError."""
    if Path(path).is_file() and not zipfile.is_zipfile(path):  # np.load would try a pickle or a bare .npy
        raise MetricError(
            f"{str(path)!r} is not an .npz archive; pass statistics written by "
            "`ganlab fid --save-stats` or `python -m pytorch_fid --save-stats`"
        )
    try:
        with np.load(path) as f:
            missing = [k for k in ("mu", "sigma") if k not in f.files]
            if missing:
                raise MetricError(
                    f"{str(path)!r} has no {' or '.join(missing)} array (it holds "
                    f"{', '.join(f.files) or 'nothing'}); pass statistics written by "
                    "`ganlab fid --save-stats` or `python -m pytorch_fid --save-stats`"
                )
            return f["mu"].astype(np.float64), f["sigma"].astype(np.float64)
    except (OSError, ValueError) as exc:
        raise MetricError(
            f"cannot read statistics file {str(path)!r} ({' '.join(str(exc).split())[:100]}); "
            "pass an .npz written by --save-stats"
        ) from exc
