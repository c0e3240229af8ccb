"""docs/execution.md, Scheduling / Loop: initial then feedback, condition, the hard cap."""

from __future__ import annotations

from tests.guarantees.kinds import flow, of_type, run
from studio.core.catalogue.types import SKIP
from tests.support.flows import CALLS


def _counter(loop_params: dict, body_op: str = "inc"):
    """x -> loop; body: t_math (inc by 1) feeding back; done/iterations/capped to outputs."""
    return flow(
        {"inp": ("input", {"name": "x", "type": "any"}), "lp": ("loop", loop_params),
         "body": ("t_math", {"op": body_op}), "done": ("output", {"name": "done"}),
         "its": ("output", {"name": "iterations"}), "cap": ("output", {"name": "capped"})},
        ["inp.value -> lp.initial", "lp.current -> body.x", "body.x -> lp.feedback",
         "lp.done -> done.value", "lp.iterations -> its.value", "lp.capped -> cap.value"])


async def test_first_iteration_sees_initial_later_ones_see_feedback():
    result, events = await run(_counter({"max_iterations": 10, "condition": "value >= 13"}), inputs={"x": 10})
    assert result.ok, result.error
    assert result.outputs == {"done": 13, "iterations": 3, "capped": False}
    seen = [e.data["inputs"]["x"] for e in of_type(events, "node_started", "body")]
    assert seen == [10, 11, 12]
    assert [e.scope for e in of_type(events, "node_started", "body")] == [(("lp", 1),), (("lp", 2),), (("lp", 3),)]


async def test_the_cap_stops_a_loop_whose_condition_never_holds():
    result, _ = await run(_counter({"max_iterations": 4, "condition": "value < 0"}), inputs={"x": 0})
    assert result.ok, result.error
    assert result.outputs == {"done": 4, "iterations": 4, "capped": True}
    assert CALLS["body"] == 4


async def test_a_condition_that_holds_on_the_last_allowed_iteration_is_not_capped():
    result, _ = await run(_counter({"max_iterations": 3, "condition": "value >= 3"}), inputs={"x": 0})
    assert result.outputs == {"done": 3, "iterations": 3, "capped": False}


async def test_max_iterations_one_runs_the_body_once():
    result, _ = await run(_counter({"max_iterations": 1, "condition": ""}), inputs={"x": 0})
    assert result.outputs == {"done": 1, "iterations": 1, "capped": True}
    assert CALLS["body"] == 1


async def test_the_condition_sees_the_iteration_number():
    result, _ = await run(_counter({"max_iterations": 9, "condition": "iteration >= 2"}), inputs={"x": 0})
    assert result.outputs == {"done": 2, "iterations": 2, "capped": False}


async def test_skip_at_feedback_stops_the_loop_with_the_last_value():
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}), "lp": ("loop", {"max_iterations": 10}),
         "body": ("t_math", {"op": "inc"}),
         "gate": ("branch", {"cases": [{"name": "again", "when": "value < 3"}]}),
         "done": ("output", {"name": "done"}), "its": ("output", {"name": "iterations"}),
         "cap": ("output", {"name": "capped"})},
        ["inp.value -> lp.initial", "lp.current -> body.x", "body.x -> gate.value", "gate.again -> lp.feedback",
         "lp.done -> done.value", "lp.iterations -> its.value", "lp.capped -> cap.value"])
    result, _ = await run(model, inputs={"x": 0})
    assert result.ok, result.error
    # body saw 0, 1, 2 (fed back 1, 2, 3? no: 3 is not < 3, so SKIP came back after the third pass)
    assert CALLS["body"] == 3
    assert result.outputs == {"done": 2, "iterations": 3, "capped": False}


async def test_a_failing_condition_fails_the_run_naming_the_loop():
    result, _ = await run(_counter({"max_iterations": 3, "condition": "value.missing.deeper > 1"}), inputs={"x": 0})
    assert result.status == "failed" and result.error_node == "lp"


async def test_a_loop_whose_initial_value_is_skipped_is_skipped_with_its_body():
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}),
         "gate": ("branch", {"cases": [{"name": "go", "when": "value > 0"}]}),
         "lp": ("loop", {"max_iterations": 3}), "body": ("t_math", {"op": "inc"}),
         "done": ("output", {"name": "done"})},
        ["inp.value -> gate.value", "gate.go -> lp.initial", "lp.current -> body.x", "body.x -> lp.feedback",
         "lp.done -> done.value"])
    result, events = await run(model, inputs={"x": -5})
    assert result.ok, result.error
    assert result.outputs == {}
    [skipped] = of_type(events, "node_skipped", "lp")
    assert skipped.scope == () and skipped.data["reason"] == "its initial value was skipped"
    assert result.results[("lp", ())].status == "skipped"
    assert "body" not in CALLS and of_type(events, "node_skipped", "done")


async def test_loop_events_say_what_the_studio_shows():
    model = _counter({"max_iterations": 3, "condition": ""})
    seen_status = []
    from studio.core.running.executor import RunOptions, start_run

    r = start_run(model, RunOptions(inputs={"x": 7}, trace=None))
    r.add_listener(lambda e: seen_status.append(r.results[("lp", ())].status) if e.type == "node_started" and e.node == "body" else None)
    events = [e async for e in r.events()]
    [started] = of_type(events, "node_started", "lp")
    assert started.scope == () and started.data == {"inputs": {"initial": 7}, "title": "lp", "type": "loop",
                                                    "max_iterations": 3}
    progress = of_type(events, "node_progress", "lp")
    assert [e.data for e in progress] == [{"kind": "iteration", "iteration": k, "max_iterations": 3} for k in (1, 2, 3)]
    assert all(e.scope == () for e in progress)
    assert seen_status == ["running"] * 3  # the studio shows the loop running while its body works
    res = r.result.results[("lp", ())]
    assert res.status == "done" and res.attempts == 1 and res.latency_s > 0
    [finished] = of_type(events, "node_finished", "lp")
    assert finished.data["outputs"] == {"current": SKIP, "done": 10, "iterations": 3, "capped": True}


async def test_a_loop_body_reads_values_from_outside_the_loop():
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}), "step": ("input", {"name": "step", "type": "any"}),
         "lp": ("loop", {"max_iterations": 3}), "add": ("template", {"template": "{{ v + s }}"}),
         "done": ("output", {"name": "done"})},
        ["inp.value -> lp.initial", "lp.current -> add.v", "step.value -> add.s", "add.text -> lp.feedback",
         "lp.done -> done.value"])
    result, _ = await run(model, inputs={"x": "a", "step": "b"})
    assert result.ok, result.error
    assert result.outputs == {"done": "abbb"}


async def test_the_loop_finished_event_carries_the_full_record():
    result, events = await run(_counter({"max_iterations": 2, "condition": ""}), inputs={"x": 1})
    [finished] = of_type(events, "node_finished", "lp")
    data = dict(finished.data)
    latency = data.pop("latency_s")
    assert data == {"outputs": {"current": SKIP, "done": 3, "iterations": 2, "capped": True}, "attempts": 1,
                    "tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0, "cached": False, "cache_key": None}
    assert isinstance(latency, float) and 0 < latency <= result.totals["wall_s"]
    res = result.results[("lp", ())]
    assert (res.status, res.attempts) == ("done", 1) and 0 < res.latency_s <= result.totals["wall_s"]


async def test_a_failing_condition_reports_a_complete_failure_event():
    result, events = await run(_counter({"max_iterations": 3, "condition": "value.missing.deeper > 1"}), inputs={"x": 0})
    [failed] = of_type(events, "node_failed", "lp")
    assert failed.scope == ()
    assert failed.data == {"error": "expression 'value.missing.deeper > 1' uses an undefined value: "
                                    "'int object' has no attribute 'missing'",
                           "error_type": "TemplateProblem", "attempt": 1, "will_retry": False, "handled": False}
    lp = result.results[("lp", ())]
    assert (lp.status, lp.error) == ("failed", failed.data["error"])  # its result says why, as a step's does
    assert result.error == "lp: " + failed.data["error"]


async def test_a_loop_without_feedback_repeats_its_value():
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}), "lp": ("loop", {"max_iterations": 5, "condition": "iteration >= 3"}),
         "body": ("t_math", {"op": "inc"}), "done": ("output", {"name": "done"}), "its": ("output", {"name": "n"})},
        ["inp.value -> lp.initial", "lp.current -> body.x", "lp.done -> done.value", "lp.iterations -> its.value"])
    result, events = await run(model, inputs={"x": 4})
    assert result.ok, result.error
    assert result.outputs == {"done": 4, "n": 3}
    assert [e.data["inputs"]["x"] for e in of_type(events, "node_started", "body")] == [4, 4, 4]


async def test_the_order_of_wires_in_the_file_does_not_matter_to_a_loop():
    # the feedback wire written before the initial one (files are hand-edited, merged, sorted)
    # (the initial value comes from a slow node, so a missing dependency would show)
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}), "slow": ("g_wait", {"ms": 80}),
         "lp": ("loop", {"max_iterations": 3}), "body": ("template", {"template": "{{ v }}+"}),
         "done": ("output", {"name": "done"})},
        ["body.text -> lp.feedback", "lp.current -> body.v", "inp.value -> slow.x", "slow.y -> lp.initial",
         "lp.done -> done.value"])
    result, _ = await run(model, inputs={"x": 0})
    assert result.ok, result.error
    assert result.outputs == {"done": "w:0+++"}


async def test_an_input_called_feedback_on_an_ordinary_node_is_an_ordinary_input():
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}), "slow": ("g_wait", {"ms": 80}),
         "t": ("template", {"template": "got {{ feedback }}"}), "out": ("output", {"name": "r"})},
        ["inp.value -> slow.x", "slow.y -> t.feedback", "t.text -> out.value"])
    result, _ = await run(model, inputs={"x": "notes"})
    assert result.outputs == {"r": "got w:notes"}  # it waited for its input like any other


def test_a_blank_condition_never_stops_a_loop():
    from studio.core.running.executor import condition_holds

    assert [condition_holds(c, 5, 1) for c in ("", "   ", "\n\t", "value == 5")] == [False, False, False, True]
