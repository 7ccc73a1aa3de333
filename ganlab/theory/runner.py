"""Which claims to run, checked before anything runs, and running them in order."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from ganlab import plugins
from ganlab.errors import ConfigError
from ganlab.theory import CLAIMS, LOSS_CLAIMS
from ganlab.theory.settings import Settings

if TYPE_CHECKING:
    from ganlab.theory.common import ClaimResult

MAX_SEED = 2**32 - 1  # each draw's generator is seeded with seed * 1000 + a salt, within torch's 64 bits


def plan(ids: Sequence[str], settings: Settings) -> list[str]:
    """The claims to run, in table order. Unknown ids, --loss on a claim it does not apply to, an
    unknown loss or bad settings are errors here, before any claim runs or any file is written.
    With --loss and no ids: every claim that loss applies to."""
    unknown = [i for i in ids if i not in CLAIMS]
    if unknown:
        raise ConfigError(f"unknown claim {unknown[0]!r}; valid claims: {', '.join(CLAIMS)}")
    seed = settings.seed
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"--seed must be an integer from 0 to {MAX_SEED}, got {seed!r}")
    if settings.out is not None:
        _check_out(settings.out)
    chosen = [c for c in CLAIMS if c in ids] if ids else list(CLAIMS)
    if settings.loss is None:
        return chosen
    fixed = [c for c in chosen if c not in LOSS_CLAIMS]
    if ids and fixed:
        raise ConfigError(
            f"--loss applies to the claims {' and '.join(LOSS_CLAIMS)} only, not {fixed[0]!r} "
            "(its losses are part of its statement); drop --loss or the claim"
        )
    plugins.find("loss", settings.loss)  # an unknown loss names the close match and the choices
    chosen = [c for c in chosen if c in LOSS_CLAIMS]
    if "dstar" in chosen:
        from ganlab.theory import dstar

        loss, _ = plugins.create("loss", settings.loss)
        if dstar.applies_to(loss) is not None and not ids:
            chosen.remove("dstar")  # `--loss hinge` alone: run what hinge applies to
        else:
            dstar.load_loss(settings.loss)  # named explicitly: say why it does not apply
    return chosen


def _check_out(out: Path) -> None:
    """The plot folder, or the nearest part of its path that exists, must be a folder."""
    for path in (out, *out.parents):
        if path.exists():
            if not path.is_dir():
                raise ConfigError(
                    f"--out {str(out)!r}: {str(path)!r} is a file, not a folder; pass a folder for the plots"
                )
            return


def run_claims(
    ids: Sequence[str], settings: Settings, on_start: Callable[[str], None] | None = None
) -> list[ClaimResult]:
    """Runs the planned claims in order; `on_start(id)` is called before each (progress)."""
    chosen = plan(ids, settings)
    if settings.out is not None:
        settings.out.mkdir(parents=True, exist_ok=True)
    import torch

    from ganlab.theory.common import apply_tolerance

    # The nets are tiny: with more than one thread every op pays a thread handoff, which on a
    # busy 2-core machine made a quick claim 50x slower (measured: `value` 109 s against 2 s).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        results = []
        for claim in chosen:
            if on_start is not None:
                on_start(claim)
            module = importlib.import_module(CLAIMS[claim])
            results.append(apply_tolerance(module.run(settings), settings))
        return results
    finally:
        torch.set_num_threads(threads)
