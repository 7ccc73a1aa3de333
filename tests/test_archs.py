"""The arch contract over every registered arch, and DCGAN's paper details."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganlab import plugins
from ganlab.archs.dcgan import DCGAN, SIZES
from ganlab.archs.mlp import MLP
from ganlab.errors import ConfigError
from ganlab.plugins import contract


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_every_power_of_two_size(size, channels):
    torch.manual_seed(0)
    G, D = DCGAN(width=4).build((channels, size, size), latent_dim=8)
    z = torch.randn(3, 8)
    x = G(z)
    contract.check_generator_output("dcgan", x, 3, (channels, size, size))
    contract.check_discriminator_output("dcgan", D(x), 3)


def test_dcgan_layers_follow_radford_et_al():
    G, D = DCGAN(width=8).build((1, 32, 32), latent_dim=16)
    g_types = {type(m) for m in G.modules()}
    d_types = {type(m) for m in D.modules()}
    assert nn.ConvTranspose2d in g_types and nn.ReLU in g_types and nn.Tanh in g_types
    assert nn.Linear not in g_types and nn.MaxPool2d not in d_types  # all-convolutional
    leaky = [m for m in D.modules() if isinstance(m, nn.LeakyReLU)]
    assert leaky and all(m.negative_slope == 0.2 for m in leaky)
    first_conv = next(m for m in D.modules() if isinstance(m, nn.Conv2d))
    assert first_conv.stride == (2, 2)
    # no batch norm on D's input layer (Radford et al. 2015, section 3)
    assert not isinstance(list(D.net)[1], nn.BatchNorm2d)


def test_dcgan_init_is_normal_0_02():
    torch.manual_seed(0)
    G, D = DCGAN(width=64).build((3, 64, 64), latent_dim=100)
    weights = torch.cat(
        [
            m.weight.flatten()
            for m in list(G.modules()) + list(D.modules())
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
        ]
    )
    assert weights.mean().item() == pytest.approx(0.0, abs=1e-3)
    assert weights.std().item() == pytest.approx(0.02, rel=0.02)
    bn = torch.cat([m.weight for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    assert bn.mean().item() == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize(
    "shape, message",
    [
        ((1, 12, 12), "dcgan cannot build image size 12x12; use --image-size with one of 8, 16, 32, 64, 128"),
        ((1, 256, 256), "dcgan cannot build image size 256x256; use --image-size with one of 8, 16, 32, 64, 128"),
        ((3, 16, 32), "dcgan cannot build image size 16x32; use --image-size with one of 8, 16, 32, 64, 128"),
        ((2,), "dcgan builds images, not data of shape (2,); use --arch mlp for 2D points"),
    ],
)
def test_dcgan_refuses_unsupported_shapes(shape, message):
    with pytest.raises(ConfigError) as err:
        DCGAN().check(shape)
    assert str(err.value) == message


def test_mlp_points_are_unbounded_and_images_are_in_range():
    torch.manual_seed(0)
    G, D = MLP(hidden=16, depth=2).build((2,), latent_dim=4)
    z = torch.randn(5, 4)
    pts = G(z * 100)
    assert pts.shape == (5, 2) and D(pts).shape == (5,)
    # unbounded: a ReLU net without a squashing last layer grows linearly with a large z (ten times
    # z, about ten times the points), while a tanh or sigmoid output would stay inside [-1, 1]
    assert pts.abs().max().item() > 1
    assert G(z * 1000).abs().max().item() > 5 * pts.abs().max().item()
    G, D = MLP(hidden=16, depth=2).build((1, 8, 8), latent_dim=4)
    img = G(torch.randn(5, 4) * 100)
    contract.check_generator_output("mlp", img, 5, (1, 8, 8))
    with pytest.raises(ConfigError):
        MLP().check((3, 128, 128))


@pytest.mark.slow
@pytest.mark.parametrize("name", plugins.available("arch"))
def test_every_registered_arch_meets_the_contract(name):
    arch, _ = plugins.create("arch", name)
    shapes = [(1, 32, 32), (3, 32, 32), (2,)]
    built = 0
    for shape in shapes:
        if arch.supports(shape) is not None:
            continue
        G, D = arch.build(shape, latent_dim=8)
        x = G(torch.randn(4, 8))
        contract.check_generator_output(name, x, 4, shape)
        logits = D(x)
        contract.check_discriminator_output(name, logits, 4)
        logits.sum().backward()
        assert all(p.grad is not None for p in G.parameters())  # gradients flow D -> G
        built += 1
    assert built >= 1


@pytest.mark.parametrize("name", plugins.available("loss"))
def test_every_registered_loss_meets_the_contract(name):
    loss, _ = plugins.create("loss", name)
    real = torch.randn(8, requires_grad=True)
    fake = torch.randn(8, requires_grad=True)
    for what, value in (("d_loss", loss.d_loss(real, fake)), ("g_loss", loss.g_loss(fake, real))):
        contract.check_loss_value(name, value, what)
    (grad_fake,) = torch.autograd.grad(loss.g_loss(fake, real), fake)
    assert torch.isfinite(grad_fake).all() and grad_fake.abs().sum() > 0
