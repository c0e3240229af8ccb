"""Every nesting pair the issue names, with scope paths checked on the events."""

from __future__ import annotations

from tests.support.flows import CALLS, Flow


def _finished(events, node):
    return sorted((e.scope, e.data["outputs"]) for e in events if e.type == "node_finished" and e.node == node)


async def test_fanout_in_loop():
    # loop: each iteration fans out over [x, x+1, x+2], doubles each, sums via template
    f = Flow()
    f.io("number")
    f.node("loop", "loop", max_iterations=2)
    f.node("spread", "t_math", op="list3")
    f.node("fo", "fanout", concurrency=0)
    f.node("dbl", "t_math", op="double")
    f.node("col", "collect")
    f.node("num", "t_math", op="sum")
    f.wire("inp.value", "loop.initial")
    f.wire("loop.current", "spread.x")
    f.wire("spread.x", "fo.items")
    f.wire("fo.item", "dbl.x")
    f.wire("dbl.x", "col.item")
    f.wire("col.results", "num.x")
    f.wire("num.x", "loop.feedback")
    f.wire("loop.done", "out.value")
    result, events = await f.run_events(inputs={"x": 1})
    assert result.ok, result.error
    # iteration 1: [1,2,3] -> doubled [2,4,6] -> 12; iteration 2: [12,13,14] -> [24,26,28] -> 78
    assert result.outputs == {"result": 78}
    scopes = [s for s, _ in _finished(events, "dbl")]
    assert scopes == [(("loop", 1), ("fo", i)) for i in range(3)] + [(("loop", 2), ("fo", i)) for i in range(3)]


async def test_loop_in_fanout():
    f = Flow()
    f.io("list")
    f.node("fo", "fanout", concurrency=0)
    f.node("loop", "loop", max_iterations=10, condition="value >= 10")
    f.node("dbl", "t_math", op="double")
    f.node("col", "collect")
    f.wire("inp.value", "fo.items")
    f.wire("fo.item", "loop.initial")
    f.wire("loop.current", "dbl.x")
    f.wire("dbl.x", "loop.feedback")
    f.wire("loop.done", "col.item")
    f.wire("col.results", "out.value")
    result, events = await f.run_events(inputs={"x": [1, 3, 5]})
    assert result.ok, result.error
    assert result.outputs["result"] == [16, 12, 10]
    loops = [e for e in events if e.type == "node_finished" and e.node == "loop"]
    assert sorted(e.scope for e in loops) == [(("fo", 0),), (("fo", 1),), (("fo", 2),)]
    assert {e.scope: e.data["outputs"]["iterations"] for e in loops} == {(("fo", 0),): 4, (("fo", 1),): 2, (("fo", 2),): 1}
    assert (("fo", 0), ("loop", 4)) in {e.scope for e in events if e.node == "dbl"}


async def test_branch_in_fanout_filters_items():
    f = Flow()
    f.io("list")
    f.node("fo", "fanout", concurrency=0)
    f.node("keep", "branch", cases=[{"name": "even", "when": "value % 2 == 0"}])
    f.node("tag", "t_math", op="tag", by="even")
    f.node("col", "collect")
    f.wire("inp.value", "fo.items")
    f.wire("fo.item", "keep.value")
    f.wire("keep.even", "tag.x")
    f.wire("tag.x", "col.item")
    f.wire("col.results", "out.value")
    result, events = await f.run_events(inputs={"x": [1, 2, 3, 4]})
    assert result.ok, result.error
    assert result.outputs["result"] == ["even:2", "even:4"]
    skipped = sorted(e.scope for e in events if e.type == "node_skipped" and e.node == "tag")
    assert skipped == [(("fo", 0),), (("fo", 2),)]


async def test_fanout_in_fanout():
    f = Flow()
    f.io("list")
    f.node("outer", "fanout", concurrency=0)
    f.node("spread", "t_math", op="list3")
    f.node("inner", "fanout", concurrency=2)
    f.node("dbl", "t_math", op="double")
    f.node("icol", "collect")
    f.node("ocol", "collect")
    f.wire("inp.value", "outer.items")
    f.wire("outer.item", "spread.x")
    f.wire("spread.x", "inner.items")
    f.wire("inner.item", "dbl.x")
    f.wire("dbl.x", "icol.item")
    f.wire("icol.results", "ocol.item")
    f.wire("ocol.results", "out.value")
    result, events = await f.run_events(inputs={"x": [10, 20]})
    assert result.ok, result.error
    assert result.outputs["result"] == [[20, 22, 24], [40, 42, 44]]
    scopes = {e.scope for e in events if e.type == "node_finished" and e.node == "dbl"}
    assert scopes == {(("outer", o), ("inner", i)) for o in range(2) for i in range(3)}
    assert {e.scope for e in events if e.type == "node_finished" and e.node == "icol"} == {(("outer", 0),), (("outer", 1),)}


async def test_branch_in_loop():
    # keep doubling while small, add 1 when odd-ish: the branch decides each iteration
    f = Flow()
    f.io("number")
    f.node("loop", "loop", max_iterations=10, condition="value >= 20")
    f.node("route", "branch", cases=[{"name": "odd", "when": "value % 2 == 1"}])
    f.node("inc", "t_math", op="inc", by=1)
    f.node("dbl", "t_math", op="double")
    f.node("m", "merge", inputs=2)
    f.wire("inp.value", "loop.initial")
    f.wire("loop.current", "route.value")
    f.wire("route.odd", "inc.x")
    f.wire("route.default", "dbl.x")
    f.wire("inc.x", "m.input_1")
    f.wire("dbl.x", "m.input_2")
    f.wire("m.value", "loop.feedback")
    f.wire("loop.done", "out.value")
    result, events = await f.run_events(inputs={"x": 3})
    assert result.ok, result.error
    # 3 -odd-> 4 -> 8 -> 16 -> 32
    assert result.outputs == {"result": 32}
    routes = [e.data["outputs"]["route"] for e in sorted(
        (e for e in events if e.type == "node_finished" and e.node == "route"), key=lambda e: e.scope)]
    assert routes == ["odd", "default", "default", "default"]
    assert CALLS["inc"] == 1 and CALLS["dbl"] == 3


async def test_outer_value_is_shared_by_every_instance():
    f = Flow()
    f.io("list")
    f.node("prefix", "input", name="prefix", type="text")
    f.node("fo", "fanout", concurrency=0)
    f.node("fmt", "template", template="{{ p }}-{{ item }}")
    f.node("col", "collect")
    f.wire("inp.value", "fo.items")
    f.wire("fo.item", "fmt.item")
    f.wire("prefix.value", "fmt.p")
    f.wire("fmt.text", "col.item")
    f.wire("col.results", "out.value")
    result = await f.run(inputs={"x": [1, 2], "prefix": "P"})
    assert result.outputs == {"result": ["P-1", "P-2"]}
