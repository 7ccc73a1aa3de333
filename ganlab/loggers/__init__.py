"""Loggers: where the training loop's scalars and sample grids go (metrics.jsonl, TensorBoard,
MLflow, or a plugin's), selected with `ganlab train --log NAME,...`. base.py is the contract."""
