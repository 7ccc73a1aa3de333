"""The GAN theorems as numerical experiments on densities known in closed form (`ganlab theory`).

One module per claim, each with `run(Settings) -> ClaimResult`; `runner` checks the request and
runs them; `common` holds the settings, the result record and the small D; `densities` the closed
forms and quadrature. Nothing here prints. Importing this package does not import torch (the
CLI reads the claim ids from it for its help).
"""

# claim id -> its module, in the order the table shows them
CLAIMS = {
    "dstar": "ganlab.theory.dstar",
    "value": "ganlab.theory.value",
    "lsgan": "ganlab.theory.lsgan",
    "saturation": "ganlab.theory.saturation",
    "convergence": "ganlab.theory.convergence",
    "collapse": "ganlab.theory.collapse",
}
# the claims `--loss` swaps a loss into: dstar trains D with it (only a D loss equal to -V has
# D* = p_data / (p_data + p_g)), saturation measures its generator gradient against minimax's;
# the other claims are statements about the losses they name
LOSS_CLAIMS = ("dstar", "saturation")
