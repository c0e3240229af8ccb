"""`orchestra export FLOW -o OUT` (one self-contained file) and `--mermaid` (a diagram).

Exit codes: 0 written; 1 the flow cannot be exported (e.g. a subflow file is missing);
2 the flow cannot be read, or OUT cannot be written (missing or read-only folder, a
folder at OUT, a full disk): one line on standard error, never a traceback, and the
file that was at OUT is left as it was (the write is atomic).
"""

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


def _write_stream(path: Path, data: bytes) -> None:
    """Write to a device or a FIFO as it is (never renamed over); a FIFO with no reader
    fails at once (O_NONBLOCK) instead of waiting for one."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        os.set_blocking(fd, True)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


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
        out = Path(args.output)
        try:
            if out.is_char_device() or out.is_fifo():
                _write_stream(out, text.encode("utf-8"))  # /dev/stdout, /dev/null, a pipe
            else:
                atomic_write(out, text.encode("utf-8"))
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
            why = "a pipe with nobody reading it" if getattr(exc, "errno", None) == 6 else (getattr(exc, "strerror", None) or exc)
            print(f"orchestra export: cannot write {args.output}: {why}", file=sys.stderr)
            return 2
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            return 0
        except OSError as exc:
            print(f"orchestra export: cannot write to standard output: {exc.strerror or exc}", file=sys.stderr)
            return 2
    if not args.mermaid:
        from studio.core.sharing.export import files_note

        note = files_note(model)
        if note:
            print(f"orchestra export: note: {note}", file=sys.stderr)
    return 0
