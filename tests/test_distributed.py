"""The pure parts of run/distributed.py, in one process: which rows a rank keeps, and the checks
that run before any rank starts (the multi-process behaviour is in test_ddp.py, marked slow)."""

from __future__ import annotations

import pytest
import torch

from ganlab.errors import ConfigError
from ganlab.run.distributed import World, check_batch, share


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_the_ranks_slices_of_a_global_batch_tile_it_in_order(size):
    batch = torch.arange(12 * 3).reshape(12, 3)
    parts = [World(rank=r, size=size).slice(batch) for r in range(size)]
    assert all(len(p) == 12 // size for p in parts)
    assert torch.equal(torch.cat(parts), batch)


@pytest.mark.parametrize(("n", "size"), [(1001, 2), (10, 3), (2, 4), (7, 7)])
def test_evaluation_shares_cover_every_sample_once_in_order(n, size):
    shares = [share(n, World(rank=r, size=size)) for r in range(size)]
    rows = [i for start, stop in shares for i in range(start, stop)]
    assert rows == list(range(n))
    assert max(b - a for a, b in shares) - min(b - a for a, b in shares) <= -(-n // size)


def test_a_global_batch_that_does_not_divide_names_both_numbers():
    check_batch(64, 4)
    check_batch(5, 1)
    with pytest.raises(
        ConfigError, match=r"--batch-size 64 .* among 3 processes; pass a multiple of 3, e.g. --batch-size 63"
    ):
        check_batch(64, 3)


def test_the_global_batch_must_split_into_packed_groups_on_every_rank():
    from ganlab.errors import ConfigError
    from ganlab.run.distributed import check_batch

    check_batch(64, 2, pack=4)  # 32 rows per rank, 8 packed decisions each
    with pytest.raises(
        ConfigError, match=r"--batch-size 36 .* among 2 processes in groups of --pack 4; pass a multiple of 8"
    ):
        check_batch(36, 2, pack=4)  # 18 rows per rank do not make groups of 4
    check_batch(36, 1, pack=4)  # one process: RunConfig checks batch_size % pack itself
