"""GAN architectures: the arch contract (base.py) and the built-in networks, one per module."""
