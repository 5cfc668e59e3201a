"""The command-line front end: ``python -m core inspect|rewrite|diff``."""

from core.cli.main import main

__all__ = ["main"]
