"""`python -m ganlab` runs the CLI."""

from ganlab.cli import main

main()
