"""`orchestra test FLOW... [--mock]`: run the test cases kept in each flow file.

Exit 0 when every case passes, 1 when any fails, 2 when a flow cannot be read or is
invalid. Without --mock, cases run against the real providers (they cost money).
What a case produced is printed with any lone surrogate (text that is not valid
Unicode, e.g. from a tool) replaced by U+FFFD, so printing never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys

_SURROGATE = re.compile("[\ud800-\udfff]")


def _say(text: str, **kw) -> None:
    print(_SURROGATE.sub("\ufffd", text), **kw)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("test", help="run the test cases kept in flow files", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("flows", nargs="+", metavar="FLOW")
    p.add_argument("--mock", action="store_true", help="answer LLM calls with the flow's mock responses")
    p.add_argument("--api-base", metavar="URL", help="send every LLM call to this OpenAI-compatible endpoint")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from studio.core.errors import FlowFileError
    from studio.core.document.flowfile import load_flow
    from studio.core.sharing.flowtests import cases_of, run_cases
    from studio.core.running.plan import FlowInvalid, compile_plan

    worst = 0
    total = passed = 0
    settings = {"api_base": args.api_base} if args.api_base else {}
    for path in args.flows:
        try:
            model = load_flow(path)
            plan = compile_plan(model)
        except FlowFileError as exc:
            _say(f"{path}: cannot read: {exc}", file=sys.stderr)
            worst = max(worst, 2)
            continue
        except FlowInvalid as exc:
            _say(f"{path}: invalid flow: {exc}", file=sys.stderr)
            worst = max(worst, 2)
            continue
        cases = cases_of(model.meta)
        if not cases:
            _say(f"{path}: no test cases")
            continue
        _say(f"{path}:")
        results = asyncio.run(run_cases(plan, cases, mock=args.mock, settings=settings))
        for r in results:
            total += 1
            passed += r.ok
            _say(f"  {'PASS' if r.ok else 'FAIL'}  {r.name}" + (f"  ({r.status}: {r.error})" if r.error else ""))
            for c in r.checks:
                _say(f"        {'✓' if c.ok else '✗'} {c.message}")
        if not all(r.ok for r in results):
            worst = max(worst, 1)
    _say(f"{passed} passed, {total - passed} failed")
    return worst
