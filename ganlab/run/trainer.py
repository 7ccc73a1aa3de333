"""The training loop: Algorithm 1 of Goodfellow et al. 2014. Reports through callbacks, never prints."""

from __future__ import annotations

import platform
import time
from typing import Any, Iterable

import torch
from torch import Tensor

from ganlab import __version__, plugins
from ganlab.config import RunConfig
from ganlab.errors import DivergenceError
from ganlab.plugins import contract
from ganlab.run.callback import Callback
from ganlab.run.device import pick_device
from ganlab.run.ema import EMA
from ganlab.run.latent import latent_batch

POINTS_IN_SCATTER = 2500  # the sample count the mode metrics use on ring/grid


class Trainer:
    """All training state: networks, optimizers, loss, data, RNGs and the step counter."""

    def __init__(self, config: RunConfig, recorded: dict[str, dict[str, str]] | None = None):
        self.config = config
        self.device = pick_device(config.device)
        # `recorded`: a checkpoint's plugin provenance, so a missing plugin names its package
        dist = {kind: (recorded or {}).get(kind, {}).get("dist") for kind in ("loss", "arch", "dataset")}
        self.loss, loss_spec = plugins.create("loss", config.loss, config.loss_options, dist["loss"])
        self.arch, arch_spec = plugins.create("arch", config.arch, config.arch_options, dist["arch"])
        dataset, data_spec = plugins.create("dataset", config.data, config.data_options, dist["dataset"])
        self.specs = {"loss": loss_spec, "arch": arch_spec, "dataset": data_spec}
        self.data = dataset.load(config.image_size, config.data_root)
        self.arch.check(self.data.shape)  # before any run folder exists

        torch.manual_seed(config.seed)  # weight init draws from the global generator
        G, D = self.arch.build(self.data.shape, config.latent_dim)
        self.G, self.D = G.to(self.device), D.to(self.device)
        self.opt_g = self._optimizer(self.G, config.lr_g)
        self.opt_d = self._optimizer(self.D, config.lr_d)
        # one generator for minibatches and noise, so a resumed run draws the same sequence
        self.gen = torch.Generator().manual_seed(config.seed)
        n_fixed = config.n_samples if self.data.kind == "image" else POINTS_IN_SCATTER
        # its own seed: drawing the grids' noise never touches the training draws
        self.fixed_z = latent_batch(n_fixed, config.latent_dim, config.seed + 1)
        self.ema = EMA(self.G, config.ema_decay) if config.ema_decay else None  # --ema-decay
        self.step = 0
        self.skipped = 0  # updates dropped under --on-nan skip-batch
        self.contract_checked = False

    def _optimizer(self, net: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
        c = self.config
        if c.optimizer == "sgd":  # Goodfellow et al. 2014 trained with momentum SGD
            return torch.optim.SGD(net.parameters(), lr=lr, momentum=c.momentum)
        return torch.optim.Adam(net.parameters(), lr=lr, betas=(c.beta1, c.beta2))

    def who(self, kind: str) -> str:
        return self.specs[kind].describe()

    def noise(self, n: int) -> Tensor:
        return torch.randn(n, self.config.latent_dim, generator=self.gen).to(self.device)

    def real_batch(self) -> Tensor:
        return self.data.sample(self.config.batch_size, self.gen).to(self.device)

    # --- one iteration of Algorithm 1 --------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        m = self.config.batch_size
        for _ in range(self.config.d_steps):  # k discriminator steps, each on a fresh minibatch
            real = self.real_batch()
            with torch.no_grad():
                fake = self.G(self.noise(m))  # (N, C, H, W) or (N, 2); G gets no gradient here
            if not self.contract_checked:  # before D sees it, so a bad shape is named, not a crash in D
                contract.check_generator_output(self.who("arch"), fake, m, self.data.shape)
            real_logits, fake_logits = self.D(real), self.D(fake)
            d_loss = self.loss.d_loss(real_logits, fake_logits)
            penalty = self.loss.penalty(self.D, real, fake)
            if not self.contract_checked:
                self._check_contract(fake, real_logits, d_loss, penalty)
            total_d = d_loss if penalty is None else d_loss + penalty
            self.opt_d.zero_grad(set_to_none=True)
            if self._finite(total_d, "d_loss"):  # a NaN step never reaches the weights
                total_d.backward()
                self.opt_d.step()

        fake = self.G(self.noise(m))
        fake_logits_g = self.D(fake)
        real_logits_g = self.D(real) if self.loss.needs_real_logits_in_g else None
        g_loss = self.loss.g_loss(fake_logits_g, real_logits_g)
        if not self.contract_checked:
            contract.check_loss_value(self.who("loss"), g_loss, "g_loss")
            self.contract_checked = True
        self.opt_g.zero_grad(set_to_none=True)
        grad_norm = torch.tensor(float("nan"))
        if self._finite(g_loss, "g_loss"):
            g_loss.backward()
            grad_norm = torch.linalg.vector_norm(
                torch.stack([p.grad.detach().norm() for p in self.G.parameters() if p.grad is not None])
            )
            if self._finite(grad_norm, "generator gradient norm"):
                self.opt_g.step()
        self.step += 1
        stats = {
            "step": self.step,
            "d_loss": total_d.item(),
            "g_loss": g_loss.item(),
            "d_real": torch.sigmoid(real_logits.detach()).mean().item(),  # mean D(x)
            "d_fake": torch.sigmoid(fake_logits.detach()).mean().item(),  # mean D(G(z))
            "g_grad_norm": grad_norm.item(),
        }
        if penalty is not None:
            stats["penalty"] = penalty.item()
        if self.skipped:
            stats["skipped"] = self.skipped
        return stats

    def _check_contract(self, fake: Tensor, real_logits: Tensor, d_loss: Tensor, penalty: Tensor | None) -> None:
        m = self.config.batch_size
        contract.check_discriminator_output(self.who("arch"), real_logits, m)
        contract.check_loss_value(self.who("loss"), d_loss, "d_loss")
        if penalty is not None:
            contract.check_loss_value(self.who("loss"), penalty, "penalty")

    def _finite(self, value: Tensor, what: str) -> bool:
        """True when `value` is finite. Otherwise --on-nan decides: stop (DivergenceError
        naming the step and the quantity; the last checkpoint stays as it was) or skip-batch
        (drop this update, count it, go on)."""
        if torch.isfinite(value).all():
            return True
        where = self._nonfinite_weights()
        if self.config.on_nan == "skip-batch" and not where:
            self.skipped += 1
            return False
        quantity = f"{what} = {value.item()}" + (f" ({where} hold NaN/Inf)" if where else "")
        raise DivergenceError(
            f"training diverged at step {self.step + 1}: {quantity}; the last checkpoint "
            "is kept (lower --lr-d/--lr-g, or --on-nan skip-batch to drop such batches)"
        )

    def _nonfinite_weights(self) -> str:
        bad = [
            name
            for name, net in (("G weights", self.G), ("D weights", self.D))
            if not all(torch.isfinite(p).all() for p in net.parameters())
        ]
        return " and ".join(bad)

    @property
    def sampler(self) -> torch.nn.Module:
        """The generator that grids and evaluation sample from: the EMA copy when there is one."""
        return self.ema.module if self.ema is not None else self.G

    @property
    def weights(self) -> str:
        """ "ema" or "raw": which weights `sampler` holds (summary.json records it)."""
        return "ema" if self.ema is not None else "raw"

    def update_ema(self) -> None:
        """Called by the loop after each generator step (never inside train_step)."""
        if self.ema is not None:
            self.ema.update(self.G)

    @torch.no_grad()
    def samples(self) -> Tensor:
        """G(fixed z) in eval mode (batch-norm running statistics), as an exported G would give;
        the EMA generator when --ema-decay is set."""
        G = self.sampler
        was_training = G.training
        G.eval()
        try:
            return G(self.fixed_z.to(self.device)).cpu()
        finally:
            G.train(was_training)

    # --- full state, for checkpoints and resume ------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "skipped": self.skipped,
            "config": self.config.to_dict(),
            "data": {"kind": self.data.kind, "shape": list(self.data.shape), "meta": self.data.meta},
            "plugins": {k: plugins.provenance(s) for k, s in self.specs.items()},
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "fixed_z": self.fixed_z,
            "rng": {
                "data": self.gen.get_state(),
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            },
            "versions": versions(self.specs),
            **({"G_ema": self.ema.state_dict()} if self.ema is not None else {}),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        if self.ema is not None:  # a checkpoint from before --ema-decay existed has no G_ema: start from G
            self.ema.load_state_dict(state.get("G_ema", state["G"]))
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.fixed_z = state["fixed_z"]
        self.gen.set_state(state["rng"]["data"])
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.step = int(state["step"])
        self.skipped = int(state.get("skipped", 0))
        self.contract_checked = True  # checked when the run started


def versions(specs: dict[str, plugins.PluginSpec]) -> dict[str, Any]:
    return {
        "ganlab": __version__,
        "torch": str(torch.__version__),  # TorchVersion would not load under weights_only
        "python": platform.python_version(),
        "plugins": {kind: spec.origin for kind, spec in specs.items()},
    }


def train(trainer: Trainer, until: int, callbacks: Iterable[Callback] = ()) -> dict[str, float]:
    """Runs generator steps until `trainer.step == until`, calling each callback's on_start, on_step
    and (when the segment completes) on_end; returns the segment's timing, which on_end also gets."""
    callbacks = list(callbacks)
    for cb in callbacks:
        cb.on_start(trainer)
    start, first = time.perf_counter(), trainer.step
    while trainer.step < until:
        stats = trainer.train_step()
        trainer.update_ema()  # outside train_step: the step stays Algorithm 1 and nothing else
        for cb in callbacks:
            cb.on_step(trainer, stats)
    timing = {"wall_time_s": time.perf_counter() - start, "steps": trainer.step - first}
    for cb in callbacks:
        cb.on_end(trainer, timing)
    return timing
