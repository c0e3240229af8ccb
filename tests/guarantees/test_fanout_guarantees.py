"""docs/execution.md, Scheduling / Fan-out: every promise, with uneven item times."""

from __future__ import annotations

import asyncio

from studio.core.catalogue.nodetype import NodeType, Port
from studio.core.catalogue.types import PortType
from studio.core.document.flowfile import model_from_document
from tests.guarantees.kinds import LOG, STATE, document, flow, of_type, registry, run

UNEVEN = [90, 5, 60, 1, 30, 15]  # ms each item sleeps: they finish in another order


def _fanout(items_param: dict, worker: tuple, **collect):
    nodes = {
        "inp": ("input", {"name": "items", "type": "list"}),
        "fo": ("fanout", items_param),
        "work": worker,
        "co": ("collect", collect),
        "res": ("output", {"name": "results"}),
        "errs": ("output", {"name": "errors"}),
    }
    edges = ["inp.value -> fo.items", "fo.item -> work.x", "work.y -> co.item",
             "co.results -> res.value", "co.errors -> errs.value"]
    return flow(nodes, edges)


async def test_results_come_back_in_input_order_when_items_finish_out_of_order():
    model = _fanout({"concurrency": 0}, ("g_wait", {"tag": "done"}))
    result, events = await run(model, inputs={"items": UNEVEN})
    assert result.ok, result.error
    assert result.outputs["results"] == [f"done:{ms}" for ms in UNEVEN]
    finished = [x for kind, node, x, _ in LOG if kind == "finish" and node == "work"]
    assert finished != UNEVEN, "the items finished in input order: this test would prove nothing"
    assert sorted(finished) == sorted(UNEVEN)


async def test_each_instance_reports_its_index_in_the_scope_path():
    model = _fanout({"concurrency": 0}, ("g_wait", {}))
    result, events = await run(model, inputs={"items": UNEVEN})
    scopes = {e.scope for e in of_type(events, "node_finished", "work")}
    assert scopes == {(("fo", i),) for i in range(len(UNEVEN))}
    by_scope = {e.scope: e.data["outputs"]["y"] for e in of_type(events, "node_finished", "work")}
    assert all(by_scope[(("fo", i),)] == f"w:{ms}" for i, ms in enumerate(UNEVEN))


async def test_concurrency_bounds_instances_at_once():
    model = _fanout({"concurrency": 2}, ("g_wait", {}))
    result, _ = await run(model, inputs={"items": [60] * 6})
    assert result.ok and STATE["peak"] == 2


async def test_concurrency_zero_runs_every_item_at_once():
    model = _fanout({"concurrency": 0}, ("g_wait", {}))
    result, _ = await run(model, inputs={"items": [150] * 7}, concurrency=0)
    assert result.ok and STATE["peak"] == 7


async def test_fail_policy_fails_the_run_naming_node_and_item():
    model = _fanout({"on_item_error": "fail"}, ("g_fail", {"fail_on": 3, "retryable": False, "retries": 0}))
    result, _ = await run(model, inputs={"items": [1, 2, 3, 4]})
    assert result.status == "failed"
    assert result.error_node == "work" and result.error_scope == (("fo", 2),)
    assert "fo[2]" in result.error and "permanent failure for 3" in result.error


async def test_drop_policy_leaves_failed_items_out_and_lists_them_in_errors():
    model = _fanout({"on_item_error": "drop", "concurrency": 0},
                    ("g_fail", {"fail_on": 2, "retryable": False, "retries": 0}))
    result, _ = await run(model, inputs={"items": [1, 2, 3]})
    assert result.ok, result.error
    assert result.outputs["results"] == [1, 3]
    [err] = result.outputs["errors"]
    assert err["index"] == 1 and err["node"] == "work" and "permanent failure for 2" in err["error"]


async def test_keep_policy_keeps_an_error_object_in_place():
    model = _fanout({"on_item_error": "keep"}, ("g_fail", {"fail_on": 2, "retryable": False, "retries": 0}))
    result, _ = await run(model, inputs={"items": [1, 2, 3]})
    assert result.ok, result.error
    first, kept, last = result.outputs["results"]
    assert (first, last) == (1, 3)
    assert kept["index"] == 1 and kept["node"] == "work" and "permanent failure for 2" in kept["error"]
    assert [e["index"] for e in result.outputs["errors"]] == [1]


async def test_errors_are_listed_in_item_order_whatever_order_they_failed_in():
    nodes = {"slow": ("g_wait", {}), "work": ("g_fail", {"fail_on": None, "retryable": False, "retries": 0})}
    # every item fails after waiting its own time: the last-listed finishes first
    model = flow(
        {"inp": ("input", {"name": "items", "type": "list"}), "fo": ("fanout", {"on_item_error": "drop", "concurrency": 0}),
         **nodes, "co": ("collect", {}), "res": ("output", {"name": "results"}), "errs": ("output", {"name": "errors"})},
        ["inp.value -> fo.items", "fo.item -> slow.x", "slow.y -> work.x", "work.y -> co.item",
         "co.results -> res.value", "co.errors -> errs.value"])
    result, _ = await run(model, inputs={"items": [60, 1, 30]})
    assert result.ok and result.outputs["results"] == []
    assert [e["index"] for e in result.outputs["errors"]] == [0, 1, 2]


async def test_an_item_routed_away_by_a_branch_is_left_out():
    model = flow(
        {"inp": ("input", {"name": "items", "type": "list"}), "fo": ("fanout", {}),
         "route": ("branch", {"cases": [{"name": "even", "when": "value % 2 == 0"}]}),
         "tag": ("template", {"template": "even {{ v }}"}), "co": ("collect", {}),
         "res": ("output", {"name": "results"})},
        ["inp.value -> fo.items", "fo.item -> route.value", "route.even -> tag.v", "tag.text -> co.item",
         "co.results -> res.value"])
    result, _ = await run(model, inputs={"items": [1, 2, 3, 4, 6]})
    assert result.ok, result.error
    assert result.outputs["results"] == ["even 2", "even 4", "even 6"]


async def test_max_items_refuses_a_runaway_list_before_any_item_runs():
    model = _fanout({"max_items": 3}, ("g_wait", {}))
    result, events = await run(model, inputs={"items": [1, 2, 3, 4]})
    assert result.status == "failed" and result.error_node == "fo"
    assert "4 items exceed max_items (3)" in result.error
    assert not of_type(events, "node_started", "work")


async def test_max_items_at_the_limit_runs():
    model = _fanout({"max_items": 3}, ("g_wait", {}))
    result, _ = await run(model, inputs={"items": [1, 2, 3]})
    assert result.ok and result.outputs["results"] == ["w:1", "w:2", "w:3"]


async def test_an_empty_list_collects_nothing():
    model = _fanout({}, ("g_wait", {}))
    result, events = await run(model, inputs={"items": []})
    assert result.ok and result.outputs == {"results": [], "errors": []}
    assert not of_type(events, "node_started", "work")


async def test_progress_is_k_of_n_and_ends_with_every_item():
    model = _fanout({"concurrency": 0}, ("g_wait", {}))
    n = 300
    result, events = await run(model, inputs={"items": [0] * n})
    assert result.ok
    progress = [e for e in of_type(events, "node_progress", "fo") if e.data.get("kind") == "fanout"]
    assert progress[-1].data == {"kind": "fanout", "done": n, "failed": 0, "total": n}
    # at most one per 20 ms (plus the last): never one per item
    span_ms = (progress[-1].t - progress[0].t) * 1000
    assert len(progress) <= span_ms / 20 + 2
    dones = [e.data["done"] for e in progress]
    assert dones == sorted(dones)


async def test_values_from_outside_the_region_are_shared_by_every_instance():
    model = flow(
        {"inp": ("input", {"name": "items", "type": "list"}), "pre": ("input", {"name": "prefix", "type": "text"}),
         "fo": ("fanout", {}), "t": ("template", {"template": "{{ p }}-{{ i }}"}), "co": ("collect", {}),
         "res": ("output", {"name": "results"})},
        ["inp.value -> fo.items", "pre.value -> t.p", "fo.item -> t.i", "t.text -> co.item", "co.results -> res.value"])
    result, _ = await run(model, inputs={"items": [1, 2], "prefix": "P"})
    assert result.outputs["results"] == ["P-1", "P-2"]


async def test_index_output_is_the_position_from_zero():
    model = flow(
        {"inp": ("input", {"name": "items", "type": "list"}), "fo": ("fanout", {}),
         "t": ("template", {"template": "{{ i }}={{ v }}"}), "co": ("collect", {}), "res": ("output", {"name": "r"})},
        ["inp.value -> fo.items", "fo.index -> t.i", "fo.item -> t.v", "t.text -> co.item", "co.results -> res.value"])
    result, _ = await run(model, inputs={"items": ["a", "b", "c"]})
    assert result.outputs["r"] == ["0=a", "1=b", "2=c"]


async def test_one_failing_item_fails_the_run_at_once_and_cancels_the_others():
    # every item's g_hold waits forever (a call that never answers: its optional input takes
    # SKIP as unwired); item 2 also reaches a node that fails at once
    model = flow(
        {"inp": ("input", {"name": "items", "type": "list"}), "fo": ("fanout", {"concurrency": 0}),
         "route": ("branch", {"cases": [{"name": "bad", "when": "value == 2"}]}),
         "fail": ("t_math", {"op": "inc", "by": "z"}), "hold": ("g_hold", {"retries": 0}),
         "m": ("merge", {}), "co": ("collect", {}), "out": ("output", {"name": "r"})},
        ["inp.value -> fo.items", "fo.item -> route.value", "route.bad -> fail.x", "route.default -> hold.x",
         "fail.x -> m.input_1", "hold.y -> m.input_2", "m.value -> co.item", "co.results -> out.value"])
    result, events = await asyncio.wait_for(run(model, inputs={"items": [0, 1, 2, 3]}), 20)
    assert result.status == "failed", result.status
    assert result.error_node == "fail" and result.error_scope == (("fo", 2),)
    cancelled = {scope[0][1] for node, scope in STATE["cancelled"] if node == "hold"}
    started = [x for kind, node, x, _ in LOG if kind == "start" and node == "hold"]
    assert {0, 1, 3} <= cancelled and len(cancelled) == len(started), "a started call was left running"
    assert all(t.done() for t in STATE["tasks"]), "a held item's task outlived the run"


async def test_a_refused_list_fails_the_fanout_like_any_failed_node():
    """The fan-out's own failure (here: too many items) reports as a step's does: one
    node_failed event in its scope, final (no retry, not handled), and a failed result."""
    model = _fanout({"max_items": 3}, ("g_wait", {}))
    result, events = await run(model, inputs={"items": [1, 2, 3, 4]})
    [failed] = of_type(events, "node_failed", "fo")
    assert failed.scope == ()
    assert failed.data == {"error": "4 items exceed max_items (3)", "error_type": "NodeFailure", "attempt": 1,
                           "will_retry": False, "handled": False}
    fo = result.results[("fo", ())]
    assert (fo.status, fo.error) == ("failed", "4 items exceed max_items (3)")  # its result says why, as a step's does
    assert (result.error_node, result.error_scope) == ("fo", ())


async def test_a_failing_item_fails_the_run_after_its_running_siblings_have_ended():
    """fail policy: the slow siblings are cancelled AND waited for before the failure is
    reported; the failure stays a failure (not a cancellation)."""
    nodes = {"inp": ("input", {"name": "items", "type": "list"}), "fo": ("fanout", {"concurrency": 0}),
             "wait": ("g_wait", {}), "check": ("g_fail", {"fail_on": "w:5", "retryable": False, "retries": 0}),
             "co": ("collect", {}), "res": ("output", {"name": "results"})}
    edges = ["inp.value -> fo.items", "fo.item -> wait.x", "wait.y -> check.x", "check.y -> co.item",
             "co.results -> res.value"]
    result, _ = await run(flow(nodes, edges), inputs={"items": [400, 5, 300]})
    assert result.status == "failed" and result.error_node == "check"
    assert result.error_scope == (("fo", 1),)
    assert STATE["active"] == 0, "a sibling was still running when the run ended"


async def test_a_skipped_list_skips_the_fanout_and_its_collect():
    nodes = {"inp": ("input", {"name": "items", "type": "list"}),
             "gate": ("branch", {"cases": [{"name": "never", "when": "false"}]}),
             "fo": ("fanout", {}), "work": ("g_wait", {}), "co": ("collect", {}), "res": ("output", {"name": "results"})}
    edges = ["inp.value -> gate.value", "gate.never -> fo.items", "fo.item -> work.x", "work.y -> co.item",
             "co.results -> res.value"]
    result, events = await run(flow(nodes, edges), inputs={"items": [1, 2]})
    assert result.ok and result.outputs == {}, result.error
    skipped = {e.node: (e.scope, e.data["reason"]) for e in of_type(events, "node_skipped")}
    assert skipped["fo"] == ((), "its list was skipped")
    assert skipped["co"] == ((), "its fan-out was skipped")
    assert result.results[("fo", ())].status == result.results[("co", ())].status == "skipped"
    assert not of_type(events, "node_started", "work")


async def test_the_fanout_announces_its_items_and_concurrency_one_runs_them_one_by_one():
    # a region of two steps (wait, then a template), one item at a time
    nodes = {"inp": ("input", {"name": "items", "type": "list"}), "fo": ("fanout", {"concurrency": 1}),
             "work": ("g_wait", {}), "t": ("template", {"template": "<{{ v }}>"}), "co": ("collect", {}),
             "res": ("output", {"name": "results"})}
    edges = ["inp.value -> fo.items", "fo.item -> work.x", "work.y -> t.v", "t.text -> co.item",
             "co.results -> res.value"]
    result, events = await run(flow(nodes, edges), inputs={"items": [30, 10, 20]})
    assert result.ok and STATE["peak"] == 1, result.error
    assert result.outputs == {"results": ["<w:30>", "<w:10>", "<w:20>"]}
    [started] = of_type(events, "node_started", "fo")
    assert started.scope == ()
    assert started.data == {"inputs": {"items": [30, 10, 20]}, "title": "fo", "type": "fanout", "total": 3}
    *_, last = of_type(events, "node_progress", "fo")
    assert (last.data["done"], last.data["failed"], last.data["total"]) == (3, 0, 3)
    fo = result.results[("fo", ())]
    assert fo.status == "done" and fo.latency_s > 0


async def test_the_fanout_and_its_collect_report_their_steps_like_any_node():
    model = _fanout({"on_item_error": "drop"}, ("g_fail", {"fail_on": 2, "retryable": False, "retries": 0}))
    result, events = await run(model, inputs={"items": [1, 2, 3]})
    assert result.ok and result.outputs["results"] == [1, 3], result.error
    step = {"attempts": 1, "tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0, "cached": False, "cache_key": None}
    [fo] = of_type(events, "node_finished", "fo")
    data = dict(fo.data)
    assert data.pop("latency_s") > 0 and data == {"outputs": {"count": 3, "failed": 1}, **step}
    [co_started] = of_type(events, "node_started", "co")
    assert (co_started.scope, co_started.data) == ((), {"inputs": {"item": [1, 3]}, "title": "co", "type": "collect"})
    [co] = of_type(events, "node_finished", "co")
    data = dict(co.data)
    errors = [{"index": 1, "node": "work", "error": "permanent failure for 2"}]
    assert data.pop("latency_s") > 0 and data == {"outputs": {"results": [1, 3], "errors": errors}, **step}
    for node in ("fo", "co"):
        r = result.results[(node, ())]
        assert (r.status, r.attempts) == ("done", 1) and r.latency_s > 0
    *_, last = of_type(events, "node_progress", "fo")
    assert last.data == {"kind": "fanout", "done": 2, "failed": 1, "total": 3}


class _TupleNode(NodeType):
    """A plugin that hands on a tuple (Python code often does) where a list is expected."""

    type_id = "g_tuple"
    title = "Tuple"
    inputs = (Port("x", PortType.ANY, default=None, required=False),)
    outputs = (Port("y", PortType.ANY),)

    async def run(self, ctx):
        return {"y": tuple(ctx.inputs.get("x") or ())}


async def test_a_tuple_is_fanned_out_like_the_list_it_holds():
    reg = registry()
    reg.register(_TupleNode)
    doc = document({"inp": ("input", {"name": "items", "type": "list"}), "tup": ("g_tuple", {}),
                    "fo": ("fanout", {}), "work": ("g_wait", {"tag": "t"}), "co": ("collect", {}),
                    "res": ("output", {"name": "results"})},
                   ["inp.value -> tup.x", "tup.y -> fo.items", "fo.item -> work.x", "work.y -> co.item",
                    "co.results -> res.value"])
    result, events = await run(model_from_document(doc, registry=reg), inputs={"items": ["a", "b"]})
    assert result.ok, result.error
    assert result.outputs == {"results": ["t:a", "t:b"]}
    [started] = of_type(events, "node_started", "fo")
    assert started.data["inputs"] == {"items": ["a", "b"]} and started.data["total"] == 2


async def test_a_fanout_fed_no_list_fails_at_its_first_attempt_saying_what_it_got():
    model = flow({"inp": ("input", {"name": "items", "type": "any"}), "fo": ("fanout", {}), "work": ("g_wait", {}),
                  "co": ("collect", {}), "res": ("output", {"name": "results"})},
                 ["inp.value -> fo.items", "fo.item -> work.x", "work.y -> co.item", "co.results -> res.value"])
    result, events = await run(model, inputs={"items": "not a list"})
    [failed] = of_type(events, "node_failed", "fo")
    assert failed.data == {"error": "a fan-out needs a list, got str", "error_type": "NodeFailure", "attempt": 1,
                           "will_retry": False, "handled": False}
    assert (result.status, result.error) == ("failed", "fo: a fan-out needs a list, got str")


async def test_a_fanout_counts_every_dropped_item_and_reports_its_time():
    model = _fanout({"on_item_error": "drop", "concurrency": 0},
                    ("g_fail", {"fail_on": 2, "retryable": False, "retries": 0}))
    result, events = await run(model, inputs={"items": [2, 2, 3]})
    assert result.ok, result.error
    [done] = of_type(events, "node_finished", "fo")
    assert done.data["outputs"] == {"count": 3, "failed": 2}
    assert of_type(events, "node_progress", "fo")[-1].data == {"kind": "fanout", "done": 1, "failed": 2, "total": 3}
    fo = result.results[("fo", ())]
    assert 0.0 <= done.data["latency_s"] == fo.latency_s < 30.0


async def test_progress_reports_the_first_item_at_once_and_always_the_last():
    """At most one "k of n" per 20 ms, but the first finished item is shown at once and
    the last always (the studio's bar must not sit at zero, nor stop short of n)."""
    model = _fanout({"concurrency": 1}, ("g_wait", {}))
    result, events = await run(model, inputs={"items": [0, 0, 0, 0]})
    assert result.ok, result.error
    progress = [(e.data["done"], e.data["total"]) for e in of_type(events, "node_progress", "fo")]
    assert progress[0] == (1, 4) and progress[-1] == (4, 4)


async def test_a_fanout_whose_item_failed_is_failed_in_its_result():
    model = _fanout({"on_item_error": "fail"}, ("g_fail", {"fail_on": 3, "retryable": False, "retries": 0}))
    result, _ = await run(model, inputs={"items": [1, 3]})
    assert result.status == "failed"
    assert result.results[("fo", ())].status == "failed"
