"""The per-node summary every run reader prints (``RunState.node_summary``): `orchestra
run --json`, a served run's document and a batch record's node times all read it, so it
must agree with the engine's own per-instance results, add up to the run's totals, read
the same from a replayed trace, and not depend on which instance happened to end last."""

from __future__ import annotations

import pytest

from studio.core.running.executor import RunOptions, start_run
from studio.core.running.runstate import RunState, load_run
from tests.support.flows import Flow

SETTLED = ("done", "failed", "skipped", "cached")


def _fanout(items_fail_when: int, paid: bool = False) -> Flow:
    f = Flow()
    f.io("list")
    f.node("fo", "fanout", concurrency=0, on_item_error="drop")
    f.node("work", "t_flaky", fail_times=99, retryable=False, fail_when=items_fail_when, retries=0)
    f.node("col", "collect")
    f.chain("inp.value", "fo.items")
    f.wire("fo.item", "work.x")
    if paid:
        f.node("pay", "t_paid", usd=0.003)
        f.wire("work.x", "pay.x")
        f.wire("pay.x", "col.item")
    else:
        f.wire("work.x", "col.item")
    f.wire("col.results", "out.value")
    return f


async def _run(f: Flow, inputs: dict, trace=None):
    run = start_run(f.model, RunOptions(inputs=inputs, trace=trace))
    state = RunState(live=False)
    run.add_listener(state.on_event)
    return await run.wait(), state


async def test_summary_agrees_with_the_engines_results_and_adds_up_to_the_totals(tmp_path):
    result, state = await _run(_fanout(2, paid=True), {"x": [1, 2, 3, 4]}, trace=tmp_path / "t.jsonl")
    assert result.ok, result.error
    summary = state.node_summary()
    for node in {n for n, _ in result.results}:
        mine = [r for (n, _), r in result.results.items() if n == node and r.status in SETTLED]
        s = summary[node]
        assert s["runs"] == len(mine)
        for status in SETTLED:
            assert s[status] == sum(r.status == status for r in mine), (node, status)
        assert s["tokens_in"] == sum(r.tokens_in for r in mine)
    assert summary["work"]["done"] == 3 and summary["work"]["failed"] == 1
    assert summary["pay"]["runs"] == 3  # the failed item's payer was skipped, not run
    t = result.totals
    assert sum(s["tokens_in"] for s in summary.values()) == t["tokens_in"]
    assert sum(s["tokens_out"] for s in summary.values()) == t["tokens_out"]
    assert round(sum(s["cost_usd"] or 0.0 for s in summary.values()), 8) == t["cost_usd"] > 0
    # a trace read back folds to the same summary (History shows what the live run did)
    # (latency sums are rounded to the µs: the two folds may add the same instances in
    # another order, and a sum on a rounding boundary then differs in its last digit)
    replayed = load_run(tmp_path / "t.jsonl").node_summary()
    assert replayed.keys() == summary.keys()
    for node, s in summary.items():
        r = replayed[node]
        assert {k: v for k, v in r.items() if k != "latency_s"} == {k: v for k, v in s.items() if k != "latency_s"}
        assert r["latency_s"] == pytest.approx(s["latency_s"], abs=2e-6)


async def test_a_node_whose_instances_partly_failed_reads_the_same_whichever_ended_last():
    """A fan-out body with one handled failure is "done" (some items succeeded), whether the
    failing item ends first or last: the status is a rule over the counts, not the last event."""
    first, s_first = await _run(_fanout(2), {"x": [2, 1, 3]})
    last, s_last = await _run(_fanout(2), {"x": [1, 3, 2]})
    assert first.ok and last.ok
    for state in (s_first, s_last):
        work = state.node_summary()["work"]
        assert (work["status"], work["done"], work["failed"]) == ("done", 2, 1)
        assert state.nodes["work"].status == "done"  # the live badge follows the same rule


async def test_a_node_that_only_failed_is_failed_and_its_time_counts():
    f = Flow()
    f.io("any")
    f.node("step", "t_flaky", fail_times=5, retryable=False, retries=0)
    f.node("slow", "t_sleep", ms=30)
    f.chain("inp.value", "slow.x")
    f.wire("slow.x", "step.x")
    f.wire("step.x", "out.value")
    result, state = await _run(f, {"x": 1})
    assert result.status == "failed" and result.error_node == "step"
    summary = state.node_summary()
    assert summary["step"]["status"] == "failed" and summary["step"]["runs"] == 1
    assert summary["slow"]["status"] == "done" and summary["slow"]["latency_s"] >= 0.03
    assert "out" not in summary  # never reached: no settled instance, no entry
