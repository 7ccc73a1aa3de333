"""ganlab-resnet: the contract suite (shapes, range, gradients, ONNX), sizes, spectral norm."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganlab import plugins
from ganlab.config import RunConfig
from ganlab.errors import ConfigError
from ganlab.run.trainer import Trainer
from ganlab.testing import check_arch
from ganlab_resnet.resnet import ResNet

torch.set_num_threads(2)


def test_installed_entry_point_comes_from_this_package():
    spec = plugins.find("arch", "resnet")
    assert (spec.dist, spec.version) == ("ganlab-resnet", "0.1.0")
    assert plugins.load("arch", "resnet")[0] is ResNet


@pytest.mark.slow
def test_contract_suite_at_16_32_and_64_px_with_onnx_export():
    shapes = [(1, 16, 16), (3, 32, 32), (1, 64, 64)]
    checked = check_arch(
        "resnet", {"width": 8}, shapes=shapes, unsupported=[(3, 48, 48), (1, 32, 16), (3, 8, 8), (1, 128, 128), (2,)]
    )
    assert checked == shapes


@pytest.mark.parametrize(
    "shape, message",
    [
        ((3, 48, 48), "resnet cannot build image size 48x48; use --image-size 16, 32 or 64"),
        ((1, 8, 8), "resnet cannot build image size 8x8; use --image-size 16, 32 or 64"),
        ((1, 128, 128), "resnet cannot build image size 128x128; use --image-size 16, 32 or 64"),
        ((2,), "resnet builds images, not data of shape (2,); use --arch mlp for 2D points"),
    ],
)
def test_other_shapes_are_refused_with_the_supported_sizes(shape, message):
    with pytest.raises(ConfigError) as info:
        ResNet(width=8).build(shape, 8)
    assert str(info.value) == message


def test_a_run_on_an_unsupported_size_fails_before_training():
    config = RunConfig(loss="nonsaturating", arch="resnet", arch_options={"width": 8}, image_size=24)
    with pytest.raises(ConfigError, match="resnet cannot build image size 24x24; use --image-size 16, 32 or 64"):
        Trainer(config)


@pytest.mark.slow
def test_only_the_discriminator_is_spectrally_normalised_to_unit_norm():
    G, D = ResNet(width=8).build((1, 32, 32), 8)
    d_layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    g_layers = [m for m in G.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert d_layers and all(hasattr(m, "parametrizations") for m in d_layers)
    assert not any(hasattr(m, "parametrizations") for m in g_layers)
    D.train()
    x = torch.randn(2, 1, 32, 32)
    for _ in range(30):  # one power iteration per forward pass (Miyato et al. 2018, Algorithm 1)
        D(x)
    for m in d_layers:
        # torch normalises the weight reshaped to (out, in * k * k): its largest singular value -> 1
        sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2).item()
        assert sigma == pytest.approx(1.0, abs=2e-2)
        original = m.parametrizations.weight.original.detach().flatten(1)
        assert torch.linalg.matrix_norm(original, ord=2).item() != pytest.approx(1.0, abs=0.05)


def test_generator_depth_follows_the_image_size():
    for size, ups in ((16, 2), (32, 3), (64, 4)):
        G, D = ResNet(width=8).build((3, size, size), 8)
        assert len(G.blocks) == ups  # 4x4 doubled `ups` times
        assert sum(b.down for b in D.blocks) == int(math.log2(size)) - 3  # down to 8x8


def test_width_option_and_its_validation():
    small, _ = ResNet(width=8).build((3, 32, 32), 8)
    big, _ = ResNet(width=16).build((3, 32, 32), 8)
    assert sum(p.numel() for p in big.parameters()) > 3 * sum(p.numel() for p in small.parameters())
    with pytest.raises(ConfigError, match="resnet option width must be a positive integer, got 0"):
        plugins.create("arch", "resnet", {"width": 0})
    with pytest.raises(ConfigError, match="has no option 'depth'; valid options: width"):
        plugins.create("arch", "resnet", {"depth": 3})


@pytest.mark.slow
def test_state_dict_round_trip_rebuilds_the_same_networks():
    G, D = ResNet(width=8).build((3, 32, 32), 8)
    G2, D2 = ResNet(width=8).build((3, 32, 32), 8)
    G2.load_state_dict(G.state_dict())
    D2.load_state_dict(D.state_dict())
    for net in (G, D, G2, D2):
        net.eval()
    z, x = torch.randn(3, 8), torch.rand(3, 3, 32, 32) * 2 - 1
    torch.testing.assert_close(G2(z), G(z), rtol=0, atol=0)
    torch.testing.assert_close(D2(x), D(x), rtol=0, atol=0)


@pytest.mark.slow
def test_trains_on_digits_at_its_default_size():
    config = RunConfig(
        loss="nonsaturating", arch="resnet", arch_options={"width": 8}, batch_size=4, latent_dim=8, device="cpu"
    )
    trainer = Trainer(config)
    before = [p.detach().clone() for p in trainer.G.parameters()]
    stats = [trainer.train_step() for _ in range(2)]
    assert all(math.isfinite(s["d_loss"]) and math.isfinite(s["g_loss"]) for s in stats)
    assert all(not torch.equal(a, b) for a, b in zip(before, trainer.G.parameters(), strict=True))
