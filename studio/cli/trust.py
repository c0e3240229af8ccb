"""`orchestra trust PATH [--yes]`, `--list`, `--revoke PATH`: review a flow's code, then let it run.

Why a command: a flow with ``tools/*.py`` or ``run_python`` steps runs only once the
person has trusted exactly that code (``studio.tools.trust``); headless, this is how.
``trust PATH`` prints everything the flow (or every flow in the folder, and its
``tools/*.py``) would run and asks; ``--yes`` trusts without asking, for scripts that
have reviewed the code some other way. Trust is recorded as content digests: when the
code changes, ``orchestra run`` refuses again and names this command.

Exit codes: 0 trusted (or nothing to trust), 1 declined or not found, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("trust", help="review and trust the code a flow would run (tools/*.py, run_python)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", nargs="?", help="a *.flow.json file or a flow folder")
    p.add_argument("--yes", "-y", action="store_true", help="trust without asking (after reviewing the code another way)")
    p.add_argument("--list", action="store_true", help="list trusted folders and what was trusted in each")
    p.add_argument("--revoke", metavar="FOLDER", help="forget every trust given in FOLDER")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from studio.tools.trust import trusted_entries, untrust

    if args.list:
        entries = trusted_entries()
        if not entries:
            print("no folder is trusted (the examples shipped with Orchestra run as shipped)")
        for e in entries:
            print(f"{e['path']}  (trusted {e.get('trusted_at', '?')})")
            for info in sorted(e["code"].values(), key=lambda v: (str(v.get("node")), str(v.get("label")))):
                print(f"  {info.get('label', '?')} · node {info.get('node', '?')}")
        return 0
    if args.revoke:
        if untrust(args.revoke):
            print(f"no longer trusted: {Path(args.revoke).expanduser().resolve()}")
            return 0
        print(f"orchestra trust: {args.revoke} was not trusted", file=sys.stderr)
        return 1
    if not args.path:
        print("orchestra trust: give a flow file or folder (or --list, --revoke FOLDER)", file=sys.stderr)
        return 2
    return _trust(Path(args.path), args.yes)


def pending(path: Path) -> list:
    """The code at ``path`` (a flow file or a folder) that is not trusted yet."""
    from studio.core.document.flowfile import load_flow
    from studio.tools.flow_code import flow_code, folder_code
    from studio.tools.trust import is_code_trusted

    items = folder_code(path) if path.is_dir() else flow_code(load_flow(path))
    return [c for c in items if not is_code_trusted(c.folder, c.digest)]


def _trust(path: Path, yes: bool) -> int:
    from studio.core.errors import FlowFileError, OrchestraError
    from studio.tools.flow_code import review_text
    from studio.tools.trust import trust_code

    if not path.exists():
        print(f"orchestra trust: {path} does not exist", file=sys.stderr)
        return 1
    try:
        items = pending(path)
    except FlowFileError as exc:
        print(f"orchestra trust: {exc}", file=sys.stderr)
        return 2
    if not items:
        print(f"nothing to trust: every piece of code {path} would run is trusted already (or it runs none)")
        return 0
    print(f"{path} would run this code ({len(items)} piece{'s' * (len(items) != 1)}). It runs with your permissions "
          "(tools/*.py) or in the sandbox (run_python); read it before you trust it.\n")
    print(review_text(items))
    if not yes:
        if not sys.stdin or not sys.stdin.isatty():
            print("orchestra trust: no terminal to ask on; after reading the code above, pass --yes", file=sys.stderr)
            return 1
        answer = input("Trust this code and let it run? [y/N] ").strip().lower()
        if not answer.startswith("y"):
            print("not trusted; nothing changed")
            return 1
    try:
        folders = trust_code(items)
    except (OrchestraError, OSError) as exc:
        print(f"orchestra trust: {exc}", file=sys.stderr)
        return 1
    print("trusted in " + ", ".join(str(f) for f in folders) + " (until the code changes)")
    return 0
