"""The `orchestra` command: open the studio, or validate, run, export and manage keys.

Each subcommand lives in its own ``studio/cli_<name>.py`` module exposing
``register(subparsers)``; this file only wires them together, so ``orchestra validate``
never pays for importing Qt or litellm. With no subcommand (or a flow path) it opens
the studio.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (subcommand, module): each module has register(subparsers) and sets func on its parser
SUBCOMMANDS = (
    ("validate", "studio.cli.validate"),
    ("nodes", "studio.cli.nodes"),
    ("run", "studio.cli.run"),
    ("keys", "studio.cli.keys"),
    ("export", "studio.cli.export"),
    ("test", "studio.cli.test"),
    ("serve", "studio.cli.serve"),
    ("chat", "studio.cli.chat"),
    ("trust", "studio.cli.trust"),
    ("secrets", "studio.cli.secrets"),
    ("batch", "studio.cli.batch"),
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orchestra", description="Orchestra Studio: build, run and share AI flows.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in SUBCOMMANDS:
        if only is not None and name != only:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # a subcommand that is not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = {name for name, _ in SUBCOMMANDS}
    if not argv or (argv[0] not in names and argv[0] not in ("-h", "--help")):
        # `orchestra` or `orchestra FLOW`: the studio
        from studio.ui.app import run_studio

        return run_studio(argv)
    parser = build_parser(only=argv[0] if argv[0] in names else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
