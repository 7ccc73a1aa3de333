"""The plugin contract suite: `check_loss`, `check_arch`, `check_dataset`, for ganlab's built-ins
and for plugin authors' own tests.

Each check takes a registered name (tests the installed entry point), a class, or an instance,
runs the plugin on tiny inputs and raises `PluginError` naming the plugin at the first broken
promise; an exception raised inside the plugin's code becomes the same one-line PluginError a
command shows (its traceback chained as the cause). The runtime checks are the ones training runs on its first step (ganlab.plugins.contract);
this adds what only a test can afford: gradients, extreme logits, reproducibility, ONNX export.

    from ganlab.testing import check_loss
    def test_contract():
        check_loss("my-loss")            # the installed entry point
        check_loss(MyLoss, {"k": 2})     # the class with options
"""

from __future__ import annotations

import inspect
from typing import Any, Iterable

import torch
from torch import Tensor, nn

from ganlab import plugins
from ganlab.errors import ConfigError, PluginError
from ganlab.plugins import contract, guard

EXTREME_LOGIT = 200.0  # far past where sigmoid saturates in float32 (|l| > 17 rounds to 0 or 1)
DEFAULT_SHAPES = ((1, 32, 32), (3, 32, 32), (2,))  # tried in turn when check_arch gets no shapes
__all__ = ["check_loss", "check_arch", "check_dataset", "check_onnx_export"]


def resolve(kind: str, plugin: Any, options: dict[str, Any] | None = None) -> tuple[Any, str]:
    """A name, class or instance -> (instance, description used in every error message)."""
    base = plugins.base_class(kind)
    if isinstance(plugin, str):
        instance, spec = plugins.create(kind, plugin, options)
        return instance, spec.describe()
    cls = plugin if inspect.isclass(plugin) else type(plugin)
    who = f"{kind} {cls.__module__}:{cls.__qualname__}"
    if not issubclass(cls, base):
        raise PluginError(
            f"{who} is not a subclass of {base.__module__}.{base.__qualname__}; derive the plugin class from it"
        )
    if not inspect.isclass(plugin):
        if options:
            raise PluginError(f"{who}: options go with a class or a name, not an instance; pass the class")
        return plugin, who
    with guard.calling(guard.owner_of(plugin, who), "__init__"):
        try:
            return plugin(**(options or {})), who
        except (TypeError, ValueError) as exc:
            raise PluginError(f"{who} rejected its options {options or {}}: {exc}") from exc


# --- losses -------------------------------------------------------------------------------------
class _Critic(nn.Module):
    """A small smooth D on (N, 1, 8, 8) inputs, so penalties have input gradients to work on."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten()  # (N,)


def check_loss(loss: Any, options: dict[str, Any] | None = None, *, batch: int = 16, seed: int = 0) -> dict[str, float]:
    """Checks a loss: d_loss, g_loss and penalty are finite 0-dim tensors; gradients reach D's
    weights through d_loss (+ penalty) and G's output through g_loss; values and gradients stay
    finite at logits of +-200 (work from logits with softplus). Returns the measured values."""
    obj, who = resolve("loss", loss, options)
    with torch.random.fork_rng(devices=[]), guard.translating([guard.owner_of(obj, who)]):
        # fork_rng: the caller's global RNG state is left as it was
        torch.manual_seed(seed)
        D = _Critic()
        real = torch.rand(batch, 1, 8, 8) * 2 - 1  # (N, 1, 8, 8) in [-1, 1]
        fake_param = torch.randn(batch, 1, 8, 8, requires_grad=True)
        fake = torch.tanh(fake_param)  # stands in for G(z)
        values = _check_d_side(obj, who, D, real, fake.detach())
        real_logits = D(real) if obj.needs_real_logits_in_g else None
        g = obj.g_loss(D(fake), real_logits)
        contract.check_loss_value(who, g, "g_loss")
        _require_gradient(who, "g_loss", [("G(z)", fake_param)], g)
        values["g_loss"] = g.item()
        _check_extreme_logits(obj, who, batch)
    return values


def _check_d_side(obj: Any, who: str, D: nn.Module, real: Tensor, fake: Tensor) -> dict[str, float]:
    d = obj.d_loss(D(real), D(fake))
    contract.check_loss_value(who, d, "d_loss")
    values = {"d_loss": d.item()}
    _require_gradient(who, "d_loss", list(D.named_parameters()), d)
    penalty = obj.penalty(D, real, fake)
    if penalty is not None:
        contract.check_loss_value(who, penalty, "penalty")
        if not penalty.requires_grad:
            raise PluginError(
                f"{who}: penalty does not depend on D's weights; build it with "
                "torch.autograd.grad(..., create_graph=True)"
            )
        # a gradient penalty need not reach every weight (D's last bias drops out of grad_x D)
        _require_gradient(who, "penalty", list(D.named_parameters()), penalty, every=False)
        values["penalty"] = penalty.item()
    return values


def _require_gradient(who: str, what: str, named: list[tuple[str, Tensor]], value: Tensor, every: bool = True) -> None:
    """Every tensor in `named` (or, every=False, at least one) gets a finite gradient from
    `value`, and not all of them zero."""
    tensors = [t for _, t in named]
    if not value.requires_grad:
        raise PluginError(f"{who}: {what} carries no gradient; do not detach or call .item() inside it")
    grads = torch.autograd.grad(value, tensors, allow_unused=True, retain_graph=True)
    for (name, _), grad in zip(named, grads, strict=True):
        if grad is None and every:
            raise PluginError(f"{who}: no gradient from {what} reaches {name}; it must depend on it")
        if grad is not None and not torch.isfinite(grad).all():
            raise PluginError(f"{who}: the gradient of {what} with respect to {name} is NaN or Inf")
    if all(g is None or float(g.abs().max()) == 0.0 for g in grads):
        raise PluginError(f"{who}: the gradient of {what} is zero everywhere; the loss cannot train")


def _check_extreme_logits(obj: Any, who: str, batch: int) -> None:
    signs = torch.tensor([-1.0, 1.0]).repeat(batch // 2 + 1)[:batch]
    for sign in (1.0, -1.0):
        real = (sign * EXTREME_LOGIT * signs).requires_grad_(True)
        fake = (-sign * EXTREME_LOGIT * signs).requires_grad_(True)
        for what, value in (
            ("d_loss", obj.d_loss(real, fake)),
            ("g_loss", obj.g_loss(fake, real if obj.needs_real_logits_in_g else None)),
        ):
            contract.check_loss_value(who, value, f"{what} at logits of +-{EXTREME_LOGIT:g}")
            grads = torch.autograd.grad(value, [real, fake], allow_unused=True)
            if any(g is not None and not torch.isfinite(g).all() for g in grads):
                raise PluginError(
                    f"{who}: the gradient of {what} is NaN or Inf at logits of "
                    f"+-{EXTREME_LOGIT:g}; compute log D with softplus, not log(sigmoid)"
                )


# --- architectures ------------------------------------------------------------------------------
def check_arch(
    arch: Any,
    options: dict[str, Any] | None = None,
    *,
    shapes: Iterable[tuple[int, ...]] | None = None,
    unsupported: Iterable[tuple[int, ...]] = (),
    latent_dim: int = 8,
    batch: int = 4,
    onnx: bool = True,
    seed: int = 0,
) -> list[tuple[int, ...]]:
    """Checks an arch on each shape: build gives two modules; G's output has shape (N, *shape),
    is finite and, for images, in [-1, 1] in train and eval mode; D gives (N,) finite logits;
    gradients reach every parameter of G and D; G passes `ganlab export` (ONNX export, checker,
    onnxruntime parity with torch within 1e-4). Each shape in `unsupported` must be refused by
    `supports` with a message, and by `check` with a ConfigError. Returns the shapes checked."""
    obj, who = resolve("arch", arch, options)
    with guard.translating([guard.owner_of(obj, who)]):
        return _check_arch(obj, who, shapes, unsupported, latent_dim, batch, onnx, seed)


def _check_arch(obj, who, shapes, unsupported, latent_dim, batch, onnx, seed) -> list[tuple[int, ...]]:
    _check_refusals(obj, who, unsupported)
    shapes = [tuple(s) for s in shapes] if shapes is not None else _first_supported(obj, who)
    for shape in shapes:
        reason = obj.supports(shape)
        if reason is not None:
            raise PluginError(f"{who}: refuses shape {shape} ({reason}); pass shapes it supports")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            G, D = _build(obj, who, shape, latent_dim)
            _check_forward(who, G, D, shape, latent_dim, batch)
            if onnx:
                check_onnx_export(who, G, latent_dim)
    return shapes


def _check_refusals(obj: Any, who: str, unsupported: Iterable[tuple[int, ...]]) -> None:
    for shape in unsupported:
        reason = obj.supports(tuple(shape))
        if not isinstance(reason, str) or not reason:
            raise PluginError(
                f"{who}: supports{tuple(shape)} returned {reason!r}, expected a message saying what is supported"
            )
        try:
            obj.check(tuple(shape))
        except ConfigError:
            continue
        raise PluginError(f"{who}: check{tuple(shape)} did not raise ConfigError for a refused shape")


def _first_supported(obj: Any, who: str) -> list[tuple[int, ...]]:
    for shape in DEFAULT_SHAPES:
        if obj.supports(shape) is None:
            return [shape]
    raise PluginError(f"{who} supports none of {DEFAULT_SHAPES}; pass shapes=[...] to check_arch")


def _build(obj: Any, who: str, shape: tuple[int, ...], latent_dim: int) -> tuple[nn.Module, nn.Module]:
    with guard.calling(guard.owner_of(obj, who), "build"):
        built = obj.build(shape, latent_dim)
    if not isinstance(built, tuple) or len(built) != 2 or not all(isinstance(m, nn.Module) for m in built):
        raise PluginError(
            f"{who}: build{shape} returned {type(built).__name__}, expected a tuple (G, D) of torch.nn.Module"
        )
    return built


def _check_forward(who: str, G: nn.Module, D: nn.Module, shape: tuple[int, ...], latent_dim: int, batch: int) -> None:
    G.train()
    D.train()
    fake = G(torch.randn(batch, latent_dim))
    contract.check_generator_output(who, fake, batch, shape)
    logits = D(fake)
    contract.check_discriminator_output(who, logits, batch)
    if not torch.isfinite(logits).all():
        raise PluginError(f"{who}: discriminator returned NaN or Inf")
    named = [("G." + n, p) for n, p in G.named_parameters()] + [("D." + n, p) for n, p in D.named_parameters()]
    _require_gradient(who, "D(G(z)).mean()", [(n, p) for n, p in named if p.requires_grad], logits.mean())
    G.eval()
    with torch.no_grad():
        contract.check_generator_output(who + " in eval mode", G(torch.randn(batch, latent_dim)), batch, shape)


def check_onnx_export(who: str, G: nn.Module, latent_dim: int) -> dict[int, float]:
    """Exports G (eval mode) exactly as `ganlab export` does (ganlab.deploy.export: torch.export-based
    exporter, dynamic batch axis), then runs its verification: onnx.checker, and onnxruntime
    against torch at batch 1 and 16 within export.TOLERANCE. Returns batch -> max |difference|."""
    from ganlab.deploy import export
    from ganlab.errors import ExportError

    G.eval()
    try:
        proto = export.to_onnx(G, latent_dim, "sample", None, f"arch {_short_name(who)!r}")
        return export.verify(proto.SerializeToString(), G, latent_dim, export.TOLERANCE)
    except ExportError as exc:
        raise PluginError(f"{who}: generator does not pass ganlab export: {exc}") from exc


def _short_name(who: str) -> str:
    """ "arch 'resnet' (module:Class from dist==v)" -> "resnet"; "arch module:Class" -> "Class"."""
    head = who.split(" (")[0]
    return head.split("'")[1] if "'" in head else head.rsplit(":", 1)[-1]


# --- datasets -----------------------------------------------------------------------------------
def check_dataset(
    dataset: Any,
    options: dict[str, Any] | None = None,
    *,
    image_size: int | None = None,
    root: str | None = None,
    n: int = 8,
    seed: int = 0,
):
    """Checks a dataset: load returns a DataSource of kind "image" (shape (C, H, W), H = W =
    image_size) or "points" (shape (D,)); it is non-empty; meta is JSON-serialisable; sample(n)
    gives (n, *shape) finite floats, images in [-1, 1]; the same seed gives the same batch.
    Returns the loaded source."""
    obj, who = resolve("dataset", dataset, options)
    name = dataset if isinstance(dataset, str) else type(obj).__name__
    owner = guard.owner_of(obj, who)
    source = contract.load_data(obj, owner, name, image_size, root)
    if source.kind == "points" and obj.default_image_size is not None:
        raise PluginError(
            f"{who}: loads points but declares default_image_size = {obj.default_image_size}; "
            "declare default_image_size = None (then ganlab refuses --image-size for it)"
        )
    with guard.translating([owner, guard.owner_of(source, who)]):
        batch = source.sample(n, torch.Generator().manual_seed(seed))
        contract.check_sample(who, source, batch, n)
        again = source.sample(n, torch.Generator().manual_seed(seed))
    if not torch.equal(batch, again):
        raise PluginError(
            f"{who}: two sample({n}) calls with equally seeded generators differ; "
            "draw every random number from the generator argument"
        )
    return source
