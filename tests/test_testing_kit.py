"""ganlab.testing: the contract suite passes every built-in and catches each broken promise,
naming the plugin. Bad plugins here are plain classes; test_plugin_runtime.py installs some."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from torch import nn

from ganlab import plugins
from ganlab.archs.dcgan import DCGAN
from ganlab.data.base import Dataset, ImageSource, MixtureSource
from ganlab.errors import PluginError
from ganlab.losses.base import Loss
from ganlab.losses.least_squares import LeastSquares
from ganlab.losses.nonsaturating import NonSaturating
from ganlab.testing import check_arch, check_dataset, check_loss


def builtin(kind: str) -> list[str]:
    """ganlab's own plugins; installed third-party packages run the suite in their own tests."""
    return sorted(name for name, specs in plugins.discover(kind).items() if specs[0].dist == "ganlab")


# --- the suite over the built-ins ------------------------------------------------------------
@pytest.mark.parametrize("name", builtin("loss"))
def test_builtin_losses_pass(name):
    values = check_loss(name)
    assert all(v == v and abs(v) < 1e6 for v in values.values())


ARCH_CASES = {  # name -> (options, shapes checked, shapes it must refuse)
    "dcgan": ({"width": 8}, [(1, 8, 8)], [(2,), (3, 12, 12), (1, 8, 16)]),
    "mlp": ({"hidden": 16, "depth": 2}, [(2,), (3, 8, 8)], [(3, 128, 128)]),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", builtin("arch"))
def test_builtin_archs_pass_with_onnx_export(name):
    assert name in ARCH_CASES, f"add the new built-in arch {name!r} to ARCH_CASES"
    options, shapes, refused = ARCH_CASES[name]
    assert check_arch(name, options, shapes=shapes, unsupported=refused) == shapes


def test_builtin_datasets_that_need_no_files_pass():
    assert check_dataset("digits", image_size=8).shape == (1, 8, 8)
    assert check_dataset("ring").meta["std"] == 0.01
    assert len(check_dataset("grid").meta["modes"]) == 25


def test_folder_dataset_passes(tmp_path):
    for i in range(3):
        Image.new("RGB", (20, 12), (40 * i, 100, 200)).save(tmp_path / f"{i}.png")
    source = check_dataset("folder", {"channels": 3}, image_size=8, root=str(tmp_path))
    assert source.shape == (3, 8, 8) and len(source) == 3


def test_checks_leave_the_global_rng_alone():
    state = torch.get_rng_state()
    check_loss("lsgan")
    check_arch("mlp", {"hidden": 8}, shapes=[(2,)], onnx=False)
    assert torch.equal(state, torch.get_rng_state())


def test_check_loss_is_deterministic_and_uses_options():
    assert check_loss("lsgan") == check_loss("lsgan")
    assert check_loss(LeastSquares, {"a": -1, "b": 1, "c": 0}) != check_loss("lsgan")


# --- losses that break the contract ----------------------------------------------------------
class Vector(NonSaturating):
    def d_loss(self, real_logits, fake_logits):
        return real_logits - fake_logits  # (N,)


class NaN(NonSaturating):
    def g_loss(self, fake_logits, real_logits=None):
        return fake_logits.mean() / 0 * 0


class NaiveLog(Loss):
    """log(sigmoid(l)) underflows to log(0) = -inf for l below about -104 in float32."""

    def d_loss(self, real_logits, fake_logits):
        return -(torch.log(torch.sigmoid(real_logits)) + torch.log(1 - torch.sigmoid(fake_logits))).mean()

    def g_loss(self, fake_logits, real_logits=None):
        return -torch.log(torch.sigmoid(fake_logits)).mean()


class Detached(NonSaturating):
    def g_loss(self, fake_logits, real_logits=None):
        return torch.tensor(-fake_logits.mean().item())  # .item() inside the loss: no gradient


class ConstantD(NonSaturating):
    def d_loss(self, real_logits, fake_logits):
        return (real_logits * 0).sum() + 1.0  # a number, but nothing to learn from


class PenaltyWithoutGraph(NonSaturating):
    def penalty(self, D, real, fake):
        x = real.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(D(x).sum(), x)  # forgot create_graph=True
        return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


class NotALoss:
    pass


@pytest.mark.parametrize(
    "cls, message",
    [
        (Vector, "d_loss returned (16,), expected a 0-dim tensor"),
        (NaN, "g_loss returned nan, expected a finite value"),
        (NaiveLog, "d_loss at logits of +-200 returned inf, expected a finite value"),
        (Detached, "g_loss carries no gradient"),
        (ConstantD, "the gradient of d_loss is zero everywhere"),
        (PenaltyWithoutGraph, "penalty does not depend on D's weights"),
        (NotALoss, "is not a subclass of ganlab.losses.base.Loss"),
    ],
)
def test_check_loss_catches(cls, message):
    with pytest.raises(PluginError) as info:
        check_loss(cls)
    text = str(info.value)
    assert text.startswith(f"loss {__name__}:{cls.__qualname__}")  # names the plugin first
    assert message in text


def test_check_loss_by_unknown_name_lists_the_available_ones():
    with pytest.raises(PluginError, match="unknown loss 'lsgann'; did you mean 'lsgan'"):
        check_loss("lsgann")


def test_check_loss_reports_rejected_options():
    with pytest.raises(PluginError, match="rejected its options {'a': 1.0, 'b': 1.0}: lsgan needs a != b"):
        check_loss(LeastSquares, {"a": 1.0, "b": 1.0})


# --- archs that break the contract -----------------------------------------------------------
class Wrap(nn.Module):
    def __init__(self, inner, fn):
        super().__init__()
        self.inner, self.fn = inner, fn

    def forward(self, x):
        return self.fn(self.inner(x))


def arch_with(g_fn=None, d_fn=None, extra_param=False):
    class Broken(DCGAN):
        def build(self, shape, latent_dim):
            G, D = super().build(shape, latent_dim)
            G = Wrap(G, g_fn) if g_fn else G
            D = Wrap(D, d_fn) if d_fn else D
            if extra_param:
                G.unused = nn.Parameter(torch.zeros(3))
            return G, D

    return Broken


class BranchyG(nn.Module):
    """Data-dependent Python control flow: torch.export cannot capture it."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, z):
        if z.sum() > 0:
            return self.inner(z)
        return -self.inner(z)


class BranchyArch(DCGAN):
    def build(self, shape, latent_dim):
        G, D = super().build(shape, latent_dim)
        return BranchyG(G), D


class RefusesNothing(DCGAN):
    def supports(self, shape):
        return None


class ReturnsList(DCGAN):
    def build(self, shape, latent_dim):
        return list(super().build(shape, latent_dim))


@pytest.mark.parametrize(
    "cls, message",
    [
        (arch_with(g_fn=lambda x: x[:, :, :4, :4]), "generator returned (4, 1, 4, 4), expected shape (4, 1, 8, 8)"),
        (arch_with(g_fn=lambda x: 3 * x + 1.5), "expected [-1, 1] (end G with tanh)"),
        (arch_with(g_fn=lambda x: x * float("nan")), "generator returned NaN or Inf"),
        (arch_with(d_fn=lambda x: x[:, None]), "discriminator returned (4, 1), expected logits of shape (4,)"),
        (arch_with(d_fn=lambda x: x + float("inf")), "discriminator returned NaN or Inf"),
        (arch_with(extra_param=True), "no gradient from D(G(z)).mean() reaches G.unused"),
        (ReturnsList, "returned list, expected a tuple (G, D) of torch.nn.Module"),
    ],
)
def test_check_arch_catches(cls, message):
    with pytest.raises(PluginError) as info:
        check_arch(cls, {"width": 8}, shapes=[(1, 8, 8)], onnx=False)
    assert str(info.value).startswith(f"arch {__name__}:")
    assert message in str(info.value)


@pytest.mark.slow
def test_check_arch_catches_a_generator_that_does_not_export():
    with pytest.raises(PluginError) as info:
        check_arch(BranchyArch, {"width": 8}, shapes=[(1, 8, 8)])
    assert str(info.value).startswith(
        f"arch {__name__}:BranchyArch: generator does not pass ganlab export: "
        "torch.onnx.export failed for arch 'BranchyArch' ("
    )
    assert "(no data-dependent control flow)" in str(info.value)


def test_check_arch_requires_refusals_with_a_message():
    with pytest.raises(PluginError, match=r"supports\(3, 12, 12\) returned None, expected a message"):
        check_arch(RefusesNothing, {"width": 8}, shapes=[(1, 8, 8)], unsupported=[(3, 12, 12)], onnx=False)
    with pytest.raises(PluginError, match=r"refuses shape \(2,\) \(dcgan builds images"):
        check_arch(DCGAN, {"width": 8}, shapes=[(2,)], onnx=False)


# --- datasets that break the contract --------------------------------------------------------
class Points(Dataset):
    default_image_size = None

    def __init__(self, bug: str = ""):
        self.bug = bug

    def load(self, image_size, root):
        source = MixtureSource(torch.tensor([[0.0, 1.0], [1.0, 0.0]]), 0.1)
        if self.bug == "unseeded":
            source.sample = lambda n, generator: torch.randn(n, 2)  # ignores the generator
        if self.bug == "meta":
            source.meta = {"centre": torch.zeros(2)}  # a tensor cannot go into summary.json
        return source


class BrightImages(Dataset):
    default_image_size = 8

    def load(self, image_size, root):
        source = ImageSource(torch.full((4, 1, 8, 8), 255, dtype=torch.uint8))
        source.sample = lambda n, generator: torch.full((n, 1, 8, 8), 1.5)  # forgot to rescale
        return source


class NotASource(Dataset):
    def load(self, image_size, root):
        return torch.zeros(4, 1, 8, 8)


@pytest.mark.parametrize(
    "cls, options, message",
    [
        (Points, {"bug": "unseeded"}, "two sample(8) calls with equally seeded generators differ"),
        (Points, {"bug": "meta"}, "meta is not JSON-serialisable"),
        (BrightImages, None, "sample(8) spans [1.5, 1.5], expected [-1, 1]"),
        (NotASource, None, "load returned Tensor, expected a ganlab.data.base.DataSource"),
    ],
)
def test_check_dataset_catches(cls, options, message):
    with pytest.raises(PluginError) as info:
        check_dataset(cls, options)
    assert str(info.value).startswith(f"dataset {__name__}:{cls.__qualname__}")
    assert message in str(info.value)


def test_check_dataset_accepts_a_good_custom_dataset():
    assert check_dataset(Points).shape == (2,)
