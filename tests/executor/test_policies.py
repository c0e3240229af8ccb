"""Per-node policies: retries with backoff and Retry-After, timeouts, the error port,
the budget stop, and approvals."""

from __future__ import annotations

import asyncio
import random

from studio.core.catalogue.context import ApprovalDecision
from studio.core.errors import RetryableError
from studio.core.running.retry import RetryPolicy
from tests.support.flows import CALLS, Flow


def _one(type_id: str, **params) -> Flow:
    f = Flow()
    f.io("any")
    f.node("step", type_id, **params)
    f.wire("inp.value", "step.x")
    f.wire("step.x", "out.value")
    return f


async def test_retryable_failures_are_retried_then_succeed():
    f = _one("t_flaky", fail_times=2, retries=3, retry_backoff_s=0.01)
    result, events = await f.run_events(inputs={"x": "ok"})
    assert result.ok, result.error
    assert result.outputs == {"result": "ok"}
    fails = [e for e in events if e.type == "node_failed"]
    assert [e.data["attempt"] for e in fails] == [1, 2]
    assert all(e.data["will_retry"] for e in fails)
    assert result.results[("step", ())].attempts == 3


async def test_retries_exhausted_fail_the_run_naming_node_and_error():
    f = _one("t_flaky", fail_times=5, retries=2, retry_backoff_s=0.001)
    result = await f.run(inputs={"x": 1})
    assert result.status == "failed"
    assert result.error_node == "step"
    assert "flaky failure 3" in result.error
    assert CALLS["step()"] == 3


async def test_non_retryable_failure_is_not_retried():
    f = _one("t_flaky", fail_times=5, retryable=False, retries=3, retry_backoff_s=0.001)
    result = await f.run(inputs={"x": 1})
    assert result.status == "failed"
    assert CALLS["step()"] == 1


async def test_retry_after_is_honoured():
    f = _one("t_flaky", fail_times=1, retries=1, retry_backoff_s=5.0, retry_after=0.2)
    result, events = await f.run_events(inputs={"x": 1})
    assert result.ok
    fail = next(e for e in events if e.type == "node_failed")
    done = next(e for e in events if e.type == "node_finished" and e.node == "step")
    assert fail.data["retry_in_s"] == 0.2
    assert done.t - fail.t >= 0.19


def test_backoff_is_exponential_with_jitter():
    p = RetryPolicy(retries=5, backoff_s=1.0, max_delay_s=60)
    rng = random.Random(1)
    err = RetryableError("x")
    d = [p.delay(a, err, rng) for a in (1, 2, 3, 4)]
    for attempt, delay in enumerate(d, start=1):
        base = 2 ** (attempt - 1)
        assert 0.5 * base <= delay <= 1.5 * base
    assert len({round(x / 2 ** i, 6) for i, x in enumerate(d)}) > 1  # jitter varies
    assert RetryPolicy(backoff_s=100, max_delay_s=3).delay(9, err, rng) <= 4.5


async def test_timeout_per_attempt_then_retry_then_fail():
    f = _one("t_sleep", ms=500, timeout_s=0.05, retries=1, retry_backoff_s=0.001)
    result, events = await f.run_events(inputs={"x": 1})
    assert result.status == "failed"
    assert "timeout" in result.error
    assert [e.data["attempt"] for e in events if e.type == "node_failed"] == [1, 2]
    assert result.totals["wall_s"] < 0.4


async def test_error_port_turns_failure_into_a_value():
    f = Flow()
    f.io("any")
    f.node("step", "t_flaky", fail_times=9, retryable=False, retries=0)
    f.node("normal", "t_math", op="tag", by="normal")
    f.node("handler", "template", template="handled: {{ e.message }}")
    f.node("m", "merge", inputs=2)
    f.wire("inp.value", "step.x")
    f.wire("step.x", "normal.x")
    f.wire("step.error", "handler.e")
    f.wire("normal.x", "m.input_1")
    f.wire("handler.text", "m.input_2")
    f.wire("m.value", "out.value")
    result, events = await f.run_events(inputs={"x": "boom"})
    assert result.ok, result.error
    assert result.outputs == {"result": "handled: hard failure for 'boom'"}
    failed = next(e for e in events if e.type == "node_failed")
    assert failed.data["handled"] is True
    assert {e.node for e in events if e.type == "node_skipped"} == {"normal"}


async def test_error_port_is_skip_on_success():
    f = Flow()
    f.io("any")
    f.node("step", "t_flaky", fail_times=0)
    f.node("handler", "template", template="handled {{ e }}")
    f.node("errs", "output", name="errors")
    f.wire("inp.value", "step.x")
    f.wire("step.error", "handler.e")
    f.wire("handler.text", "errs.value")
    f.wire("step.x", "out.value")
    result, events = await f.run_events(inputs={"x": 1})
    assert result.outputs == {"result": 1}
    assert "handler" in {e.node for e in events if e.type == "node_skipped"}


async def test_budget_stops_new_paid_calls_and_ends_the_run_clearly():
    f = Flow()
    f.io("any")
    prev = "inp.value"
    for i in range(5):
        f.node(f"p{i}", "t_paid", usd=0.01)
        f.wire(prev, f"p{i}.x")
        prev = f"p{i}.x"
    f.wire(prev, "out.value")
    result = await f.run(inputs={"x": 1}, budget_usd=0.025)
    assert result.status == "budget_exceeded"
    assert sum(CALLS.values()) == 3  # 0.01, 0.02 (< budget), 0.03 -> stop: p3 never starts
    assert result.error_node == "p3"
    assert "budget of $0.0250 spent" in result.error
    assert abs(result.totals["cost_usd"] - 0.03) < 1e-9
    ok = await f.run(inputs={"x": 1}, budget_usd=1.0)
    assert ok.ok and abs(ok.totals["cost_usd"] - 0.05) < 1e-9
    assert ok.totals["tokens_in"] == 50 and ok.totals["tokens_out"] == 25


async def test_budget_is_not_routed_to_error_ports_or_fanout_drop():
    f = Flow()
    f.io("list")
    f.node("fo", "fanout", concurrency=1, on_item_error="drop")
    f.node("p", "t_paid", usd=0.5)
    f.node("col", "collect")
    f.wire("inp.value", "fo.items")
    f.wire("fo.item", "p.x")
    f.wire("p.x", "col.item")
    f.wire("col.results", "out.value")
    result = await f.run(inputs={"x": [1, 2, 3, 4]}, budget_usd=1.0)
    assert result.status == "budget_exceeded"
    assert CALLS["p"] == 2


def _approval_flow(**params) -> Flow:
    f = Flow()
    f.io("any")
    f.node("gate", "approval", message="Send {{ value }}?", **params)
    f.node("rej", "output", name="rejected")
    f.node("dec", "output", name="decision")
    f.wire("inp.value", "gate.value")
    f.wire("gate.approved", "out.value")
    f.wire("gate.rejected", "rej.value")
    f.wire("gate.decision", "dec.value")
    return f


async def test_approval_approve_edit_reject_and_timeout():
    seen = []

    async def approve(req):
        seen.append(req.message)
        return ApprovalDecision("approve")

    async def edit(req):
        return ApprovalDecision("approve", value=req.value.upper())

    async def reject(req):
        return ApprovalDecision("reject", reason="no")

    async def never(req):
        await asyncio.sleep(10)

    r = await _approval_flow().run(inputs={"x": "mail"}, approval_handler=approve)
    assert r.outputs["result"] == "mail" and "rejected" not in r.outputs
    assert seen == ["Send mail?"]
    r = await _approval_flow().run(inputs={"x": "mail"}, approval_handler=edit)
    assert r.outputs["result"] == "MAIL"
    r, events = await _approval_flow().run_events(inputs={"x": "mail"}, approval_handler=reject)
    assert "result" not in r.outputs and r.outputs["rejected"] == "mail"
    assert r.outputs["decision"]["action"] == "reject"
    assert [e.type for e in events if "approval" in e.type] == ["approval_requested", "approval_resolved"]
    r = await _approval_flow(wait_s=0.05, on_timeout="reject").run(inputs={"x": "mail"}, approval_handler=never)
    assert r.outputs["decision"] == {"action": "reject", "by": "timeout", "reason": "no answer within 0.05 s"}
    r = await _approval_flow(wait_s=0.05, on_timeout="approve").run(inputs={"x": "mail"}, approval_handler=never)
    assert r.outputs["result"] == "mail"
    r = await _approval_flow().run(inputs={"x": "mail"})
    assert r.outputs["rejected"] == "mail"  # no handler: a high-stakes step is never approved silently


async def test_approval_events_carry_the_request_and_the_decision():
    async def edit(req):
        return ApprovalDecision("approve", value=req.value.upper(), reason="looks fine", by="flag")

    r, events = await _approval_flow(wait_s=30).run_events(inputs={"x": "mail"}, approval_handler=edit)
    asked, answered = [e for e in events if "approval" in e.type]
    assert (asked.type, asked.node, asked.scope) == ("approval_requested", "gate", ())
    assert asked.data == {"value": "mail", "message": "Send mail?", "timeout_s": 30}
    assert (answered.type, answered.node, answered.scope) == ("approval_resolved", "gate", ())
    assert answered.data == {"action": "approve", "value": "MAIL", "by": "flag", "reason": "looks fine"}


async def test_without_a_handler_the_default_rejects_with_the_value_unchanged():
    r, events = await _approval_flow().run_events(inputs={"x": "mail"})
    assert r.outputs["rejected"] == "mail"
    assert r.outputs["decision"] == {"action": "reject", "by": "default", "reason": "no approval handler for this run"}
    [answered] = [e for e in events if e.type == "approval_resolved"]
    assert answered.data == {"action": "reject", "value": "mail", "by": "default",
                             "reason": "no approval handler for this run"}


def test_a_failure_is_described_in_one_line_naming_its_place():
    from studio.core.errors import NodeFailure
    from studio.core.running.engine.results import NodeRunError, describe

    assert describe(NodeFailure("our own words")) == "our own words"
    assert describe(ValueError("boom")) == "ValueError: boom"
    assert describe(KeyError()) == "KeyError"
    err = NodeRunError("n", (("fo", 1), ("lp", 2)), ValueError("boom"))
    assert str(err) == "fo[1]/lp[2]/n: ValueError: boom"
    assert str(NodeRunError("n", (), NodeFailure("x"))) == "n: x"


async def test_an_approval_that_times_out_says_so_in_its_resolved_event():
    async def never(req):
        await asyncio.sleep(10)

    r, events = await _approval_flow(wait_s=0.05, on_timeout="reject").run_events(inputs={"x": "mail"},
                                                                                  approval_handler=never)
    [answered] = [e for e in events if e.type == "approval_resolved"]
    assert (answered.node, answered.scope) == ("gate", ())
    assert answered.data == {"action": "timeout", "value": "mail", "by": "timeout", "reason": ""}
