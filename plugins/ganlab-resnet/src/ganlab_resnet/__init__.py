"""ganlab-resnet: SNGAN-style residual networks as a ganlab arch plugin package."""

__version__ = "0.1.0"
