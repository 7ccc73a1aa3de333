"""ganlab: a command-line lab for generative adversarial networks."""

__version__ = "0.1.0"
