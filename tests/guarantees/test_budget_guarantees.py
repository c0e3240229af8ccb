"""docs/execution.md, Per node / Budget: the executor stops a paid node that never checks.

``g_plugin_paid`` is a third-party paid node (``paid = True``) that reports its cost and
never calls ``ctx.ensure_budget()``: only the executor's check before a paid node starts
can keep the run within its budget.
"""

from __future__ import annotations

from tests.guarantees.kinds import STATE, flow, of_type, run


def _three_paid(**extra_params):
    return flow(
        {"inp": ("input", {"name": "x", "type": "any"}),
         "p1": ("g_plugin_paid", {"usd": 0.01, **extra_params}),
         "p2": ("g_plugin_paid", {"usd": 0.01, **extra_params}),
         "p3": ("g_plugin_paid", {"usd": 0.01, **extra_params}),
         "out": ("output", {"name": "result"})},
        ["inp.value -> p1.x", "p1.y -> p2.x", "p2.y -> p3.x", "p3.y -> out.value"])


async def test_no_paid_node_starts_once_the_budget_is_spent():
    result, events = await run(_three_paid(), inputs={"x": 1}, budget_usd=0.015)
    assert result.status == "budget_exceeded"
    assert STATE["calls"] == {"p1": 1, "p2": 1}, "a paid node started after the budget was spent"
    assert not of_type(events, "node_started", "p3")
    [failed] = of_type(events, "node_failed", "p3")
    assert failed.data["error_type"] == "BudgetExceeded" and failed.data["will_retry"] is False
    assert result.error_node == "p3" and "budget" in result.error.lower()
    assert events[-1].type == "run_failed" and events[-1].data["status"] == "budget_exceeded"
    assert abs(result.totals["cost_usd"] - 0.02) < 1e-9


async def test_a_budget_that_is_never_reached_lets_every_paid_node_run():
    result, _ = await run(_three_paid(), inputs={"x": 1}, budget_usd=0.05)
    assert result.ok, result.error
    assert STATE["calls"] == {"p1": 1, "p2": 1, "p3": 1}


async def test_spending_exactly_the_budget_counts_as_spent():
    result, _ = await run(_three_paid(), inputs={"x": 1}, budget_usd=0.02)
    assert result.status == "budget_exceeded"
    assert STATE["calls"] == {"p1": 1, "p2": 1}


async def test_no_budget_means_no_limit():
    result, _ = await run(_three_paid(usd=100.0), inputs={"x": 1})
    assert result.ok and STATE["calls"] == {"p1": 1, "p2": 1, "p3": 1}


async def test_a_free_node_still_runs_after_the_budget_is_spent_but_the_run_ends_budget_exceeded():
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}), "p1": ("g_plugin_paid", {"usd": 1.0}),
         "p2": ("g_plugin_paid", {"usd": 1.0}), "free": ("template", {"template": "{{ v }}!"}),
         "out": ("output", {"name": "result"})},
        ["inp.value -> p1.x", "p1.y -> free.v", "free.text -> p2.x", "p2.y -> out.value"])
    result, events = await run(model, inputs={"x": "a"}, budget_usd=0.5)
    assert result.status == "budget_exceeded"
    assert of_type(events, "node_finished", "free")
    assert STATE["calls"] == {"p1": 1}


async def test_budget_error_is_never_routed_to_an_error_port():
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}), "p1": ("g_plugin_paid", {"usd": 1.0}),
         "p2": ("g_plugin_paid", {"usd": 1.0}), "handler": ("template", {"template": "handled {{ e }}"}),
         "out": ("output", {"name": "result"}), "err": ("output", {"name": "error"})},
        ["inp.value -> p1.x", "p1.y -> p2.x", "p2.y -> out.value", "p2.error -> handler.e", "handler.text -> err.value"])
    result, events = await run(model, inputs={"x": 1}, budget_usd=0.5)
    assert result.status == "budget_exceeded"
    assert "error" not in result.outputs and not of_type(events, "node_finished", "handler")


async def test_budget_error_is_never_dropped_or_kept_by_a_fanout():
    for policy in ("drop", "keep"):
        STATE["calls"].clear()
        model = flow(
            {"inp": ("input", {"name": "items", "type": "list"}), "fo": ("fanout", {"on_item_error": policy, "concurrency": 1}),
             "pay": ("g_plugin_paid", {"usd": 1.0}), "co": ("collect", {}), "out": ("output", {"name": "r"})},
            ["inp.value -> fo.items", "fo.item -> pay.x", "pay.y -> co.item", "co.results -> out.value"])
        result, _ = await run(model, inputs={"items": [1, 2, 3]}, budget_usd=1.5)
        assert result.status == "budget_exceeded", policy
        assert STATE["calls"]["pay"] == 2, policy
