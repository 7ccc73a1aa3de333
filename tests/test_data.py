"""Datasets: digits, the toy mixtures, image folders, torchvision sets offline."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab import plugins
from ganlab.errors import ConfigError, DataError, GanlabNotice


def load(name, size=None, root=None, **options):
    dataset, _ = plugins.create("dataset", name, options)
    return dataset.load(size, root)


def test_digits_is_the_real_bundled_set():
    from sklearn.datasets import load_digits

    src = load("digits", 8)
    assert len(src) == 1797 and src.shape == (1, 8, 8) and src.meta["num_classes"] == 10
    expected = np.round(load_digits().images / 16.0 * 255).astype(np.uint8)
    assert np.array_equal(src.images[:, 0].numpy(), expected)  # 8 px: no resampling
    batch = src.sample(64, torch.Generator().manual_seed(0))
    assert batch.min() >= -1 and batch.max() <= 1 and batch.shape == (64, 1, 8, 8)


def test_digits_resizes_to_requested_size():
    src = load("digits", 32)
    assert src.shape == (1, 32, 32)
    # resizing keeps the mean brightness of each image (antialiased bilinear)
    small = load("digits", 8).images.float().mean(dim=(1, 2, 3))
    big = src.images.float().mean(dim=(1, 2, 3))
    assert torch.allclose(small, big, atol=6.0)


def test_ring_and_grid_modes_and_std():
    ring = load("ring")
    assert len(ring.meta["modes"]) == 8 and ring.meta["std"] == 0.01
    for i, (x, y) in enumerate(ring.meta["modes"]):
        assert x == pytest.approx(math.cos(2 * math.pi * i / 8)) and y == pytest.approx(math.sin(2 * math.pi * i / 8))
    grid = load("grid")
    assert len(grid.meta["modes"]) == 25 and grid.meta["std"] == 0.05
    assert {tuple(m) for m in grid.meta["modes"]} == {
        (float(a), float(b)) for a in range(-4, 5, 2) for b in range(-4, 5, 2)
    }
    pts = grid.sample(20000, torch.Generator().manual_seed(0))
    modes = torch.tensor(grid.meta["modes"])
    nearest = torch.cdist(pts, modes).argmin(dim=1)
    residual = pts - modes[nearest]
    assert residual.std().item() == pytest.approx(0.05, rel=0.03)
    counts = torch.bincount(nearest, minlength=25).float()
    assert counts.min() > 600 and counts.max() < 1000  # equal weights: 800 expected each


def test_same_generator_state_gives_same_batch():
    src = load("digits", 8)
    a = src.sample(16, torch.Generator().manual_seed(5))
    b = src.sample(16, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_folder_dataset_resizes_and_crops(tmp_path):
    (tmp_path / "sub").mkdir()
    Image.new("RGB", (40, 20), (255, 0, 0)).save(tmp_path / "a.png")
    Image.new("RGB", (20, 20), (0, 0, 255)).save(tmp_path / "sub" / "b.jpg")
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.warns(GanlabNotice, match="images come in 2 sizes"):
        src = load("folder", 16, str(tmp_path))
    assert len(src) == 2 and src.shape == (3, 16, 16)
    red = src.images[0].float()
    assert red[0].mean() > 240 and red[2].mean() < 15
    with pytest.warns(GanlabNotice):
        grey = load("folder", 8, str(tmp_path), channels=1)
    assert grey.shape == (1, 8, 8)


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match="no images under"):
        load("folder", 16, str(tmp_path))
    with pytest.raises(DataError, match="needs --data-root"):
        load("folder", 16, None)
    with pytest.raises(DataError, match="does not exist"):
        load("folder", 16, str(tmp_path / "missing"))
    (tmp_path / "bad.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError, match="cannot read image"):
        load("folder", 16, str(tmp_path))


def test_folder_scales_16_bit_pngs_instead_of_clipping_them_white(tmp_path):
    ramp = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1040).astype(np.uint16)  # 0 .. 65520
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode == "I;16"  # a real 16-bit PNG
    with pytest.warns(GanlabNotice) as said:
        src = load("folder", 8, str(tmp_path), channels=1)
    expected = np.rint(ramp / 257.0).astype(np.uint8)  # 65535 -> 255, 1040 -> 4
    assert np.array_equal(src.images[0, 0].numpy(), expected)
    assert src.images.float().mean() == pytest.approx(expected.mean(), abs=0.5)  # not 99 % white
    assert [str(w.message) for w in said] == [
        f"folder {str(tmp_path)!r}: 1 16-bit image scaled to 8 bits (value / 257)"
    ]


def test_folder_says_once_what_it_converted(tmp_path):
    for i in range(3):
        Image.new("L", (8, 8), 40 * i).save(tmp_path / f"grey{i}.png")
    Image.new("RGB", (16, 12), (255, 0, 0)).save(tmp_path / "wide.png")
    with pytest.warns(GanlabNotice) as said:
        src = load("folder", 8, str(tmp_path))
    assert len(said) == 1  # one note for the folder, not one per file
    note = str(said[0].message)
    assert "3 greyscale images repeated to RGB (pass --data-opt channels=1" in note
    assert "images come in 2 sizes (8x8 to 16x12); each was resized to 8 px on its shorter side" in note
    assert torch.equal(src.images[1, 0], src.images[1, 2])  # grey -> RGB: the channels agree
    for path in tmp_path.iterdir():
        path.unlink()
    for i in range(2):
        Image.new("RGB", (8, 8), (0, 0, 200)).save(tmp_path / f"same{i}.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing converted, nothing said
        load("folder", 8, str(tmp_path))


def test_folder_skip_bad_skips_unreadable_files_and_counts_them(tmp_path):
    Image.new("RGB", (8, 8), (0, 255, 0)).save(tmp_path / "good.png")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a PNG")
    (tmp_path / "cut.jpg").write_bytes((lambda b: b[: len(b) // 2])(_jpeg_bytes()))
    with pytest.raises(DataError, match="or pass --data-opt skip_bad=true"):
        load("folder", 8, str(tmp_path))
    with pytest.warns(GanlabNotice, match=r"skipped 2 unreadable files \(first: bad.png: "):
        src = load("folder", 8, str(tmp_path), skip_bad=True)
    assert len(src) == 1 and src.images[0, 1].float().mean() > 250
    (tmp_path / "good.png").unlink()
    with pytest.raises(DataError, match="none of the 2 images under .* could be read"):
        load("folder", 8, str(tmp_path), skip_bad=True)
    with pytest.raises(ConfigError, match="folder option skip_bad must be true or false, got 'yes'"):
        load("folder", 8, str(tmp_path), skip_bad="yes")


def _jpeg_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    Image.effect_noise((64, 64), 60).convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()


def test_data_root_that_is_a_file_says_so(tmp_path):
    image = tmp_path / "one.png"
    Image.new("RGB", (8, 8)).save(image)
    for name in ("folder", "mnist"):
        with pytest.raises(DataError, match=f"data root {str(image)!r} is a file, not a folder; pass the folder"):
            load(name, None, str(image))


def test_torchvision_set_with_empty_root_says_how_to_get_files(tmp_path):
    with pytest.raises(DataError) as err:
        load("mnist", None, str(tmp_path))
    assert "no MNIST files under" in str(err.value) and "without --data-root" in str(err.value)
    with pytest.raises(DataError, match="does not exist"):
        load("cifar10", None, str(tmp_path / "nope"))


def test_torchvision_set_reads_files_already_there(tmp_path):
    """Writes MNIST's raw idx files by hand; torchvision then reads them with no download."""
    import struct

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    gen = np.random.default_rng(0)
    images = gen.integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
    labels = np.arange(10, dtype=np.uint8)
    for prefix, n in (("train", 10), ("t10k", 10)):
        with open(raw / f"{prefix}-images-idx3-ubyte", "wb") as f:
            f.write(struct.pack(">IIII", 2051, n, 28, 28) + images[:n].tobytes())
        with open(raw / f"{prefix}-labels-idx1-ubyte", "wb") as f:
            f.write(struct.pack(">II", 2049, n) + labels[:n].tobytes())
    src = load("mnist", 28, str(tmp_path))
    assert len(src) == 10 and src.shape == (1, 28, 28)
    assert np.array_equal(src.images[:, 0].numpy(), images)
    assert src.labels.tolist() == list(range(10))


def test_builtin_sets_refuse_data_root_and_points_refuse_image_size(tmp_path):
    with pytest.raises(DataError, match="drop --data-root"):
        load("digits", 8, str(tmp_path))
    with pytest.raises(DataError, match="drop --image-size"):
        load("ring", 32)
