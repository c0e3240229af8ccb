"""Flow tests: test cases kept in the flow file, run headless or from the studio.

A flow's ``tests`` section is a list of cases::

    {"name": "routes billing", "inputs": {"message": "refund please"},
     "expect": [{"output": "reply", "contains": "refund"},
                {"output": "route", "equals": "billing"},
                {"output": "report", "json_path": "$.items[0].title", "equals": "Intro"},
                {"output": "reply", "regex": "^Dear "}]}

Each case runs the flow (mock mode unless told otherwise) and checks every expectation;
a case passes when the run succeeds and every expectation holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from studio.core.running.executor import RunOptions, start_run
from studio.core.running.plan import Plan

_MISSING = object()


@dataclass
class CheckResult:
    expectation: dict[str, Any]
    ok: bool
    message: str


@dataclass
class CaseResult:
    name: str
    ok: bool
    status: str
    checks: list[CheckResult] = field(default_factory=list)
    error: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    cost_usd: float = 0.0


def cases_of(meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    tests = meta.get("tests")
    return [c for c in tests if isinstance(c, dict)] if isinstance(tests, list) else []


def json_path(value: Any, path: str) -> Any:
    """A small JSONPath subset: $.a.b[0].c (what flow tests need, nothing that runs code)."""
    if not path.startswith("$"):
        raise ValueError(f"a JSON path starts with $, got {path!r}")
    for name, index in re.findall(r"\.([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]", path[1:]):
        if name:
            if not isinstance(value, dict) or name not in value:
                return _MISSING
            value = value[name]
        else:
            i = int(index)
            if not isinstance(value, list) or i >= len(value):
                return _MISSING
            value = value[i]
    return value


def check(expect: Mapping[str, Any], outputs: Mapping[str, Any]) -> CheckResult:
    name = expect.get("output")
    if name not in outputs:
        return CheckResult(dict(expect), False, f"output {name!r} was not produced (got: {', '.join(outputs) or 'none'})")
    value = outputs[name]
    where = name
    if "json_path" in expect:
        value = json_path(value, str(expect["json_path"]))
        where = f"{name} {expect['json_path']}"
        if value is _MISSING:
            return CheckResult(dict(expect), False, f"{where}: nothing at that path")
    if "equals" in expect:
        ok = value == expect["equals"]
        return CheckResult(dict(expect), ok, f"{where} {'equals' if ok else 'is ' + repr(value)[:200] + ', expected'} {expect['equals']!r}")
    text = value if isinstance(value, str) else repr(value)
    if "contains" in expect:
        ok = str(expect["contains"]) in text
        return CheckResult(dict(expect), ok, f"{where} {'contains' if ok else 'does not contain'} {expect['contains']!r}")
    if "regex" in expect:
        try:
            ok = re.search(str(expect["regex"]), text) is not None
        except re.error as exc:
            return CheckResult(dict(expect), False, f"bad regex {expect['regex']!r}: {exc}")
        return CheckResult(dict(expect), ok, f"{where} {'matches' if ok else 'does not match'} /{expect['regex']}/")
    return CheckResult(dict(expect), False, "an expectation needs equals, contains or regex")


async def run_case(plan: Plan, case: Mapping[str, Any], mock: bool = True, settings: Mapping[str, Any] | None = None,
                   trace: Any = None) -> CaseResult:
    from studio.core.catalogue.context import ApprovalDecision

    approve = case.get("approve", "all")

    async def handler(req):
        return ApprovalDecision("approve" if approve == "all" else "reject", by="test")

    options = RunOptions(inputs=dict(case.get("inputs") or {}), mock=bool(case.get("mock", mock)),
                         settings=dict(settings or {}), trace=trace, approval_handler=handler)
    result = await start_run(plan, options).wait()
    name = str(case.get("name") or "case")
    checks = [check(e, result.outputs) for e in case.get("expect") or [] if isinstance(e, dict)]
    expect_status = case.get("status", "succeeded")
    ok = result.status == expect_status and all(c.ok for c in checks)
    return CaseResult(name, ok, result.status, checks, result.error, result.outputs, result.totals.get("cost_usd", 0.0))


async def run_cases(plan: Plan, cases: list[Mapping[str, Any]], mock: bool = True,
                    settings: Mapping[str, Any] | None = None) -> list[CaseResult]:
    return [await run_case(plan, c, mock, settings) for c in cases]
