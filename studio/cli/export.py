"""`orchestra export FLOW -o OUT` (one self-contained file) and `--mermaid` (a diagram)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a flow for sharing, or as a Mermaid diagram")
    p.add_argument("flow", help="the *.flow.json file")
    p.add_argument("-o", "--output", metavar="OUT", help="where to write the export (default: standard output)")
    p.add_argument("--mermaid", action="store_true", help="print a Mermaid flowchart instead")
    p.add_argument("--description", help="replace the flow's description in the export")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from studio.core.errors import FlowFileError
    from studio.core.sharing.export import ExportError, export_for_sharing
    from studio.core.document.flowfile import atomic_write, load_flow

    try:
        model = load_flow(args.flow)
    except FlowFileError as exc:
        print(f"orchestra export: {exc}", file=sys.stderr)
        return 2
    if args.mermaid:
        from studio.core.sharing.mermaid import to_mermaid

        text = to_mermaid(model)
    else:
        try:
            text = export_for_sharing(model, args.description)
        except (ExportError, FlowFileError) as exc:
            print(f"orchestra export: {exc}", file=sys.stderr)
            return 1
    if args.output:
        atomic_write(Path(args.output), text.encode("utf-8"))
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if not args.mermaid:
        from studio.core.sharing.export import files_note

        note = files_note(model)
        if note:
            print(f"orchestra export: note: {note}", file=sys.stderr)
    return 0
