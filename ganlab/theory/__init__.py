"""The GAN theorems as numerical experiments on densities known in closed form (`ganlab theory`).

One module per claim (dstar, value, lsgan, saturation, convergence, collapse), each with
`run(Settings) -> ClaimResult`; `runner` picks and runs them; nothing here prints.
"""

from ganlab.theory.common import Check, ClaimResult, Settings
from ganlab.theory.runner import CLAIMS, LOSS_CLAIMS, plan, run_claims

__all__ = ["CLAIMS", "LOSS_CLAIMS", "Check", "ClaimResult", "Settings", "plan", "run_claims"]
