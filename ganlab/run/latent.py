"""The seeded noise z ~ N(0, I) that everything downstream of training feeds a generator: sample
grids, `ganlab sample` (torch and onnxruntime), export verification and evaluation. One function,
so a run and its ONNX export see the same z for the same seed."""

from __future__ import annotations

from typing import Iterator

import torch

CHUNK = 256  # z is drawn in chunks of this many rows: the draws never depend on a caller's batch size


def latents(n: int, latent_dim: int, seed: int) -> Iterator[torch.Tensor]:
    """n rows of z ~ N(0, I) from `seed`, as (<= CHUNK, latent_dim) CPU tensors."""
    gen = torch.Generator().manual_seed(seed)
    for start in range(0, n, CHUNK):
        yield torch.randn(min(CHUNK, n - start), latent_dim, generator=gen)


def latent_batch(n: int, latent_dim: int, seed: int) -> torch.Tensor:
    """The same rows as `latents`, as one (n, latent_dim) tensor."""
    return torch.cat(list(latents(n, latent_dim, seed)))
