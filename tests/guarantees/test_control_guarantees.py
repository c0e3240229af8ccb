"""docs/execution.md, SKIP; README node catalog: Branch's first match, Merge's first input."""

from __future__ import annotations

import pytest

from tests.guarantees.kinds import flow, of_type, run
from tests.support.flows import CALLS


def _merge_of(live: dict[int, str], inputs: int = 3):
    """A Merge whose input_k gets the text live[k]; every other input gets SKIP from a Branch."""
    nodes = {"inp": ("input", {"name": "x", "type": "any"}),
             "gate": ("branch", {"cases": [{"name": "never", "when": "false"}]}),
             "m": ("merge", {"inputs": inputs}),
             "value": ("output", {"name": "value"}), "source": ("output", {"name": "source"})}
    edges = ["inp.value -> gate.value", "m.value -> value.value", "m.source -> source.value"]
    for k in range(1, inputs + 1):
        if k in live:
            nodes[f"t{k}"] = ("template", {"template": live[k] + "{{ v }}"})
            edges.append(f"inp.value -> t{k}.v")
        else:  # fed by the branch's never-taken case: SKIP
            nodes[f"t{k}"] = ("template", {"template": "skipped {{ v }}"})
            edges.append(f"gate.never -> t{k}.v")
        edges.append(f"t{k}.text -> m.input_{k}")
    return flow(nodes, edges)


async def test_merge_takes_the_first_input_when_several_carry_distinct_values():
    result, _ = await run(_merge_of({1: "one", 2: "two", 3: "three"}), inputs={"x": "!"})
    assert result.ok, result.error
    assert result.outputs == {"value": "one!", "source": "input_1"}


@pytest.mark.parametrize("live, value, source", [
    ({2: "two", 3: "three"}, "two!", "input_2"),
    ({3: "three"}, "three!", "input_3"),
    ({1: "one", 3: "three"}, "one!", "input_1"),
])
async def test_merge_reports_the_port_its_value_came_from(live, value, source):
    result, _ = await run(_merge_of(live), inputs={"x": "!"})
    assert result.outputs == {"value": value, "source": source}


async def test_merge_of_only_skips_is_skipped_and_the_output_is_absent():
    result, events = await run(_merge_of({}), inputs={"x": "!"})
    assert result.ok, result.error
    assert result.outputs == {}
    assert of_type(events, "node_skipped", "m") and of_type(events, "node_skipped", "value")


def _router(mode: str, cases: list[dict]):
    nodes = {"inp": ("input", {"name": "x", "type": "any"}), "route": ("branch", {"mode": mode, "cases": cases}),
             "m": ("merge", {"inputs": len(cases) + 1}), "out": ("output", {"name": "result"}),
             "taken": ("output", {"name": "route"})}
    edges = ["inp.value -> route.value", "m.value -> out.value", "route.route -> taken.value"]
    for k, name in enumerate([c["name"] for c in cases] + ["default"], start=1):
        nodes[f"h_{name}"] = ("template", {"template": f"{name}:{{{{ v }}}}"})
        edges += [f"route.{name} -> h_{name}.v", f"h_{name}.text -> m.input_{k}"]
    return flow(nodes, edges)


@pytest.mark.parametrize("mode, cases, value, winner", [
    ("expression", [{"name": "big", "when": "value > 1"}, {"name": "huge", "when": "value > 2"}], 5, "big"),
    ("keyword", [{"name": "billing", "when": "refund"}, {"name": "angry", "when": "refund, now"}], "refund now", "billing"),
    ("regex", [{"name": "digits", "when": r"\d+"}, {"name": "year", "when": r"\d{4}"}], "in 2024", "digits"),
])
async def test_branch_first_matching_case_wins_and_the_others_are_skipped(mode, cases, value, winner):
    result, events = await run(_router(mode, cases), inputs={"x": value})
    assert result.ok, result.error
    assert result.outputs == {"result": f"{winner}:{value}", "route": winner}
    skipped = {e.node for e in of_type(events, "node_skipped")}
    assert skipped == {f"h_{c['name']}" for c in cases if c["name"] != winner} | {"h_default"}


async def test_branch_with_no_match_routes_to_default():
    result, _ = await run(_router("expression", [{"name": "neg", "when": "value < 0"}]), inputs={"x": 3})
    assert result.outputs == {"result": "default:3", "route": "default"}


async def test_skip_propagates_through_a_chain_of_required_inputs():
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}),
         "route": ("branch", {"cases": [{"name": "yes", "when": "value > 0"}]}),
         "a": ("template", {"template": "a{{ v }}"}), "b": ("template", {"template": "b{{ v }}"}),
         "c": ("t_math", {}), "out": ("output", {"name": "result"})},
        ["inp.value -> route.value", "route.yes -> a.v", "a.text -> b.v", "b.text -> c.x", "c.x -> out.value"])
    result, events = await run(model, inputs={"x": -1})
    assert result.ok, result.error
    assert result.outputs == {}
    assert {e.node for e in of_type(events, "node_skipped")} == {"a", "b", "c", "out"}
    assert "c" not in CALLS


async def test_an_optional_input_that_receives_skip_is_treated_as_unwired():
    # g_wait's x is optional: with SKIP there it runs as if x were not wired (sleeps 'ms', x None)
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}),
         "route": ("branch", {"cases": [{"name": "yes", "when": "value > 0"}]}),
         "w": ("g_wait", {"ms": 1, "tag": "ran"}), "out": ("output", {"name": "result"})},
        ["inp.value -> route.value", "route.yes -> w.x", "w.y -> out.value"])
    result, events = await run(model, inputs={"x": -1})
    assert result.ok, result.error
    assert result.outputs == {"result": "ran:None"}
    assert not of_type(events, "node_skipped", "w")


async def test_the_error_port_carries_skip_on_success_so_a_handler_runs_only_on_failure():
    def model(fail: bool):
        return flow(
            {"inp": ("input", {"name": "x", "type": "any"}),
             "work": ("g_fail", {"fail_times": 1000 if fail else 0, "retryable": False, "retries": 0}),
             "handler": ("template", {"template": "handled {{ e.type }}"}),
             "out": ("output", {"name": "result"}), "err": ("output", {"name": "error"})},
            ["inp.value -> work.x", "work.y -> out.value", "work.error -> handler.e", "handler.text -> err.value"])

    ok, events = await run(model(False), inputs={"x": 1})
    assert ok.ok and ok.outputs == {"result": 1}
    assert of_type(events, "node_skipped", "handler")
    failed, events = await run(model(True), inputs={"x": 1})
    assert failed.ok, "a wired error port keeps the run going"
    assert failed.outputs == {"error": "handled NodeFailure"}
    assert of_type(events, "node_skipped", "out")


async def test_a_skipped_node_is_recorded_as_skipped_in_its_own_scope():
    model = flow(
        {"inp": ("input", {"name": "items", "type": "list"}), "fo": ("fanout", {}),
         "route": ("branch", {"cases": [{"name": "big", "when": "value > 1"}]}),
         "tag": ("template", {"template": "big {{ v }}"}), "co": ("collect", {}), "out": ("output", {"name": "r"})},
        ["inp.value -> fo.items", "fo.item -> route.value", "route.big -> tag.v", "tag.text -> co.item",
         "co.results -> out.value"])
    result, events = await run(model, inputs={"items": [1, 5]})
    assert result.outputs == {"r": ["big 5"]}
    assert result.results[("tag", (("fo", 0),))].status == "skipped"
    assert result.results[("tag", (("fo", 1),))].status == "done"
    assert [e.scope for e in of_type(events, "node_skipped", "tag")] == [(("fo", 0),)]


async def test_an_output_a_node_left_unfilled_is_none_not_skip():
    model = flow(
        {"inp": ("input", {"name": "x", "type": "any"}), "p": ("g_partial", {}),
         "ta": ("template", {"template": "a={{ v }}"}), "tb": ("template", {"template": "b={{ v }}"}),
         "oa": ("output", {"name": "a"}), "ob": ("output", {"name": "b"})},
        ["inp.value -> p.x", "p.a -> ta.v", "p.b -> tb.v", "ta.text -> oa.value", "tb.text -> ob.value"])
    result, events = await run(model, inputs={"x": 5})
    assert result.ok, result.error
    assert result.outputs == {"a": "a=5", "b": "b=None"}
    assert not of_type(events, "node_skipped")


async def test_merge_with_an_unwired_input_and_only_skips_on_the_rest_is_skipped_for_that_reason():
    """An input nobody wired carries nothing either: it does not keep the Merge alive."""
    nodes = {"inp": ("input", {"name": "x", "type": "any"}),
             "gate": ("branch", {"cases": [{"name": "never", "when": "false"}]}),
             "t1": ("template", {"template": "a {{ v }}"}), "t2": ("template", {"template": "b {{ v }}"}),
             "m": ("merge", {"inputs": 3}), "value": ("output", {"name": "value"})}
    edges = ["inp.value -> gate.value", "gate.never -> t1.v", "gate.never -> t2.v", "t1.text -> m.input_1",
             "t2.text -> m.input_2", "m.value -> value.value"]
    result, events = await run(flow(nodes, edges), inputs={"x": "!"})
    assert result.ok and result.outputs == {}, result.error
    [skipped] = of_type(events, "node_skipped", "m")
    assert skipped.data == {"reason": "every input was skipped"}
