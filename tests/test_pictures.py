"""Latent walks (`ganlab sample --interpolate K`) and training timelapses (`--timelapse out.gif`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.deploy import pictures
from ganlab.run import runner
from tests.conftest import tiny_config


def test_slerp_hits_both_ends_and_keeps_the_norm_on_the_great_circle():
    gen = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(3, 16, generator=gen), torch.randn(3, 16, generator=gen)
    z1 = z1 / z1.norm(dim=1, keepdim=True) * z0.norm(dim=1, keepdim=True)  # equal norms per row
    path = pictures.slerp(z0, z1, torch.linspace(0, 1, 5)).reshape(3, 5, 16)
    torch.testing.assert_close(path[:, 0], z0, rtol=0, atol=1e-6)
    torch.testing.assert_close(path[:, -1], z1, rtol=0, atol=1e-6)
    torch.testing.assert_close(path.norm(dim=2), z0.norm(dim=1, keepdim=True).expand(3, 5), rtol=1e-5, atol=0)
    # the midpoint halves the angle: cos(angle(z0, mid)) = cos(omega / 2)
    cos = torch.nn.functional.cosine_similarity
    omega = torch.arccos(cos(z0, z1))
    torch.testing.assert_close(cos(z0, path[:, 2]), torch.cos(omega / 2), rtol=0, atol=1e-5)


def test_slerp_of_parallel_vectors_is_linear():
    z = torch.ones(1, 4)
    path = pictures.slerp(z, 2 * z, torch.tensor([0.0, 0.5, 1.0]))
    torch.testing.assert_close(path, torch.tensor([[1.0] * 4, [1.5] * 4, [2.0] * 4]))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run, _ = runner.start(tiny_config(runs_dir=str(tmp_path_factory.mktemp("r")), name="p", steps=4, sample_every=2))
    return run


@pytest.mark.slow
def test_interpolate_writes_rows_of_k_starting_at_the_seeded_z(run, cli, tmp_path):
    r = cli("sample", run.path, "--interpolate", "4", "--n", "8", "--out", "walk.png", "--npy", "walk.npy")
    assert r.code == 0, r.err
    assert "2 rows x 4 steps (slerp)" in r.out
    assert Image.open(tmp_path / "walk.png").size == (4 * 66 + 2, 2 * 66 + 2)  # 8 px images x 8, 2 px padding
    walk = np.load(tmp_path / "walk.npy")
    assert walk.shape == (8, 1, 8, 8)
    # row 0 starts at z[0] and ends at z[1] of seed 0: the first two images `ganlab sample` draws
    assert cli("sample", run.path, "--n", "2", "--npy", "plain.npy").code == 0
    plain = np.load(tmp_path / "plain.npy")
    np.testing.assert_allclose(walk[0], plain[0], atol=1e-5)
    np.testing.assert_allclose(walk[3], plain[1], atol=1e-5)
    assert not np.allclose(walk[1], walk[0], atol=1e-3)


@pytest.mark.slow
def test_timelapse_has_one_labelled_frame_per_grid(run, cli, tmp_path):
    r = cli("sample", run.path, "--timelapse", "train.gif")
    assert r.code == 0, r.err
    assert "GIF of 2 frames" in r.out
    gif = Image.open(tmp_path / "train.gif")
    assert gif.n_frames == 2 and gif.info["loop"] == 0
    grid = Image.open(run.path / "samples" / "step_000002.png")
    assert gif.size == (grid.width, grid.height + pictures.BAND)
    bands = []
    for i in range(2):
        gif.seek(i)
        frame = np.asarray(gif.convert("L"))
        bands.append(frame[: pictures.BAND])
        assert frame[: pictures.BAND].min() < 128  # dark text on the white band
    assert not np.array_equal(bands[0], bands[1])  # "step 2" and "step 4"
