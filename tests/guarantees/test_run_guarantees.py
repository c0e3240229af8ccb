"""docs/execution.md, Scheduling, Events and Cancellation: proven by events, never by wall time."""

from __future__ import annotations

import asyncio

import pytest

from studio.core.running.events import read_trace
from studio.core.running.executor import RunOptions, start_run
from studio.core.catalogue.nodetype import NodeType, Port
from studio.core.catalogue.types import PortType
from tests.guarantees.kinds import LOG, STATE, document, flow, of_type, registry, run


def _times(node: str) -> tuple[float, float]:
    start = next(t for k, n, _, t in LOG if k == "start" and n == node)
    finish = next(t for k, n, _, t in LOG if k == "finish" and n == node)
    return start, finish


async def test_independent_nodes_overlap_in_time():
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}), "a": ("g_wait", {"ms": 150}), "b": ("g_wait", {"ms": 150}),
         "c": ("g_wait", {"ms": 150}), "join": ("template", {"template": "{{ a }}{{ b }}{{ c }}"}),
         "out": ("output", {"name": "result"})},
        ["inp.value -> a.x", "inp.value -> b.x", "inp.value -> c.x", "a.y -> join.a", "b.y -> join.b",
         "c.y -> join.c", "join.text -> out.value"])
    result, events = await run(model, inputs={"x": "v"})
    assert result.ok, result.error
    spans = [_times(n) for n in "abc"]
    assert max(s for s, _ in spans) < min(f for _, f in spans), "each started before any finished"
    assert STATE["peak"] == 3
    join_start = of_type(events, "node_started", "join")[0].t
    assert all(join_start >= e.t for e in of_type(events, "node_finished") if e.node in "abc")


async def test_the_run_wide_concurrency_limit_is_a_slot_per_plain_node():
    nodes = {"inp": ("input", {"name": "x", "type": "any"}), "m": ("merge", {"inputs": 5}),
             "out": ("output", {"name": "result"})}
    edges = ["m.value -> out.value"]
    for i in range(1, 6):
        nodes[f"w{i}"] = ("g_wait", {"ms": 60})
        edges += [f"inp.value -> w{i}.x", f"w{i}.y -> m.input_{i}"]
    result, _ = await run(flow(nodes, edges), inputs={"x": "v"}, concurrency=2)
    assert result.ok and STATE["peak"] == 2


async def test_nested_structures_take_no_slot_so_concurrency_one_cannot_deadlock():
    model = flow(
        {"inp": ("input", {"name": "items", "type": "list"}), "fo": ("fanout", {"concurrency": 0}),
         "lp": ("loop", {"max_iterations": 2}), "body": ("t_math", {"op": "inc"}),
         "co": ("collect", {}), "out": ("output", {"name": "r"})},
        ["inp.value -> fo.items", "fo.item -> lp.initial", "lp.current -> body.x", "body.x -> lp.feedback",
         "lp.done -> co.item", "co.results -> out.value"])
    result, events = await asyncio.wait_for(run(model, inputs={"items": [1, 10, 100]}, concurrency=1), 30)
    assert result.ok, result.error
    assert result.outputs == {"r": [3, 12, 102]}
    scopes = {e.scope for e in of_type(events, "node_finished", "body")}
    assert scopes == {(("fo", i), ("lp", k)) for i in range(3) for k in (1, 2)}


async def test_a_chain_runs_in_one_task():
    nodes = {"inp": ("input", {"name": "x", "type": "any"}), "out": ("output", {"name": "result"})}
    edges = ["inp.value -> n0.x", "n39.y -> out.value"]
    for i in range(40):
        nodes[f"n{i}"] = ("g_task", {})
        if i:
            edges.append(f"n{i - 1}.y -> n{i}.x")
    result, _ = await run(flow(nodes, edges), inputs={"x": 0})
    assert result.outputs == {"result": 40}
    assert len(STATE["tasks"]) == 1


async def test_cancel_leaves_no_task_of_the_run_behind():
    model = flow(
        {"inp": ("input", {"name": "items", "type": "list"}), "fo": ("fanout", {"concurrency": 0}),
         "hold": ("g_hold", {}), "co": ("collect", {}), "side": ("g_hold", {}), "out": ("output", {"name": "r"})},
        ["inp.value -> fo.items", "fo.item -> hold.x", "hold.y -> co.item", "co.results -> out.value",
         "inp.value -> side.x"])
    before = asyncio.all_tasks()
    r = start_run(model, RunOptions(inputs={"items": [1, 2, 3, 4]}, trace=None))
    seen = []
    r.add_listener(seen.append)
    task = r.start()
    while len([x for x in LOG if x[0] == "start"]) < 5:
        await asyncio.sleep(0.005)
    r.cancel()
    result = await r.wait()
    assert result.status == "cancelled"
    assert seen[-1].type == "run_cancelled"
    assert sorted(STATE["cancelled"]) == sorted([("hold", (("fo", i),)) for i in range(4)] + [("side", ())])
    assert task.done()
    assert all(t.done() for t in STATE["tasks"])
    assert asyncio.all_tasks() - before == set()


async def test_a_failure_in_one_branch_cancels_its_siblings():
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}), "hold": ("g_hold", {}),
         "bad": ("g_fail", {"retryable": False, "retries": 0}), "m": ("merge", {}),
         "out": ("output", {"name": "r"})},
        ["inp.value -> hold.x", "inp.value -> bad.x", "hold.y -> m.input_1", "bad.y -> m.input_2", "m.value -> out.value"])
    result, _ = await asyncio.wait_for(run(model, inputs={"x": 1}), 30)
    assert result.status == "failed" and result.error_node == "bad"
    assert STATE["cancelled"] == [("hold", ())]


async def test_the_run_works_on_a_snapshot_of_the_flow():
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}), "w": ("g_wait", {"ms": 30}),
         "t": ("template", {"template": "before {{ v }}"}), "out": ("output", {"name": "r"})},
        ["inp.value -> w.x", "w.y -> t.v", "t.text -> out.value"])
    r = start_run(model, RunOptions(inputs={"x": "v"}, trace=None))
    task = r.start()
    await asyncio.sleep(0)
    model.nodes["t"].params["template"] = "after {{ v }}"
    result = await task
    assert result.outputs == {"r": "before w:v"}


async def test_an_input_default_is_used_when_the_run_gives_none_and_skip_never_becomes_an_output():
    model = flow(
        {"inp": ("input", {"name": "x", "type": "text", "default": "fallback"}), "out": ("output", {"name": "r"})},
        ["inp.value -> out.value"])
    result, _ = await run(model)
    assert result.outputs == {"r": "fallback"}


async def test_every_event_names_its_node_and_scope_and_the_trace_replays_them(tmp_path):
    model = flow(
        {"inp": ("input", {"name": "items", "type": "list"}), "fo": ("fanout", {}),
         "lp": ("loop", {"max_iterations": 2}), "body": ("t_math", {"op": "inc"}),
         "co": ("collect", {}), "out": ("output", {"name": "r"})},
        ["inp.value -> fo.items", "fo.item -> lp.initial", "lp.current -> body.x", "body.x -> lp.feedback",
         "lp.done -> co.item", "co.results -> out.value"])
    secret = "sk" "-guarantee-0123456789abcdef"
    path = tmp_path / "t.jsonl"
    result, events = await run(model, inputs={"items": [1, secret]}, trace=path, secrets=[secret])
    assert result.status == "failed"  # "sk-..." + 1 fails inside item 1, iteration 1
    assert result.error_scope == (("fo", 1), ("lp", 1)) and result.error_node == "body"
    text = path.read_text()
    assert secret not in text and "[redacted]" in text
    replayed = read_trace(text.splitlines())
    assert len(replayed) == len(events)
    assert [e.type for e in replayed] == [e.type for e in events]
    assert [(e.node, e.scope) for e in replayed] == [(e.node, e.scope) for e in events]


def _pinned_model(tag: str):
    return flow(
        {"inp": ("input", {"name": "items", "type": "list"}), "pay": ("g_plugin_paid", {"usd": 0.5}),
         "t": ("template", {"template": tag + "{{ v }}"}), "fo": ("fanout", {}), "w": ("g_wait", {}),
         "co": ("collect", {}), "out": ("output", {"name": "r"}), "o2": ("output", {"name": "t"})},
        ["inp.value -> pay.x", "pay.y -> t.v", "t.text -> o2.value", "pay.y -> fo.items", "fo.item -> w.x",
         "w.y -> co.item", "co.results -> out.value"])


def _pins(events) -> dict:
    """What "run from a node" pins: each root-scope node's outputs and the key recorded with them."""
    return {e.node: {"outputs": e.data["outputs"], "cache_key": e.data["cache_key"]}
            for e in of_type(events, "node_finished") if e.node in ("pay", "t") and not e.scope}


async def test_a_pinned_output_is_reused_at_the_root_and_never_inside_a_fanout():
    first, events = await run(_pinned_model("a"), inputs={"items": [1, 2]})
    pinned = _pins(events)
    pinned["w"] = {"outputs": {"y": "stale"}, "cache_key": None}  # an instance inside a fan-out: never reused
    STATE["calls"].clear()
    again, events2 = await run(_pinned_model("a"), inputs={"items": [1, 2]}, pinned=pinned)
    assert again.outputs == first.outputs == {"r": ["w:1", "w:2"], "t": "a[1, 2]"}
    assert "pay" not in STATE["calls"] and again.totals["cost_usd"] == 0
    assert {e.node for e in of_type(events2, "node_finished") if e.data.get("cached")} == {"pay", "t"}


async def test_a_changed_prompt_reruns_a_node_pinned_from_an_earlier_run():
    """docs/execution.md: pinned outputs are reused "only when the key recorded with them
    still matches, so a changed prompt or input re-runs that node". The pins come from the
    earlier run's events, exactly as the studio's "run from a node" takes them."""
    _, events = await run(_pinned_model("a"), inputs={"items": [1, 2]})
    pinned = _pins(events)
    assert all(p["cache_key"] for p in pinned.values()), f"a finished node records no cache key: {pinned}"
    changed, _ = await run(_pinned_model("b"), inputs={"items": [1, 2]}, pinned=pinned)
    assert changed.outputs["t"] == "b[1, 2]"  # the template changed: the key no longer matches, it re-ran


async def test_an_approval_wait_takes_no_concurrency_slot():
    waiting = asyncio.Event()
    answered = {}

    async def slow_person(req):
        waiting.set()
        while "w" not in STATE["calls"]:  # approve only once the other branch has run
            await asyncio.sleep(0.005)
        answered["at"] = True
        from studio.core.catalogue.context import ApprovalDecision

        return ApprovalDecision("approve", req.value, by="test")

    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}), "ok": ("approval", {}), "w": ("g_wait", {"ms": 1}),
         "a": ("output", {"name": "approved"}), "b": ("output", {"name": "other"})},
        ["inp.value -> ok.value", "inp.value -> w.x", "ok.approved -> a.value", "w.y -> b.value"])
    result, _ = await asyncio.wait_for(run(model, inputs={"x": 5}, concurrency=1, approval_handler=slow_person), 30)
    assert result.ok, result.error
    assert result.outputs == {"approved": 5, "other": "w:5"} and answered


async def test_the_collector_is_tuned_during_a_run_and_restored_after():
    import gc

    before = gc.get_threshold()
    seen = []
    model = flow({"inp": ("input", {"name": "x", "type": "any"}), "w": ("g_wait", {"ms": 1}),
                  "out": ("output", {"name": "r"})}, ["inp.value -> w.x", "w.y -> out.value"])
    r = start_run(model, RunOptions(inputs={"x": 1}, trace=None))
    r.add_listener(lambda e: seen.append((gc.get_threshold()[0], gc.get_freeze_count())) if e.type == "node_started" else None)
    await r.wait()
    assert seen and all(t >= 20000 and frozen > 0 for t, frozen in seen)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


async def test_a_multi_input_gets_every_wire_in_order_and_an_unwired_input_its_default():
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}), "a": ("template", {"template": "a{{ v }}"}),
         "b": ("template", {"template": "b{{ v }}"}), "g": ("g_gather", {}), "out": ("output", {"name": "r"})},
        ["inp.value -> b.v", "inp.value -> a.v", "b.text -> g.xs", "a.text -> g.xs", "g.y -> out.value"])
    result, events = await run(model, inputs={"x": 1})
    assert result.ok, result.error
    assert result.outputs == {"r": {"xs": ["b1", "a1"], "base": 41}}
    assert of_type(events, "node_started", "g")[0].data["inputs"] == {"xs": ["b1", "a1"], "base": 41}


async def test_started_events_name_the_type_and_title_the_studio_shows():
    model = flow({"inp": ("input", {"name": "x", "type": "any"}), "w": ("g_wait", {"ms": 0}),
                  "out": ("output", {"name": "r"})}, ["inp.value -> w.x", "w.y -> out.value"])
    model.nodes["w"].title = "Wait a bit"
    _, events = await run(model, inputs={"x": 1})
    starts = {e.node: e.data for e in of_type(events, "node_started")}
    assert (starts["w"]["type"], starts["w"]["title"]) == ("g_wait", "Wait a bit")
    assert (starts["inp"]["type"], starts["inp"]["title"]) == ("input", "inp")  # no title: the id


async def test_an_invalid_flow_is_refused_before_anything_runs_with_its_problems():
    from studio.core.running.plan import FlowInvalid

    model = flow({"w": ("g_wait", {}), "t": ("template", {"template": "{{ a }}"}), "out": ("output", {"name": "r"})},
                 ["t.text -> out.value"])
    with pytest.raises(FlowInvalid) as info:
        start_run(model, RunOptions(trace=None))
    errors = [p for p in info.value.problems if p.is_error]
    assert [(p.node, p.port) for p in errors] == [("t", "a")]
    assert str(info.value) == f"the flow has 1 error(s); first: t: {errors[0].message}"
    assert LOG == []


async def test_nested_params_are_snapshotted_too():
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}), "w": ("g_wait", {"ms": 30}),
         "route": ("branch", {"cases": [{"name": "yes", "when": "true"}]}),
         "out": ("output", {"name": "r"}), "other": ("output", {"name": "other"})},
        ["inp.value -> w.x", "w.y -> route.value", "route.yes -> out.value", "route.default -> other.value"])
    r = start_run(model, RunOptions(inputs={"x": 1}, trace=None))
    task = r.start()
    await asyncio.sleep(0)
    model.nodes["route"].params["cases"][0]["when"] = "false"  # edited in place while the run waits
    result = await task
    assert result.outputs == {"r": "w:1"}


async def test_a_node_waits_for_every_input_whatever_order_its_wires_are_written_in():
    # the slow input's wire comes last, after two wires from one fast node
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}), "fast": ("template", {"template": "f{{ v }}"}),
         "slow": ("g_wait", {"ms": 80}), "t": ("template", {"template": "{{ p }}{{ q }}{{ r }}"}),
         "out": ("output", {"name": "r"})},
        ["inp.value -> fast.v", "inp.value -> slow.x", "fast.text -> t.p", "fast.text -> t.q", "slow.y -> t.r",
         "t.text -> out.value"])
    result, _ = await run(model, inputs={"x": "1"})
    assert result.outputs == {"r": "f1f1w:1"}


async def test_a_region_waits_for_an_outside_value_whatever_order_its_wires_are_written_in():
    model = flow(
        {"inp": ("input", {"name": "items", "type": "list"}), "p": ("input", {"name": "p", "type": "any"}),
         "slow": ("g_wait", {"ms": 80}), "fo": ("fanout", {}), "t": ("template", {"template": "{{ i }}-{{ s }}"}),
         "co": ("collect", {}), "out": ("output", {"name": "r"})},
        ["inp.value -> fo.items", "fo.item -> t.i", "p.value -> slow.x", "slow.y -> t.s", "t.text -> co.item",
         "co.results -> out.value"])
    result, _ = await run(model, inputs={"items": [1, 2], "p": "P"})
    assert result.outputs == {"r": ["1-w:P", "2-w:P"]}


async def test_run_flow_runs_to_the_end_and_returns_the_result(tmp_path):
    from studio.core.running.executor import run_flow

    model = flow({"inp": ("input", {"name": "x", "type": "any"}), "t": ("template", {"template": "<{{ x }}>"}),
                  "out": ("output", {"name": "result"})}, ["inp.value -> t.x", "t.text -> out.value"])
    result = await run_flow(model, RunOptions(inputs={"x": "v"}, trace=tmp_path / "t.jsonl"))
    assert result.ok and result.outputs == {"result": "<v>"}
    assert [e.type for e in read_trace((tmp_path / "t.jsonl").read_text().splitlines())][-1] == "run_finished"


def test_missing_inputs_names_the_inputs_left_out_that_have_no_default():
    from studio.core.running.plan import compile_plan, missing_inputs

    plan = compile_plan(flow({"a": ("input", {"name": "a"}), "b": ("input", {"name": "b", "default": "d"}),
                              "c": ("input", {"name": "c"}), "t": ("template", {"template": "{{ a }}{{ b }}{{ c }}"}),
                              "out": ("output", {"name": "r"})},
                             ["a.value -> t.a", "b.value -> t.b", "c.value -> t.c", "t.text -> out.value"]))
    assert missing_inputs(plan, {}) == ["a", "c"]
    assert missing_inputs(plan, {"c": 1}) == ["a"]
    assert missing_inputs(plan, {"a": 1, "c": None}) == []


async def test_cancel_before_the_start_stops_the_run_and_after_the_end_changes_nothing():
    """Stop pressed while the run is still warming up (before its task ran) must not be
    lost: the run starts cancelled and no node runs. After the end, cancel is a no-op."""
    model = flow({"inp": ("input", {"name": "x", "type": "any"}), "out": ("output", {"name": "result"})},
                 ["inp.value -> out.value"])
    r = start_run(model, RunOptions(inputs={"x": "v"}, trace=None))
    r.cancel()  # not started yet
    result = await r.wait()
    assert result.status == "cancelled" and result.outputs == {} and not result.results

    r = start_run(model, RunOptions(inputs={"x": "v"}, trace=None))
    result = await r.wait()
    assert result.ok and result.outputs == {"result": "v"}
    r.cancel()  # finished: the result stands
    assert r.result.status == "succeeded"


def test_the_kind_tables_give_each_structural_kind_its_own_behaviour():
    """The tables are built at import; building them again (as a refactor of the kinds
    package would) gives the same behaviour per kind, and every other kind is a plain step."""
    from studio.core.catalogue.kinds import Kind
    from studio.core.running.engine import kinds

    steps, units = kinds._tables()
    assert {k: type(v).__name__ for k, v in steps.items() if v is not kinds.PLAIN} == {
        Kind.INPUT: "InputKind", Kind.OUTPUT: "OutputKind", Kind.MERGE: "MergeKind", Kind.APPROVAL: "ApprovalKind",
        Kind.SUBFLOW: "SubflowKind"}
    assert set(steps) == set(Kind)  # every kind has an entry: the step's lookup never misses
    assert {k: f.__name__ for k, f in units.items()} == {Kind.LOOP: "run_loop", Kind.FANOUT: "run_fanout"}
    assert {k: type(v) for k, v in steps.items()} == {k: type(v) for k, v in kinds.STEP_KINDS.items()}
    for kind in (Kind.PLAIN, Kind.BRANCH, Kind.COLLECT, Kind.PLACEHOLDER):
        assert kinds.step_kind(kind) is kinds.PLAIN
    # a plain step makes no hook call: each hook is None unless a kind defines it
    assert (kinds.PLAIN.take_inputs, kinds.PLAIN.skip_reason, kinds.PLAIN.attempt, kinds.PLAIN.finished) == (None,) * 4
    assert kinds.step_kind(Kind.INPUT).take_inputs is not None and kinds.step_kind(Kind.OUTPUT).finished is not None
    assert type(kinds.step_kind(Kind.MERGE)).__name__ == "MergeKind"


async def test_runs_that_never_overlap_still_let_the_collector_free_reference_cycles():
    """Each run freezes the heap, which zeroes the collector's count; a server whose short
    runs come one after another must still collect the cycles its requests leave."""
    import gc
    import weakref

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    model = flow({"inp": ("input", {"name": "x", "type": "any"}), "out": ("output", {"name": "r"})},
                 ["inp.value -> out.value"])
    assert gc.isenabled()
    gc.collect()
    alive = []
    for i in range(300):
        alive.append(weakref.ref(Cycle()))  # a request's left-over cycle, between runs
        result = await start_run(model, RunOptions(inputs={"x": i}, trace=None)).wait()
        assert result.ok
    still = sum(1 for r in alive if r() is not None)
    assert still < 150, f"{still} of 300 cycles never collected"

async def test_the_first_failure_is_raised_only_after_every_sibling_has_ended():
    """scopes.all_or_fail, under every region: the siblings of a failure are cancelled AND
    have run their clean-up when the failure is raised, so nothing of the region is still
    running when the run reports it (and the failure, not a sibling's cancellation, is raised)."""
    from studio.core.running.engine.scopes import all_or_fail

    ended = []

    async def sibling(i):
        try:
            await asyncio.sleep(10)
        finally:
            await asyncio.sleep(0.02)  # a clean-up that itself takes a while
            ended.append(i)

    async def failing():
        await asyncio.sleep(0)
        raise ValueError("the first failure")

    with pytest.raises(ValueError, match="the first failure"):
        await all_or_fail([sibling(0), failing(), sibling(2)])
    assert sorted(ended) == [0, 2]


async def test_a_consumer_that_awaits_between_events_still_gets_every_event_in_order():
    """The studio's run view awaits while it draws each event; the run goes on emitting
    meanwhile, and nothing is lost, repeated or reordered."""
    model = flow({"inp": ("input", {"name": "x", "type": "any"}), "a": ("g_wait", {"ms": 1}),
                  "b": ("g_wait", {"ms": 1}), "out": ("output", {"name": "r"})},
                 ["inp.value -> a.x", "a.y -> b.x", "b.y -> out.value"])
    r = start_run(model, RunOptions(inputs={"x": 1}, trace=None))
    slow = []
    async for e in r.events():
        slow.append(e)
        await asyncio.sleep(0.002)
    assert r.result is not None and r.result.ok, r.result and r.result.error
    _, fast = await run(model, inputs={"x": 1})
    assert [(e.type, e.node) for e in slow] == [(e.type, e.node) for e in fast]
    assert slow[-1].type == "run_finished"


async def test_a_branch_that_fails_after_the_others_have_finished_fails_the_run_not_cancels_it():
    """The first ready branch runs in the scope's own task; a failure in another branch
    after it has finished is that failure, not a cancellation of the run."""
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}), "fast": ("g_wait", {"ms": 0}),
         "slow": ("g_wait", {"ms": 30}), "bad": ("g_fail", {"retryable": False, "retries": 0}),
         "o1": ("output", {"name": "a"}), "o2": ("output", {"name": "b"})},
        ["inp.value -> fast.x", "fast.y -> o1.value", "inp.value -> slow.x", "slow.y -> bad.x", "bad.y -> o2.value"])
    result, events = await asyncio.wait_for(run(model, inputs={"x": 1}), 30)
    assert (result.status, result.error_node) == ("failed", "bad"), (result.status, result.error)
    assert events[-1].type == "run_failed"


async def test_a_failed_branch_leaves_no_sibling_still_cleaning_up_when_the_run_ends():
    """Whichever branch fails (here the one the scope runs in its own task), the others are
    cancelled and waited for: a sibling's clean-up has finished before the run ends."""
    reg = registry()
    reg.register(_SlowToStopNode)
    from studio.core.document.flowfile import model_from_document

    doc = document({"inp": ("input", {"name": "x", "type": "any"}), "stop": ("g_slow_to_stop", {}),
                    "w": ("g_wait", {"ms": 20}), "bad": ("g_fail", {"retryable": False, "retries": 0}),
                    "m": ("merge", {}), "out": ("output", {"name": "r"})},
                   ["inp.value -> w.x", "w.y -> bad.x", "inp.value -> stop.x", "stop.y -> m.input_1",
                    "bad.y -> m.input_2", "m.value -> out.value"])
    result, _ = await asyncio.wait_for(run(model_from_document(doc, registry=reg), inputs={"x": "v"}), 30)
    assert (result.status, result.error_node) == ("failed", "bad")
    assert STATE["cancelled"] == [("stop", ())], "the run ended while a cancelled sibling was still stopping"


async def test_a_run_with_parallel_branches_raises_nothing_into_the_event_loop():
    """Errors inside the scheduler's callbacks would only reach asyncio's handler (a log
    line nobody reads); a run must leave it silent."""
    loop = asyncio.get_running_loop()
    seen = []
    loop.set_exception_handler(lambda lp, ctx: seen.append(ctx.get("message")))
    try:
        model = flow(
            {"inp": ("input", {"name": "x", "type": "any"}), "a": ("g_wait", {"ms": 5}),
             "b": ("g_wait", {"ms": 10}), "c": ("g_wait", {"ms": 1}), "m": ("g_gather", {}),
             "out": ("output", {"name": "r"})},
            ["inp.value -> a.x", "inp.value -> b.x", "inp.value -> c.x", "a.y -> m.xs", "b.y -> m.xs",
             "c.y -> m.xs", "m.y -> out.value"])
        result, _ = await run(model, inputs={"x": "v"})  # text: each waits its own ms
        assert result.ok, result.error
        assert result.outputs == {"r": {"xs": ["w:v", "w:v", "w:v"], "base": 41}}
        await asyncio.sleep(0.01)
    finally:
        loop.set_exception_handler(None)
    assert seen == []


class _SlowToStopNode(NodeType):
    """Waits until cancelled, then takes 30 ms to stop (closing a connection, say)."""

    type_id = "g_slow_to_stop"
    title = "Slow to stop"
    inputs = (Port("x", PortType.ANY, default=None, required=False),)
    outputs = (Port("y", PortType.ANY),)

    async def run(self, ctx):
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0.03)
            STATE["cancelled"].append((ctx.node_id, ctx.scope))
        return {"y": None}  # pragma: no cover - never reached


async def test_run_started_says_what_the_run_was_asked_to_do():
    model = flow({"inp": ("input", {"name": "x", "type": "any"}), "out": ("output", {"name": "r"})},
                 ["inp.value -> out.value"], name="asked")
    result, events = await run(model, inputs={"x": 5}, run_id="run-7", mock=True, budget_usd=2.5, concurrency=3)
    assert result.ok and result.run_id == "run-7"
    started = events[0]
    assert (started.type, started.node, started.scope) == ("run_started", None, ())
    assert started.data == {"run_id": "run-7", "flow": "asked", "inputs": {"x": 5}, "mock": True, "budget_usd": 2.5,
                            "concurrency": 3, "nodes": 2}


async def test_a_run_without_an_id_gets_a_fresh_twelve_digit_one_that_names_its_default_trace(tmp_path, monkeypatch):
    import re

    monkeypatch.setenv("ORCHESTRA_DATA_DIR", str(tmp_path / "data"))
    model = flow({"inp": ("input", {"name": "x", "type": "any"}), "out": ("output", {"name": "r"})},
                 ["inp.value -> out.value"])
    first, _ = await run(model, inputs={"x": 1}, trace=True)
    second, _ = await run(model, inputs={"x": 1}, trace=True)
    assert re.fullmatch(r"[0-9a-f]{12}", first.run_id) and first.run_id != second.run_id
    assert first.run_id in first.trace_path.name and first.trace_path != second.trace_path


async def test_a_run_wide_concurrency_of_one_runs_one_node_at_a_time():
    model = flow({"inp": ("input", {"name": "x", "type": "any"}), "a": ("g_wait", {"ms": 20}),
                  "b": ("g_wait", {"ms": 20}), "m": ("g_gather", {}), "out": ("output", {"name": "r"})},
                 ["inp.value -> a.x", "inp.value -> b.x", "a.y -> m.xs", "b.y -> m.xs", "m.y -> out.value"])
    result, _ = await run(model, inputs={"x": "v"}, concurrency=1)
    assert result.ok, result.error
    assert STATE["peak"] == 1


async def test_each_end_event_carries_the_outputs_and_totals_the_result_has():
    """run_finished, run_failed (naming the failed node and instance) and run_cancelled each
    carry what the run produced so far: the studio and the trace show the end from them."""
    ok_model = flow({"inp": ("input", {"name": "x", "type": "any"}), "out": ("output", {"name": "r"})},
                    ["inp.value -> out.value"])
    result, events = await run(ok_model, inputs={"x": 3})
    end = events[-1]
    assert (end.type, end.node, end.scope) == ("run_finished", None, ())
    assert end.data == {"outputs": {"r": 3}, "totals": result.totals}

    failing = _fanout_of_fail()
    result, events = await run(failing, inputs={"items": [1, 2]})
    end = events[-1]
    assert (end.type, end.node, end.scope) == ("run_failed", "bad", (("fo", 1),))
    assert end.data == {"error": result.error, "status": "failed", "outputs": result.outputs, "totals": result.totals}

    holding = flow({"inp": ("input", {"name": "x", "type": "any"}), "early": ("output", {"name": "early"}),
                    "hold": ("g_hold", {}), "out": ("output", {"name": "r"})},
                   ["inp.value -> early.value", "inp.value -> hold.x", "hold.y -> out.value"])
    r = start_run(holding, RunOptions(inputs={"x": 4}, trace=None))
    seen = []
    async for e in r.events():
        seen.append(e)
        if e.type == "node_started" and e.node == "hold":
            r.cancel()
    end = seen[-1]
    assert (end.type, end.node, end.scope) == ("run_cancelled", None, ())
    assert end.data == {"outputs": {"early": 4}, "totals": r.result.totals}


def _fanout_of_fail():
    return flow({"inp": ("input", {"name": "items", "type": "list"}), "early": ("output", {"name": "early"}),
                 "first": ("g_wait", {}), "fo": ("fanout", {}),
                 "bad": ("g_fail", {"fail_on": 2, "retryable": False, "retries": 0}), "co": ("collect", {}),
                 "out": ("output", {"name": "r"})},
                ["inp.value -> fo.items", "fo.item -> bad.x", "bad.y -> co.item", "co.results -> out.value",
                 "inp.value -> first.x", "first.y -> early.value"])


def test_a_plan_names_the_flows_interface_and_keeps_its_warnings_and_structure():
    """What `orchestra serve` and the CLI read from a compiled plan: the interface by name,
    the validation warnings that did not stop it, the structure it was built from."""
    from studio.core.running.plan import compile_plan

    model = flow({"inp": ("input", {"name": "question", "type": "any"}), "t": ("template", {"template": "{{ v }}"}),
                  "dead": ("template", {"template": "unused {{ v }}"}), "out": ("output", {"name": "answer"})},
                 ["inp.value -> t.v", "t.text -> out.value", "inp.value -> dead.v"])
    plan = compile_plan(model)
    assert (plan.inputs, plan.outputs) == ({"question": "inp"}, {"answer": "out"})
    assert [(p.code, p.node) for p in plan.problems] == [("unreachable_output", "dead")]
    assert plan.structure is not None and set(plan.structure.order) == {"inp", "t", "dead", "out"}
