"""Flow tests: test cases kept in the flow file, run headless or from the studio.

A flow's ``tests`` section is a list of cases::

    {"name": "routes billing", "inputs": {"message": "refund please"},
     "expect": [{"output": "reply", "contains": "refund"},
                {"output": "route", "equals": "billing"},
                {"output": "report", "json_path": "$.items[0].title", "equals": "Intro"},
                {"output": "reply", "regex": "^Dear "}]}

Each case runs the flow (mock mode unless told otherwise) and checks every expectation;
a case passes when the run succeeds and every expectation holds.

A conversation (for flows with Memory nodes) is a case with a list of turns instead of
``inputs``; each turn is one run, with its own expectations::

    {"name": "remembers the order", "conversation": [
        {"say": "My order 4417 has not arrived.", "expect": [{"output": "reply", "contains": "4417"}]},
        {"say": "Can you check the returns policy?"},
        {"say": "What was my order number again?", "expect": [{"output": "reply", "contains": "4417"}]}]}

``say`` is the chat message: it goes to the case's ``"input"`` (an input name), or to the
flow's only text input. A turn may also give ``inputs`` (the case's ``inputs`` apply to
every turn). The turns run in a fresh session of their own, deleted afterwards, so a test
neither sees nor leaves any history. The case passes when every turn's run ends with the
expected status and every turn's expectations hold; checks are reported as "turn N: ...".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from studio.core.running.executor import RunOptions, start_run
from studio.core.running.plan import Plan
from studio.core.running.runstate import fmt_value

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


def _literal(value: Any, limit: int | None = None) -> str:
    """A value in a check message, in JSON spelling: null, true, "text", {"a": 1}."""
    return fmt_value(value, inline=True, quoted=True, limit=limit)


def check(expect: Mapping[str, Any], outputs: Mapping[str, Any]) -> CheckResult:
    name = expect.get("output")
    if name not in outputs:
        return CheckResult(dict(expect), False, f"output {_literal(name)} was not produced (got: {', '.join(outputs) or 'none'})")
    value = outputs[name]
    where = name
    if "json_path" in expect:
        value = json_path(value, str(expect["json_path"]))
        where = f"{name} {expect['json_path']}"
        if value is _MISSING:
            return CheckResult(dict(expect), False, f"{where}: nothing at that path")
    if "equals" in expect:
        ok = value == expect["equals"]
        got = "" if ok else f"is {_literal(value, 200)}, expected"
        return CheckResult(dict(expect), ok, f"{where} {got or 'equals'} {_literal(expect['equals'])}")
    text = fmt_value(value, inline=True)  # what contains and regex search: text as is, else JSON
    if "contains" in expect:
        ok = fmt_value(expect["contains"], inline=True) in text
        return CheckResult(dict(expect), ok, f"{where} {'contains' if ok else 'does not contain'} {_literal(expect['contains'])}")
    if "regex" in expect:
        try:
            ok = re.search(str(expect["regex"]), text) is not None
        except re.error as exc:
            return CheckResult(dict(expect), False, f"bad regex {_literal(expect['regex'])}: {exc}")
        return CheckResult(dict(expect), ok, f"{where} {'matches' if ok else 'does not match'} /{expect['regex']}/")
    return CheckResult(dict(expect), False, "an expectation needs equals, contains or regex")


async def run_case(plan: Plan, case: Mapping[str, Any], mock: bool = True, settings: Mapping[str, Any] | None = None,
                   trace: Any = None) -> CaseResult:
    from studio.core.catalogue.context import ApprovalDecision

    approve = case.get("approve", "all")

    async def handler(req):
        return ApprovalDecision("approve" if approve == "all" else "reject", by="test")

    if isinstance(case.get("conversation"), list):
        return await _run_conversation(plan, case, handler, mock, settings, trace)
    options = RunOptions(inputs=dict(case.get("inputs") or {}), mock=bool(case.get("mock", mock)),
                         settings=dict(settings or {}), trace=trace, approval_handler=handler)
    result = await start_run(plan, options).wait()
    name = str(case.get("name") or "case")
    checks = [check(e, result.outputs) for e in case.get("expect") or [] if isinstance(e, dict)]
    expect_status = case.get("status", "succeeded")
    ok = result.status == expect_status and all(c.ok for c in checks)
    return CaseResult(name, ok, result.status, checks, result.error, result.outputs, result.totals.get("cost_usd", 0.0))


async def _run_conversation(plan: Plan, case: Mapping[str, Any], handler, mock: bool,
                            settings: Mapping[str, Any] | None, trace: Any) -> CaseResult:
    import uuid

    from studio.core.document.interface import FLOW_SETTING, SESSION_SETTING, flow_key

    name = str(case.get("name") or "case")
    session = f"flow-test-{uuid.uuid4().hex[:12]}"
    key = flow_key(plan.name)
    run_settings = {**dict(settings or {}), SESSION_SETTING: session, FLOW_SETTING: key}
    expect_status = case.get("status", "succeeded")
    checks: list[CheckResult] = []
    status, error, outputs, cost = "succeeded", None, {}, 0.0
    try:
        for number, turn in enumerate(case["conversation"], start=1):
            if not isinstance(turn, Mapping):
                checks.append(CheckResult({}, False, f"turn {number}: a turn is an object with say/inputs/expect"))
                continue
            inputs = {**dict(case.get("inputs") or {}), **dict(turn.get("inputs") or {})}
            if "say" in turn:
                target = case.get("input") or _chat_input(plan)
                if target is None:
                    checks.append(CheckResult(dict(turn), False, f"turn {number}: the flow has several text inputs; "
                                              'name the one "say" goes to with the case\'s "input"'))
                    continue
                inputs[str(target)] = turn["say"]
            options = RunOptions(inputs=inputs, mock=bool(case.get("mock", mock)), settings=run_settings,
                                 trace=trace, approval_handler=handler)
            result = await start_run(plan, options).wait()
            status, error, outputs = result.status, result.error, result.outputs
            cost += result.totals.get("cost_usd", 0.0) or 0.0
            if status != turn.get("status", expect_status):
                checks.append(CheckResult(dict(turn), False, f"turn {number}: the run {status}"
                                          + (f": {error}" if error else "")))
                break
            for e in turn.get("expect") or []:
                if isinstance(e, dict):
                    c = check(e, result.outputs)
                    checks.append(CheckResult(c.expectation, c.ok, f"turn {number}: {c.message}"))
    finally:
        _forget_session(key, session)
    ok = bool(case["conversation"]) and all(c.ok for c in checks)
    return CaseResult(name, ok, status, checks, error, outputs, cost)


def _chat_input(plan: Plan) -> str | None:
    """The plan's only text input (the chat message), or None when there is not exactly one."""
    texts = [name for name, nid in plan.inputs.items() if plan.nodes[nid].params["type"] == "text"]
    return texts[0] if len(texts) == 1 else None


def _forget_session(flow_key: str, session: str) -> None:
    from studio.core.userdata.conversations import ConversationStoreError, store_path, open_store

    if not store_path(flow_key).exists():
        return
    try:
        open_store(flow_key).delete_sessions([session])
    except ConversationStoreError:
        pass  # the test's own run reported the database problem already


async def run_cases(plan: Plan, cases: list[Mapping[str, Any]], mock: bool = True,
                    settings: Mapping[str, Any] | None = None) -> list[CaseResult]:
    return [await run_case(plan, c, mock, settings) for c in cases]
