"""What an evaluation scores: a generator, how to draw from it, and the real data it learned,
built from a restored run or from a trainer that is still running."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch
from torch import Tensor, nn

from ganlab.data.base import DataSource
from ganlab.errors import MetricError
from ganlab.run.latent import latents


@dataclass
class Subject:
    G: nn.Module | None  # None for a subject that is real data only (`ganlab fid DATASET ...`)
    latent_dim: int
    device: torch.device
    step: int
    data_kind: str  # "image" or "points"
    data_shape: tuple[int, ...]  # (C, H, W) or (2,)
    data_meta: dict[str, Any]
    dataset: str  # the dataset plugin's name
    data_options: dict[str, Any]
    data_root: str | None
    load_real: Callable[[], DataSource]
    _real: DataSource | None = None
    # under torchrun (a distributed.World): each rank draws its contiguous share of the samples and
    # `gather` puts the ranks' rows back together in order, so metrics equal one process's
    world: Any = None

    @classmethod
    def from_restored(cls, restored) -> "Subject":
        config = restored.config
        device = next(restored.G.parameters()).device

        def load_real() -> DataSource:
            from ganlab import plugins
            from ganlab.plugins import contract, guard

            dataset, spec = plugins.create("dataset", config.data, config.data_options)
            return contract.load_data(
                dataset, guard.Owner.of_spec(spec), config.data, config.image_size, config.data_root
            )

        return cls(
            restored.G,
            config.latent_dim,
            device,
            restored.step,
            restored.data_kind,
            tuple(restored.data_shape),
            restored.data_meta,
            config.data,
            dict(config.data_options),
            config.data_root,
            load_real,
        )

    @classmethod
    def from_trainer(cls, trainer) -> "Subject":
        c = trainer.config
        return cls(
            trainer.sampler,  # the EMA generator under --ema-decay
            c.latent_dim,
            trainer.device,
            trainer.step,
            trainer.data.kind,
            tuple(trainer.data.shape),
            trainer.data.meta,
            c.data,
            dict(c.data_options),
            c.data_root,
            lambda: trainer.data,
            world=trainer.world,
        )

    def real(self) -> DataSource:
        if self._real is None:
            self._real = self.load_real()
        return self._real

    def sample_batches(self, n: int, batch_size: int, seed: int = 0, on_device: bool = False) -> Iterator[Tensor]:
        """n samples of G(z), z from ganlab.run.latent with `seed` (the z `ganlab sample` uses), in
        batches of `batch_size`: on the CPU, or left on G's device with `on_device` (for a feature
        network there: no GPU->CPU->GPU round trip per batch); G in eval mode (batch-norm running
        statistics, as an exported G samples), its previous mode restored afterwards."""
        G = self.G
        if G is None:
            raise MetricError(f"{self.dataset!r} is real data; it has no generator to sample")
        was_training = G.training
        G.eval()
        start, stop = self.share(n)
        try:
            offset = 0
            for chunk in latents(n, self.latent_dim, seed):  # every rank draws all z: the same rows
                mine, offset = chunk[max(start - offset, 0) : max(stop - offset, 0)], offset + len(chunk)
                for z in mine.split(batch_size) if len(mine) else ():
                    with torch.no_grad():  # not around the yield: the caller's grad mode stays its own
                        batch = G(z.to(self.device)).float()
                    yield batch if on_device else batch.cpu()
        finally:
            G.train(was_training)

    def samples(self, n: int, seed: int = 0, batch_size: int = 500) -> Tensor:
        """All n samples (under torchrun: every rank's share, gathered)."""
        mine = list(self.sample_batches(n, batch_size, seed))
        return self.gather(torch.cat(mine) if mine else torch.empty(0, *self.data_shape))

    def share(self, n: int) -> tuple[int, int]:
        """[start, stop) of the n samples this process draws: all of them, or its rank's share."""
        if self.world is None or not self.world.distributed:
            return 0, n
        from ganlab.run.distributed import share

        return share(n, self.world)

    def gather(self, rows: Any) -> Any:
        """Per-sample rows (features, labels, samples) of every rank's share, in sample order."""
        if self.world is None or not self.world.distributed:
            return rows
        from ganlab.run.distributed import gather_rows

        return gather_rows(rows, self.world)
