"""Entry point of ``python -m core``."""

import sys

from core.cli import main

# Guarded: verification spawns child processes, which import the main module again.
if __name__ == "__main__":
    sys.exit(main())
