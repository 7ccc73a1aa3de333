"""GAN losses: the loss contract (base.py) and the built-in objectives, one per module."""
