"""`orchestra validate FLOW... [--json]`: check flow files without running anything.

Exit codes (the highest applicable wins, so a script can tell them apart):

* 0 -- every file was read and none has an error. Warnings (a node that reaches no
  Output, an unused Branch case, ...) are printed but do not fail: they describe flows
  that run, and a CI gate on warnings would make every draft flow "broken".
* 1 -- at least one file has an error (the flow would be refused by the executor).
* 2 -- at least one file cannot be read at all: missing, not UTF-8, not JSON, not a
  flow, or malformed; the message names the JSON path. Never a traceback.

Text output names the file, then each problem as severity, node.port, message and
code, with the hint on the next line; errors come before warnings. It uses rich for
colour on a terminal and stays plain, unwrapped text in a pipe or a CI log. ``--json``
prints one JSON object instead (see ``report``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from studio.core.errors import FlowFileError
from studio.core.document.problems import Problem

EXIT_OK, EXIT_PROBLEMS, EXIT_UNREADABLE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "validate", help="check flow files for errors (nothing is run)",
        description="Check flow files for errors and warnings without running them. Exit 0: no errors "
                    "(warnings allowed); 1: errors; 2: a file cannot be read.")
    p.add_argument("flows", nargs="+", metavar="FLOW", help="flow files (*.flow.json)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=run)


def check_file(path: str) -> dict[str, Any]:
    """Load and validate one file; the per-file entry of the JSON report."""
    from studio.core.document.flowfile import load_flow
    from studio.core.document.validation import validate

    try:
        model = load_flow(path)
    except FlowFileError as exc:
        return {"file": path, "readable": False, "error": {"message": str(exc), "json_path": exc.json_path,
                                                           "problem": exc.problem}}
    problems = sorted(validate(model), key=lambda p: not p.is_error)  # stable: errors first
    return {
        "file": path,
        "readable": True,
        "name": model.name,
        "nodes": len(model.nodes),
        "errors": sum(p.is_error for p in problems),
        "warnings": sum(not p.is_error for p in problems),
        "problems": [p.to_json() for p in problems],
    }


def report(paths: list[str]) -> dict[str, Any]:
    """{"files": [...], "exit_code": n}: what ``--json`` prints."""
    files = []
    for path in paths:
        try:
            files.append(check_file(path))
        except Exception as exc:  # a bug of ours: still a message, never a traceback
            files.append({"file": path, "readable": False,
                          "error": {"message": f"{path}: internal error: {type(exc).__name__}: {exc}",
                                    "json_path": "$", "problem": "internal error"}})
    return {"files": files, "exit_code": exit_code(files)}


def exit_code(files: list[dict[str, Any]]) -> int:
    if any(not f["readable"] for f in files):
        return EXIT_UNREADABLE
    if any(f["errors"] for f in files):
        return EXIT_PROBLEMS
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    result = report(args.flows)
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    else:
        _print_text(result["files"])
    return result["exit_code"]


def _print_text(files: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.markup import escape

    out = Console(soft_wrap=True, highlight=False)
    for f in files:
        name = escape(f["file"])
        if not f["readable"]:
            out.print(f"[bold red]cannot read[/] {escape(f['error']['message'])}")
            continue
        if not f["problems"]:
            out.print(f"[green]ok[/] {name}: no problems ({f['nodes']} nodes)")
            continue
        verdict = "[bold red]FAILED[/]" if f["errors"] else "[yellow]ok with warnings[/]"
        out.print(f"{verdict} {name}: {_count(f['errors'], 'error')}, {_count(f['warnings'], 'warning')}")
        for pj in f["problems"]:
            p = Problem(**pj)
            where = p.node or "flow"
            if p.port:
                where += f".{p.port}"
            colour = "red" if p.is_error else "yellow"
            out.print(f"  [{colour}]{p.severity:<7}[/] [bold]{escape(where)}[/]: {escape(p.message)} [dim]\\[{p.code}][/]")
            if p.hint:
                out.print(f"          [dim]hint:[/] {escape(p.hint)}")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
