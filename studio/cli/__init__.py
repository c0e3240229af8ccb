"""The `orchestra` command: one module per subcommand (see main.SUBCOMMANDS)."""

from studio.cli.main import main

__all__ = ["main"]
