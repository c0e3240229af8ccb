"""The five orchestration patterns, SKIP and Merge, run by the real executor."""

from __future__ import annotations

from studio.core.catalogue.nodetype import NodeType, Port
from studio.core.catalogue.types import SKIP, PortType
from tests.support.flows import ACTIVE, CALLS, Flow


async def test_sequential_chain_passes_values_in_order():
    f = Flow()
    f.io("text", "transcript")
    f.node("summary", "template", template="Summary of {{ t }}")
    f.node("actions", "template", template="{{ s }} -> actions")
    f.chain("inp.value", "summary.t")
    f.chain("summary.text", "actions.s")
    f.wire("actions.text", "out.value")
    result, events = await f.run_events(inputs={"transcript": "call"})
    assert result.ok, result.error
    assert result.outputs == {"result": "Summary of call -> actions"}
    started = [e.node for e in events if e.type == "node_started"]
    assert started == ["inp", "summary", "actions", "out"]
    assert events[0].type == "run_started" and events[-1].type == "run_finished"


async def test_three_200ms_nodes_side_by_side_run_in_parallel():
    f = Flow()
    f.io("any")
    for name in ("a", "b", "c"):
        f.node(name, "t_sleep", ms=200)
        f.wire("inp.value", f"{name}.x")
    f.node("join", "template", template="{{ a }}{{ b }}{{ c }}")
    for name in ("a", "b", "c"):
        f.wire(f"{name}.x", f"join.{name}")
    f.wire("join.text", "out.value")
    result, events = await f.run_events(inputs={"x": "v"})
    assert result.ok, result.error
    assert result.outputs["result"] == "vvv"
    assert ACTIVE["peak"] == 3
    started = [e.t for e in events if e.type == "node_started" and e.node in "abc"]
    finished = [e.t for e in events if e.type == "node_finished" and e.node in "abc"]
    assert len(started) == len(finished) == 3
    assert max(started) < min(finished), "one of them waited for another: not parallel"


async def test_join_waits_for_every_input():
    f = Flow()
    f.io("any")
    f.node("fast", "t_sleep", ms=1)
    f.node("slow", "t_sleep", ms=80)
    f.node("join", "template", template="{{ a }}+{{ b }}")
    f.wire("inp.value", "fast.x")
    f.wire("inp.value", "slow.x")
    f.wire("fast.x", "join.a")
    f.wire("slow.x", "join.b")
    f.wire("join.text", "out.value")
    result, events = await f.run_events(inputs={"x": 1})
    assert result.outputs["result"] == "1+1"
    t = {(e.type, e.node): e.t for e in events}
    assert t[("node_started", "join")] >= t[("node_finished", "slow")]


async def test_concurrency_limit_bounds_nodes_running_at_once():
    f = Flow()
    f.io("any")
    for i in range(6):
        f.node(f"s{i}", "t_sleep", ms=30)
        f.wire("inp.value", f"s{i}.x")
    f.node("m", "merge", inputs=6)
    for i in range(6):
        f.wire(f"s{i}.x", f"m.input_{i + 1}")
    f.wire("m.value", "out.value")
    result = await f.run(inputs={"x": 1}, concurrency=2)
    assert result.ok
    assert ACTIVE["peak"] == 2


def _router(mode: str = "expression", cases=None) -> Flow:
    f = Flow()
    f.io("any")
    f.node("route", "branch", mode=mode, cases=cases or [
        {"name": "big", "when": "value > 10"},
        {"name": "small", "when": "value <= 10"},
    ])
    f.node("on_big", "t_math", op="tag", by="big")
    f.node("on_small", "t_math", op="tag", by="small")
    f.node("after_small", "t_math", op="tag", by="after")
    f.node("m", "merge", inputs=2)
    f.wire("inp.value", "route.value")
    f.wire("route.big", "on_big.x")
    f.wire("route.small", "on_small.x")
    f.wire("on_small.x", "after_small.x")
    f.wire("on_big.x", "m.input_1")
    f.wire("after_small.x", "m.input_2")
    f.wire("m.value", "out.value")
    return f


async def test_branch_routes_to_one_case_and_skip_propagates_to_merge():
    f = _router()
    result, events = await f.run_events(inputs={"x": 42})
    assert result.ok, result.error
    assert result.outputs == {"result": "big:42"}
    skipped = {e.node for e in events if e.type == "node_skipped"}
    assert skipped == {"on_small", "after_small"}  # SKIP propagated two steps
    assert "on_big" not in skipped
    assert result.results[("route", ())].status == "done"
    assert CALLS.get("on_small") is None


async def test_branch_other_case_and_default():
    f = _router()
    result = await f.run(inputs={"x": 3})
    assert result.outputs == {"result": "after:small:3"}
    g = _router(mode="keyword", cases=[{"name": "big", "when": "refund, invoice"}, {"name": "small", "when": "crash"}])
    result = await g.run(inputs={"x": "the app CRASHED"})
    assert result.outputs == {"result": "after:small:the app CRASHED"}


async def test_merge_of_only_skips_is_skipped_and_output_absent():
    f = Flow()
    f.io("any")
    f.node("route", "branch", cases=[{"name": "yes", "when": "value == 1"}])
    f.node("m", "merge", inputs=1)
    f.wire("inp.value", "route.value")
    f.wire("route.yes", "m.input_1")
    f.wire("m.value", "out.value")
    result, events = await f.run_events(inputs={"x": 2})
    assert result.ok
    assert result.outputs == {}
    assert {e.node for e in events if e.type == "node_skipped"} == {"m", "out"}


async def test_loop_iterates_until_condition_with_feedback():
    f = Flow()
    f.io("number")
    f.node("loop", "loop", max_iterations=10, condition="value >= 5")
    f.node("inc", "t_math", op="inc", by=1)
    f.wire("inp.value", "loop.initial")
    f.wire("loop.current", "inc.x")
    f.wire("inc.x", "loop.feedback")
    f.wire("loop.done", "out.value")
    result, events = await f.run_events(inputs={"x": 1})
    assert result.ok, result.error
    assert result.outputs == {"result": 5}
    runs = [e.scope for e in events if e.type == "node_finished" and e.node == "inc"]
    assert runs == [(("loop", i),) for i in range(1, 5)]
    done = [e for e in events if e.type == "node_finished" and e.node == "loop"][0]
    assert done.data["outputs"]["iterations"] == 4 and done.data["outputs"]["capped"] is False


async def test_loop_hard_stop_at_max_iterations():
    f = Flow()
    f.io("number")
    f.node("loop", "loop", max_iterations=3, condition="value > 1000")
    f.node("inc", "t_math", op="double")
    f.node("capped", "output", name="capped")
    f.wire("inp.value", "loop.initial")
    f.wire("loop.current", "inc.x")
    f.wire("inc.x", "loop.feedback")
    f.wire("loop.done", "out.value")
    f.wire("loop.capped", "capped.value")
    result = await f.run(inputs={"x": 1})
    assert result.outputs == {"result": 8, "capped": True}
    assert CALLS["inc"] == 3


async def test_fanout_runs_items_concurrently_and_collects_in_order():
    f = Flow()
    f.io("list")
    f.node("fo", "fanout", concurrency=0)
    f.node("work", "t_sleep", ms=50)
    f.node("col", "collect")
    f.chain("inp.value", "fo.items")
    f.wire("fo.item", "work.x")
    f.wire("work.x", "col.item")
    f.wire("col.results", "out.value")
    items = [5, 3, 9, 1, 7, 2, 8, 4]
    result, events = await f.run_events(inputs={"x": items})
    assert result.outputs == {"result": items}
    assert ACTIVE["peak"] == len(items)  # every item in flight at once
    started = [e.t for e in events if e.type == "node_started" and e.node == "work"]
    finished = [e.t for e in events if e.type == "node_finished" and e.node == "work"]
    assert max(started) < min(finished)
    scopes = sorted(e.scope for e in events if e.type == "node_finished" and e.node == "work")
    assert scopes == [(("fo", i),) for i in range(len(items))]
    progress = [e for e in events if e.type == "node_progress" and e.node == "fo"]
    assert progress[-1].data == {"kind": "fanout", "done": 8, "failed": 0, "total": 8}


async def test_fanout_concurrency_parameter_bounds_instances():
    f = Flow()
    f.io("list")
    f.node("fo", "fanout", concurrency=3)
    f.node("work", "t_sleep", ms=20)
    f.node("col", "collect")
    f.chain("inp.value", "fo.items")
    f.wire("fo.item", "work.x")
    f.wire("work.x", "col.item")
    f.wire("col.results", "out.value")
    result = await f.run(inputs={"x": list(range(10))})
    assert result.outputs["result"] == list(range(10))
    assert ACTIVE["peak"] == 3


def _fanout_with_failures(policy: str) -> Flow:
    f = Flow()
    f.io("list")
    f.node("fo", "fanout", concurrency=0, on_item_error=policy)
    f.node("work", "t_flaky", fail_times=99, retryable=False, fail_when=2, retries=0)
    f.node("col", "collect")
    f.node("errs", "output", name="errors")
    f.chain("inp.value", "fo.items")
    f.wire("fo.item", "work.x")
    f.wire("work.x", "col.item")
    f.wire("col.results", "out.value")
    f.wire("col.errors", "errs.value")
    return f


async def test_fanout_failure_policy_fail_fails_the_run_naming_the_item():
    result = await _fanout_with_failures("fail").run(inputs={"x": [1, 2, 3]})
    assert result.status == "failed"
    assert result.error_node == "work"
    assert result.error_scope == (("fo", 1),)
    assert "hard failure for 2" in result.error


async def test_fanout_failure_policy_drop_and_keep():
    result = await _fanout_with_failures("drop").run(inputs={"x": [1, 2, 3]})
    assert result.ok
    assert result.outputs["result"] == [1, 3]
    assert [e["index"] for e in result.outputs["errors"]] == [1]
    result = await _fanout_with_failures("keep").run(inputs={"x": [1, 2, 3]})
    assert result.ok
    res = result.outputs["result"]
    assert res[0] == 1 and res[2] == 3
    assert res[1]["index"] == 1 and "hard failure for 2" in res[1]["error"]


async def test_fanout_over_empty_list_and_non_list():
    f = Flow()
    f.io("any")
    f.node("fo", "fanout")
    f.node("work", "t_math", op="inc")
    f.node("col", "collect")
    f.chain("inp.value", "fo.items")
    f.wire("fo.item", "work.x")
    f.wire("work.x", "col.item")
    f.wire("col.results", "out.value")
    result = await f.run(inputs={"x": []})
    assert result.outputs == {"result": []}
    result = await f.run(inputs={"x": "not a list"})
    assert result.status == "failed" and result.error == "fo: a fan-out needs a list, got str"


async def test_input_values_are_parsed_and_missing_inputs_fail_clearly():
    f = Flow()
    f.io("number")
    f.wire("inp.value", "out.value")
    assert (await f.run(inputs={"x": "2.5"})).outputs == {"result": 2.5}
    result = await f.run(inputs={})
    assert result.status == "failed"
    assert result.error_node == "inp" and "no value for input 'x'" in result.error


class _TextProbe(NodeType):
    """Reports what arrived at a text input: its Python type and value."""

    type_id = "t_text_probe"
    title = "Text probe"
    inputs = (Port("s", PortType.TEXT),)
    outputs = (Port("seen", PortType.TEXT),)

    async def run(self, ctx):
        s = ctx.inputs["s"]
        return {"seen": f"{type(s).__name__}:{s}"}


async def test_number_and_list_values_reach_a_text_input_as_text():
    for input_type, value, seen in (("number", 3, "str:3"), ("number", 2.5, "str:2.5"),
                                    ("list", [1, "a"], 'str:[1, "a"]')):
        f = Flow()
        f.model.registry.register(_TextProbe)
        f.io(input_type)
        f.node("probe", "t_text_probe")
        f.wire("inp.value", "probe.s")
        f.wire("probe.seen", "out.value")
        result = await f.run(inputs={"x": value})
        assert result.ok, result.error
        assert result.outputs == {"result": seen}


async def test_skip_never_becomes_an_output_value():
    f = Flow()
    f.io("any")
    f.node("route", "branch", cases=[{"name": "big", "when": "value > 10"}])
    f.node("other", "output", name="other")
    f.wire("inp.value", "route.value")
    f.wire("route.big", "out.value")
    f.wire("route.default", "other.value")
    result, events = await f.run_events(inputs={"x": 3})
    assert result.ok, result.error
    assert result.outputs == {"other": 3}  # no "result" key at all, not a SKIP value
    assert SKIP not in result.outputs.values()
    assert [e.node for e in events if e.type == "node_skipped"] == ["out"]
    finished = [e for e in events if e.type == "run_finished"][0]
    assert finished.data["outputs"] == {"other": 3}
