"""Comparing runs: rows from run summaries, studies that train what is missing, machine-readable
renderings and plots. The rich table lives with the command, in ganlab.cli."""
