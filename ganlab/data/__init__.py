"""Datasets: the dataset contract (base.py) and the built-in sources, one per module."""
