"""ganlab-wgan: the WGAN-GP and hinge losses as a ganlab loss plugin package."""

__version__ = "0.1.0"
