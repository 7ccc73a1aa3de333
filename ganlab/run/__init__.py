"""Training a run: the trainer (Algorithm 1), the runner that writes a run folder, the run folder
itself, checkpoints, restoring a trained generator, and the device choice."""
