"""The training loop: Algorithm 1 of Goodfellow et al. 2014. Reports through callbacks, never prints."""

from __future__ import annotations

import math
import platform
import time
from typing import Any, Iterable

import torch
from torch import Tensor

from ganlab import __version__, plugins
from ganlab.archs.base import build_networks, packed_shape
from ganlab.config import RunConfig
from ganlab.errors import DivergenceError
from ganlab.losses.readout import d_output_keys
from ganlab.plugins import contract, guard
from ganlab.run import distributed
from ganlab.run.callback import Callback
from ganlab.run.device import autocast, configure_backends, fits_on_device, host_read, pick_device, resolve_threads
from ganlab.run.ema import EMA
from ganlab.run.latent import latent_batch

POINTS_IN_SCATTER = 2500  # the sample count the mode metrics use on ring/grid
GRADS = {"d": "discriminator gradients", "g": "generator gradients"}


class Trainer:
    """All training state: networks, optimizers, loss, data, RNGs and the step counter."""

    def __init__(self, config: RunConfig, recorded: dict[str, dict[str, str]] | None = None):
        self.device = pick_device(config.device)
        # under torchrun: this process's rank, one GPU per rank (issue 13); one process otherwise
        self.world = distributed.init()
        self.device = distributed.device_for(self.device, self.world)
        distributed.check_batch(config.batch_size, self.world.size, config.pack)
        self.local_batch = self.world.local(config.batch_size)  # the rows of each global batch this rank keeps
        # resolved here and recorded in config.toml: 1 on the CPU, where a host read is free; 10 on
        # CUDA, where each read waits for the GPU to drain its queue
        if config.log_every is None:
            config.log_every = 1 if self.device.type == "cpu" else 10
        self.config = config
        self.threads = resolve_threads(config.threads)
        torch.set_num_threads(self.threads)
        configure_backends(self.device, config.deterministic)
        # `recorded`: a checkpoint's plugin provenance, so a missing plugin names its package
        was = {kind: (recorded or {}).get(kind) for kind in ("loss", "arch", "dataset")}
        self.loss, loss_spec = plugins.create("loss", config.loss, config.loss_options, was["loss"])
        self.arch, arch_spec = plugins.create("arch", config.arch, config.arch_options, was["arch"])
        dataset, data_spec = plugins.create("dataset", config.data, config.data_options, was["dataset"])
        self.specs = {"loss": loss_spec, "arch": arch_spec, "dataset": data_spec}
        self.d_is_probability = bool(getattr(self.loss, "d_is_probability", True))
        arch_owner = guard.Owner.of_spec(arch_spec)
        self.data = contract.load_data(
            dataset, guard.Owner.of_spec(data_spec), config.data, config.image_size, config.data_root
        )
        contract.probe_sample(self.who("dataset"), self.data)  # e.g. images in [0, 255]: named before training
        with guard.calling(arch_owner, "supports"):
            self.arch.check(self.data.shape)  # before any run folder exists
            if config.pack > 1:  # D's input: --pack m samples side by side
                self.arch.check(packed_shape(self.data.shape, config.pack))

        torch.manual_seed(config.seed)  # weight init draws from the global generator
        with guard.calling(arch_owner, "build"):
            G, D = build_networks(self.arch, self.data.shape, config.latent_dim, config.pack)
        memory_format = torch.channels_last if config.channels_last else torch.preserve_format
        G, D = (
            distributed.sync_batchnorm(G, self.device, self.world),
            distributed.sync_batchnorm(D, self.device, self.world),
        )
        self.G = G.to(self.device).to(memory_format=memory_format)
        self.D = D.to(self.device).to(memory_format=memory_format)
        # compiled twins share the eager modules' parameters; checkpoints, samples, export and the
        # gradient penalty (double backward, which compiled graphs do not support) use the eager ones.
        # Under DDP the twins average gradients over ranks; D in the G step stays local (its
        # gradients there are dropped before D's next update, so averaging them would be wasted)
        G_train, D_train = (distributed.wrap(net, self.device, self.world) for net in (self.G, self.D))
        self.G_fast = torch.compile(G_train) if config.compile else G_train
        self.D_fast = torch.compile(D_train) if config.compile else D_train
        self.D_local = self.D_fast if D_train is self.D else (torch.compile(self.D) if config.compile else self.D)
        self.opt_g = self._optimizer(self.G, config.lr_g)
        self.opt_d = self._optimizer(self.D, config.lr_d)
        # fp16 gradients underflow without loss scaling; one scaler per optimizer (GANs have two losses)
        fp16 = config.precision == "fp16"
        self.scalers = {name: torch.amp.GradScaler(self.device.type, enabled=fp16) for name in ("g", "d")}
        self._init_rngs(config.seed)
        n_fixed = config.n_samples if self.data.kind == "image" else POINTS_IN_SCATTER
        # its own seed: drawing the grids' noise never touches the training draws
        self.fixed_z = latent_batch(n_fixed, config.latent_dim, config.seed + 1)
        self.ema = EMA(self.G, config.ema_decay) if config.ema_decay else None  # --ema-decay
        self.step = 0
        self.skipped = 0  # updates dropped under --on-nan skip-batch
        self.contract_checked = False
        self.logging = True  # train() sets it per step: whether this step's statistics get read

    def _init_rngs(self, seed: int) -> None:
        """On the CPU one generator draws minibatches and noise, as it always did, so a seed gives
        the weights it gave before issue 12. On CUDA noise comes from a generator on the device, and
        so do minibatches when the dataset fits there (uint8, indexed and converted on the GPU)."""
        self.gen = torch.Generator().manual_seed(seed)  # minibatches (and noise on the CPU)
        self.noise_gen = self.gen
        self.train_data = self.data  # what real_batch samples from; self.data stays on the host
        if self.device.type != "cpu":
            self.noise_gen = torch.Generator(self.device).manual_seed(seed)
            nbytes = getattr(self.data, "nbytes", lambda: None)()  # a source older than issue 12 has none
            if nbytes is not None and fits_on_device(nbytes, self.device):
                self.train_data, self.gen = self.data.to(self.device), self.noise_gen
        self._one = torch.ones(1, device=self.device)  # the identity "unscale" of the finiteness check

    def _optimizer(self, net: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
        c = self.config
        if c.optimizer == "sgd":  # Goodfellow et al. 2014 trained with momentum SGD
            return torch.optim.SGD(net.parameters(), lr=lr, momentum=c.momentum)
        # fused: one kernel for the whole update on CUDA; the CPU keeps the default (foreach)
        # implementation, whose rounding earlier runs and the pinned hashes were made with
        fused = self.device.type == "cuda"
        return torch.optim.Adam(net.parameters(), lr=lr, betas=(c.beta1, c.beta2), fused=fused or None)

    def who(self, kind: str) -> str:
        return self.specs[kind].describe()

    def owners(self) -> list[guard.Owner]:
        """The plugins this trainer runs, for naming one whose code raises (guard.translating)."""
        return [guard.Owner.of_spec(spec) for spec in self.specs.values()]

    def autocast(self):
        return autocast(self.device, self.config.precision)

    def schedule_lr(self) -> None:
        """--lr-schedule: both learning rates for the coming step, a function of the step alone
        (resume needs no extra state); resuming to more --steps stretches what is left of it."""
        c = self.config
        if c.lr_schedule == "constant":
            return
        done = min(self.step / c.steps, 1.0)
        factor = 1.0 - done if c.lr_schedule == "linear" else 0.5 * (1.0 + math.cos(math.pi * done))
        for opt, lr in ((self.opt_g, c.lr_g), (self.opt_d, c.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * factor

    def noise(self, n: int) -> Tensor:
        """z ~ N(0, I), (n, latent_dim), drawn on the training device (the CPU draws, as ever, from
        the minibatch generator). The one place noise is drawn. Under DDP `n` is this rank's count:
        every rank draws all ranks' noise and keeps its own slice, so the generators stay in step."""
        z = torch.randn(
            n * self.world.size, self.config.latent_dim, generator=self.noise_gen, device=self.noise_gen.device
        )
        return self.world.slice(z).to(self.device)

    def real_batch(self) -> Tensor:
        """This rank's rows of a global minibatch of m real examples, on the training device (every
        rank draws the same m). The one place data is drawn."""
        batch = self.world.slice(self.train_data.sample(self.config.batch_size, self.gen)).to(self.device)
        if self.config.channels_last and batch.dim() == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch

    def _pack(self, x: Tensor) -> Tensor:
        """--pack m (PacGAN, Lin et al. 2018): (N, C, ...) -> (N/m, m*C, ...), each row m consecutive
        samples of one batch side by side, so D judges real with real and fake with fake."""
        m = self.config.pack
        return x if m == 1 else x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])

    # --- one iteration of Algorithm 1 --------------------------------------------------------
    def train_step(self) -> dict[str, Any]:
        """k D updates and one G update. Statistics come back as 0-dim tensors still on the device
        (train() reads them on logging steps); self.logging adds the ones that cost extra work."""
        m = self.local_batch  # config.batch_size in one process
        for _ in range(self.config.d_steps):  # k discriminator steps, each on a fresh minibatch
            real = self.real_batch()
            if not self.contract_checked:  # the real batch as G's output is checked: shape, finite, [-1, 1]
                contract.check_sample(self.who("dataset"), self.data, real, m)
            with torch.no_grad(), self.autocast():
                fake = self.G_fast(self.noise(m))  # (N, C, H, W) or (N, 2); G gets no gradient here
            if not self.contract_checked:  # before D sees it, so a bad shape is named, not a crash in D
                contract.check_generator_output(self.who("arch"), fake, m, self.data.shape)
            real, fake = self._pack(real), self._pack(fake)  # D's inputs from here on
            with self.autocast():
                real_logits, fake_logits = self.D_fast(real), self.D_fast(fake)
            d_loss = self.loss.d_loss(real_logits.float(), fake_logits.float())  # losses in fp32
            penalty = self.loss.penalty(self.D, real, fake.float())  # eager D, fp32: double backward
            if not self.contract_checked:
                self._check_contract(fake, real_logits, d_loss, penalty)
            total_d = d_loss if penalty is None else d_loss + penalty
            self._update("d", total_d, "d_loss")

        with self.autocast():
            fake_logits_g = self.D_local(self._pack(self.G_fast(self.noise(m))))
            real_logits_g = self.D_local(real) if self.loss.needs_real_logits_in_g else None
        g_loss = self.loss.g_loss(fake_logits_g.float(), None if real_logits_g is None else real_logits_g.float())
        if not self.contract_checked:
            contract.check_loss_value(self.who("loss"), g_loss, "g_loss")
            self.contract_checked = True
        self._update("g", g_loss, "g_loss")
        self.step += 1
        # d_loss is the loss's objective; a penalty (gradient penalty) is logged beside it, and
        # d_total = d_loss + penalty is what D's optimizer minimised
        stats: dict[str, Any] = {"step": self.step, "d_loss": d_loss.detach(), "g_loss": g_loss.detach()}
        if penalty is not None:
            stats["penalty"], stats["d_total"] = penalty.detach(), total_d.detach()
        if self.logging:
            (real_key, _), (fake_key, _) = d_output_keys(self.d_is_probability)
            squash = torch.sigmoid if self.d_is_probability else torch.as_tensor  # a critic's raw scores
            stats[real_key] = squash(real_logits.detach().float()).mean()  # mean D(x) or C(x)
            stats[fake_key] = squash(fake_logits.detach().float()).mean()  # mean D(G(z)) or C(G(z))
            stats["g_grad_norm"] = self._grad_norm()
        if self.skipped:
            stats["skipped"] = self.skipped
        return stats

    def _update(self, which: str, loss: Tensor, what: str) -> None:
        """Backward and optimizer step, unless the loss or a gradient is NaN/Inf: a NaN update never
        reaches the weights. One host read decides (k + 1 per generator step); under fp16 the
        GradScaler skips steps with overflowed gradients itself, as loss scaling expects."""
        opt, net, scaler = {"g": (self.opt_g, self.G), "d": (self.opt_d, self.D)}[which] + (self.scalers[which],)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        bad_grads = torch.zeros(1, device=self.device)
        if not scaler.is_enabled():  # multiplies by exactly 1.0: the gradients keep their bits
            grads = [p.grad for p in net.parameters() if p.grad is not None]
            torch._amp_foreach_non_finite_check_and_unscale_(grads, bad_grads, self._one)
        with host_read(self.device):
            loss_value, grads_bad = torch.stack([loss.detach().float(), bad_grads[0]]).tolist()
        if math.isfinite(loss_value) and not grads_bad:
            scaler.step(opt)
            scaler.update()
            return
        if scaler.is_enabled():  # record this step's overflow, so the scale backs off as after any other
            scaler.unscale_(opt)
            scaler.update()
        opt.zero_grad(set_to_none=True)
        quantity = f"{what} = {loss_value}" if not math.isfinite(loss_value) else f"{GRADS[which]} hold NaN/Inf"
        self._diverged(quantity)

    def _grad_norm(self) -> Tensor:
        """The generator's total gradient norm (one foreach kernel), on logging steps only."""
        grads = [p.grad for p in self.G.parameters() if p.grad is not None]
        return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros((), device=self.device)

    def _check_contract(self, fake: Tensor, real_logits: Tensor, d_loss: Tensor, penalty: Tensor | None) -> None:
        decisions = self.local_batch // self.config.pack  # one logit per packed group of this rank's rows
        contract.check_discriminator_output(self.who("arch"), real_logits, decisions)
        contract.check_loss_value(self.who("loss"), d_loss, "d_loss")
        if penalty is not None:
            contract.check_loss_value(self.who("loss"), penalty, "penalty")

    def _diverged(self, quantity: str) -> None:
        """A NaN/Inf update was dropped. --on-nan decides: stop (DivergenceError naming the step and
        the quantity; the last checkpoint stays as it was) or skip-batch (count it, go on)."""
        where = self._nonfinite_weights()
        if self.config.on_nan == "skip-batch" and not where:
            self.skipped += 1
            return
        raise DivergenceError(
            f"training diverged at step {self.step + 1}: {quantity}"
            + (f" ({where} hold NaN/Inf)" if where else "")
            + "; the last checkpoint is kept (lower --lr-d/--lr-g, or --on-nan skip-batch to drop such batches)"
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
            **(
                {"scalers": {k: v.state_dict() for k, v in self.scalers.items()}}
                if self.scalers["g"].is_enabled()
                else {}
            ),
            **({"noise_rng": self.noise_gen.get_state()} if self.noise_gen is not self.gen else {}),
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
        if "noise_rng" in state and self.noise_gen is not self.gen:
            self.noise_gen.set_state(state["noise_rng"])
        for name, scaler_state in state.get("scalers", {}).items():
            self.scalers[name].load_state_dict(scaler_state)
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


def read_stats(trainer: Trainer, stats: dict[str, Any]) -> dict[str, float]:
    """A step's statistics as host numbers, in one device->host read (torch.stack(...).tolist())."""
    names = [k for k, v in stats.items() if isinstance(v, Tensor)]
    with host_read(trainer.device):
        values = torch.stack([stats[k].float() for k in names]).tolist() if names else []
    return {k: (values[names.index(k)] if k in names else v) for k, v in stats.items()}


def train(trainer: Trainer, until: int, callbacks: Iterable[Callback] = ()) -> dict[str, float]:
    """Runs generator steps until `trainer.step == until`. Each callback gets on_start; then per step
    on_log (logging steps only: every config.log_every steps and the last, host numbers) and on_step
    (every step, statistics still on the device); and on_end when the segment completes, with the
    segment's timing, which train returns."""
    callbacks = list(callbacks)
    for cb in callbacks:
        cb.on_start(trainer)
    start, first, every = time.perf_counter(), trainer.step, trainer.config.log_every or 1
    while trainer.step < until:
        log = (trainer.step + 1) % every == 0 or trainer.step + 1 == until
        trainer.logging = log
        trainer.schedule_lr()  # outside train_step, as the EMA below
        stats = trainer.train_step()
        trainer.update_ema()  # outside train_step: the step stays Algorithm 1 and nothing else
        if log:  # before on_step: a checkpoint written there finds its metrics row already logged
            row = read_stats(trainer, stats)
            for cb in callbacks:
                cb.on_log(trainer, row)
        for cb in callbacks:
            cb.on_step(trainer, stats)
    timing = {"wall_time_s": time.perf_counter() - start, "steps": trainer.step - first}
    for cb in callbacks:
        cb.on_end(trainer, timing)
    return timing
