"""One flow that triggers each validation rule and one (its fix) that does not.

The fixed flows are fully clean (no problem at all) unless noted, so a rule cannot
pass by accident by reporting nothing anywhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from studio.core.document import validation
from studio.core.document.validation import validate

from corehelp import FLOWS, codes, flow

I = ("i", "input", {"name": "i"})
O = ("o", "output", {"name": "o"})
T = ("t", "template", {"template": "Hello {{ text }}"})
LIST_IN = ("i", "input", {"name": "i", "type": "list"})
REGION = ["i.value -> f.items", "f.item -> t.text", "t.text -> c.item", "c.results -> o.value"]
FAN = [("f", "fanout"), ("c", "collect")]


def loop_flow(extra_nodes=(), extra_wires=(), feedback="b.text -> l.feedback", **loop):
    params = {"max_iterations": 3, **loop}
    wires = ["i.value -> l.initial", "l.current -> b.text", "l.done -> o.value", *([feedback] if feedback else []), *extra_wires]
    return flow(I, ("l", "loop", params), ("b", "template", {"template": "again {{ text }}"}), O, *extra_nodes, wires=wires)


CASES: dict[str, tuple] = {
    "unknown_type": (
        lambda: flow(I, ("x", "acme.thing"), O, wires=["i.value -> x.text", "x.out -> o.value"],
                     requires={"node_types": {"acme.thing": "acme-nodes"}}),
        lambda: flow(I, T, O, wires=["i.value -> t.text", "t.text -> o.value"]),
    ),
    "bad_param": (
        lambda: flow(I, ("t", "template", {"template": 5}), O, wires=["i.value -> o.value"]),
        lambda: flow(I, T, O, wires=["i.value -> t.text", "t.text -> o.value"]),
    ),
    "unknown_param": (
        lambda: flow(I, ("t", "template", {"template": "{{ text }}", "tempalte": "x"}), O,
                     wires=["i.value -> t.text", "t.text -> o.value"]),
        lambda: flow(I, ("t", "template", {"template": "{{ text }}"}), O, wires=["i.value -> t.text", "t.text -> o.value"]),
    ),
    "loop_unbounded": (lambda: loop_flow(max_iterations=0), lambda: loop_flow()),
    "missing_node": (
        lambda: flow(I, O, wires=["i.value -> o.value", "ghost.text -> o.value"]),
        lambda: flow(I, O, wires=["i.value -> o.value"]),
    ),
    "missing_port": (
        lambda: flow(I, T, O, wires=["i.value -> t.txt", "t.text -> o.value"]),
        lambda: flow(I, T, O, wires=["i.value -> t.text", "t.text -> o.value"]),
    ),
    "type_mismatch": (
        lambda: flow(("i", "input", {"name": "i", "type": "text"}), *FAN, T, O, wires=REGION),
        lambda: flow(LIST_IN, *FAN, T, O, wires=REGION),
    ),
    "multiple_edges": (
        lambda: flow(I, ("j", "input", {"name": "j"}), O, wires=["i.value -> o.value", "j.value -> o.value"]),
        lambda: flow(I, ("j", "input", {"name": "j"}), ("m", "merge"), O,
                     wires=["i.value -> m.input_1", "j.value -> m.input_2", "m.value -> o.value"]),
    ),
    "required_input": (
        lambda: flow(I, O, ("fan", "fanout"), ("c", "collect"), wires=["i.value -> o.value", "fan.item -> c.item"]),
        lambda: flow(LIST_IN, O, ("fan", "fanout"), ("c", "collect"),
                     wires=["i.value -> fan.items", "fan.item -> c.item", "c.results -> o.value"]),
    ),
    "template_variable_unbound": (
        lambda: flow(I, ("t", "template", {"template": "{{ text }} and {{ more }}"}), O,
                     wires=["i.value -> t.text", "t.text -> o.value"]),
        lambda: flow(I, ("t", "template", {"template": "{{ text }} and {{ text }}"}), O,
                     wires=["i.value -> t.text", "t.text -> o.value"]),
    ),
    "cycle": (
        lambda: flow(I, ("a", "template", {"template": "{{ x }}{{ y }}"}), ("b", "template", {"template": "{{ text }}"}), O,
                     wires=["i.value -> a.x", "a.text -> b.text", "b.text -> a.y", "b.text -> o.value"]),
        lambda: loop_flow(),
    ),
    "loop_feedback_outside": (
        lambda: loop_flow([("z", "template", {"template": "{{ text }}"})], ["i.value -> z.text"], feedback="z.text -> l.feedback"),
        lambda: loop_flow(),
    ),
    "loop_without_feedback": (lambda: loop_flow(feedback=None), lambda: loop_flow()),
    "loop_edge_leaves_body": (
        lambda: loop_flow([("o2", "output", {"name": "o2"})], ["b.text -> o2.value"]),
        lambda: loop_flow([("o2", "output", {"name": "o2"})], ["l.done -> o2.value"]),
    ),
    "fanout_without_collect": (
        lambda: flow(LIST_IN, ("f", "fanout"), T, O, wires=["i.value -> f.items", "f.item -> t.text", "t.text -> o.value"]),
        lambda: flow(LIST_IN, *FAN, T, O, wires=REGION),
    ),
    "collect_without_fanout": (
        lambda: flow(I, ("c", "collect"), O, wires=["i.value -> c.item", "c.results -> o.value"]),
        lambda: flow(LIST_IN, *FAN, T, O, wires=REGION),
    ),
    "region_multiple_collects": (
        lambda: flow(LIST_IN, *FAN, ("c2", "collect"), T, O, ("o2", "output", {"name": "o2"}),
                     wires=[*REGION, "t.text -> c2.item", "c2.results -> o2.value"]),
        lambda: flow(LIST_IN, *FAN, T, O, wires=REGION),
    ),
    "region_edge_leaves": (
        lambda: flow(LIST_IN, *FAN, T, O, ("o2", "output", {"name": "o2"}), wires=[*REGION, "t.text -> o2.value"]),
        lambda: flow(LIST_IN, *FAN, T, O, ("o2", "output", {"name": "o2"}), wires=[*REGION, "c.results -> o2.value"]),
    ),
    "regions_overlap": (
        # `a` is both per-item work of the fan-out and the body of the loop
        lambda: flow(LIST_IN, ("f", "fanout"), ("c", "collect"), ("l", "loop", {"max_iterations": 2}),
                     ("a", "template", {"template": "{{ x }}{{ y }}"}), O, ("o2", "output", {"name": "o2"}),
                     wires=["i.value -> f.items", "i.value -> l.initial", "f.item -> a.x", "l.current -> a.y",
                            "a.text -> c.item", "a.text -> l.feedback", "c.results -> o.value", "l.done -> o2.value"]),
        # the loop runs inside each item instead
        lambda: flow(LIST_IN, ("f", "fanout"), ("c", "collect"), ("l", "loop", {"max_iterations": 2}),
                     ("a", "template", {"template": "{{ x }}"}), O,
                     wires=["i.value -> f.items", "f.item -> l.initial", "l.current -> a.x", "a.text -> l.feedback",
                            "l.done -> c.item", "c.results -> o.value"]),
    ),
    "branch_case_unused": (
        lambda: flow(I, ("b", "branch", {"cases": [{"name": "yes", "when": "value"}, {"name": "no", "when": "not value"}]}),
                     ("m", "merge"), O, wires=["i.value -> b.value", "b.yes -> m.input_1", "b.default -> m.input_2",
                                               "m.value -> o.value"]),
        lambda: flow(I, ("b", "branch", {"cases": [{"name": "yes", "when": "value"}, {"name": "no", "when": "not value"}]}),
                     ("m", "merge", {"inputs": 3}), O, wires=["i.value -> b.value", "b.yes -> m.input_1", "b.no -> m.input_2",
                                                              "b.default -> m.input_3", "m.value -> o.value"]),
    ),
    "unreachable_output": (
        lambda: flow(I, T, O, wires=["i.value -> t.text", "i.value -> o.value"]),
        lambda: flow(I, T, O, wires=["i.value -> t.text", "t.text -> o.value"]),
    ),
    "no_input": (
        lambda: flow(("t", "template", {"template": "constant"}), O, wires=["t.text -> o.value"]),
        lambda: flow(I, O, wires=["i.value -> o.value"]),
    ),
    "no_output": (lambda: flow(I), lambda: flow(I, O, wires=["i.value -> o.value"])),
    "duplicate_name": (
        lambda: flow(I, ("j", "input", {"name": "i"}), ("m", "merge"), O,
                     wires=["i.value -> m.input_1", "j.value -> m.input_2", "m.value -> o.value"]),
        lambda: flow(I, ("j", "input", {"name": "j"}), ("m", "merge"), O,
                     wires=["i.value -> m.input_1", "j.value -> m.input_2", "m.value -> o.value"]),
    ),
    "subflow_missing": (
        lambda: _in_fixture_dir(flow(I, ("s", "subflow", {"path": "no_such.flow.json"}), O, wires=["i.value -> o.value"])),
        lambda: _in_fixture_dir(flow(I, ("s", "subflow", {"path": "sub.flow.json"}), O,
                                     wires=["i.value -> s.text", "s.result -> o.value"])),
    ),
}


def _in_fixture_dir(model):
    model.base_dir = FLOWS
    return model


def documented_codes() -> set[str]:
    """Every code the validation module's docstring lists."""
    found = set()
    for line in validation.__doc__.splitlines():
        m = re.match(r"^(error|warning)\s+(\w+)(?:\s*/\s*(\w+))?", line)
        if m:
            found.update(c for c in m.groups()[1:] if c)
    return found


def test_every_documented_rule_has_a_case() -> None:
    assert documented_codes() == set(CASES)


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_triggers(code: str) -> None:
    bad, good = CASES[code]
    problems = validate(bad())
    hits = [p for p in problems if p.code == code]
    assert hits, f"{code} not reported; got {[str(p) for p in problems]}"
    for p in hits:
        assert p.message and p.hint, p  # every problem says what and how to fix it
        assert p.severity in ("error", "warning")


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_stays_quiet_on_the_fixed_flow(code: str) -> None:
    bad, good = CASES[code]
    problems = validate(good())
    assert code not in codes(problems)
    assert problems == [], [str(p) for p in problems]


@pytest.mark.parametrize("value,ok", [(1, True), (1000, True), (0, False), (1001, False), (2.5, False), (None, False),
                                      ("5", False), (True, False), (10**400, False)])
def test_loop_bounds(value, ok: bool) -> None:
    problems = validate(loop_flow(max_iterations=value))
    assert ("loop_unbounded" not in codes(problems)) is ok


def test_a_loop_that_omits_max_iterations_takes_the_declared_cap() -> None:
    model = loop_flow()
    del model.nodes["l"].params["max_iterations"]
    assert "loop_unbounded" not in codes(validate(model))
    assert model.params("l")["max_iterations"] == model.node_type("l").param("max_iterations").default


def test_a_loop_with_a_bad_cap_is_unbounded() -> None:
    for bad in (0, -1, 2.5, "many", None, 10**6):
        model = loop_flow()
        model.nodes["l"].params["max_iterations"] = bad
        assert "loop_unbounded" in codes(validate(model)), bad


def test_problems_name_nodes_and_ports() -> None:
    [p] = [p for p in validate(CASES["template_variable_unbound"][0]()) if p.is_error]
    assert (p.node, p.port, p.severity) == ("t", "more", "error")
    assert "more" in p.hint and "{{ more }}" in str(p)
    assert p.to_json()["code"] == "template_variable_unbound"


def test_a_cycle_is_named_in_its_order() -> None:
    [p] = [p for p in validate(CASES["cycle"][0]()) if p.code == "cycle"]
    assert "a -> b -> a" in p.message


def test_a_collect_naming_a_missing_fanout() -> None:
    model = flow(LIST_IN, ("f", "fanout"), ("c", "collect", {"fanout": "nope"}), T, O, wires=REGION)
    found = codes(validate(model))
    assert "fanout_without_collect" in found and "collect_without_fanout" in found


def test_the_structural_fixture_is_clean_and_fixtures_with_faults_are_reported() -> None:
    from studio.core.document import flowfile

    assert validate(flowfile.load_flow(FLOWS / "structural.flow.json")) == []
    dangling = codes(validate(flowfile.load_flow(FLOWS / "dangling.flow.json")))
    assert dangling.count("missing_node") == 2


def test_validation_is_deterministic() -> None:
    from studio.core.document import flowfile

    model = flowfile.load_flow(FLOWS / "placeholders.flow.json")
    assert validate(model) == validate(model)


def test_a_broken_plugin_type_becomes_a_problem(monkeypatch) -> None:
    from studio.core.catalogue.nodetype import NodeType
    from studio.core.catalogue.registry import Registry

    class Broken(NodeType):
        type_id = "broken"

        @classmethod
        def check_params(cls, params):
            raise RuntimeError("boom")

    reg = Registry([Broken])
    from studio.core.document import flowfile

    model = flowfile.loads('{"format": "orchestra-flow", "version": 1, "nodes": [{"id": "b", "type": "broken"}]}', registry=reg)
    [p] = [p for p in validate(model) if p.is_error]
    # the same words and hint as a crash in its ports (no parameter to name, nothing to fix in the file)
    assert (p.code, p.node, p.message, p.hint) == (
        "bad_param", "b", "the broken node type failed on these parameters: RuntimeError: boom",
        "Report this to the node type's author.")


def test_subflow_problem_names_the_file(tmp_path: Path) -> None:
    model = flow(I, ("s", "subflow", {"path": "nested/x.flow.json"}), O, wires=["i.value -> o.value"])
    model.base_dir = tmp_path
    [p] = [p for p in validate(model) if p.code == "subflow_missing"]
    assert "x.flow.json" in p.message


def test_a_bad_parameter_hint_gives_its_description_then_its_choices():
    m = flow(LIST_IN, ("f", "fanout", {"on_item_error": "explode", "concurrency": -1}), ("c", "collect"), T, O,
             wires=REGION)
    hints = {p.message.split(" ", 1)[0]: p.hint for p in validate(m) if p.code == "bad_param"}
    assert hints == {
        "on_item_error": "When one item fails: fail the run, drop the item, or keep the error in its place."
                         " Choices: fail, drop, keep.",
        "concurrency": "How many items run at once (0: no limit).",
    }


def test_two_outputs_with_one_name_are_each_named_in_the_error():
    m = flow(I, ("o", "output", {"name": "r"}), ("p", "output", {"name": "r"}),
             wires=["i.value -> o.value", "i.value -> p.value"])
    dups = [(p.severity, p.node, p.message, p.hint) for p in validate(m) if p.code == "duplicate_name"]
    assert dups == [("error", n, "2 output nodes are named 'r': o, p", "Give each output a distinct name.") for n in "op"]


def test_a_node_type_that_fails_on_its_parameters_is_an_error_of_that_node_not_a_crash():
    from studio.core.catalogue.nodetype import NodeType, Port
    from studio.core.catalogue.registry import Registry, default_registry
    from studio.core.catalogue.types import PortType
    from studio.core.document import flowfile

    class Broken(NodeType):
        type_id = "t_broken_ports"
        title = "Broken"
        inputs = (Port("x", PortType.ANY),)
        outputs = (Port("y", PortType.ANY),)

        @classmethod
        def output_ports(cls, params, base_dir=None):
            raise RuntimeError("oops")

    reg = Registry(default_registry().types())
    reg.register(Broken)
    doc = {"format": "orchestra-flow", "version": 1, "name": "t",
           "nodes": [{"id": "i", "type": "input", "params": {"name": "i"}}, {"id": "b", "type": "t_broken_ports"},
                     {"id": "o", "type": "output", "params": {"name": "o"}}],
           "edges": [{"from": "i.value", "to": "b.x"}, {"from": "b.y", "to": "o.value"}]}
    problems = validate(flowfile.model_from_document(doc, registry=reg))
    mine = [(p.severity, p.code, p.node, p.message, p.hint) for p in problems if p.node == "b"]
    assert mine[0] == ("error", "bad_param", "b", "the t_broken_ports node type failed on these parameters: "
                       "RuntimeError: oops", "Report this to the node type's author.")
    # with no ports known, its wires are reported, not crashed on
    assert [(code, msg) for _, code, _, msg, _ in mine[1:]] == [("missing_port", "b has no input 'x'"),
                                                                ("missing_port", "b has no output 'y'")]


def test_an_unknown_parameter_and_an_unbounded_loop_say_which_node_and_what():
    problems = validate(loop_flow(max_iterations=0, colour="red"))
    found = {p.code: (p.severity, p.node, p.message, p.hint) for p in problems}
    assert found["unknown_param"] == ("warning", "l", "loop has no parameter 'colour'; it is ignored",
                                      "Remove it, or check the spelling.")
    assert found["loop_unbounded"][:2] == ("error", "l")
    assert found["loop_unbounded"][2].startswith("max_iterations ") and len(found["loop_unbounded"][2]) > 15
    assert found["loop_unbounded"][3] == validation.LOOP_HINT


CARRY_REGION = ["f.item -> t.text", "t.text -> c.item", "c.results -> o.value"]


def test_a_pass_through_output_carrying_text_into_a_list_input_is_a_type_mismatch():
    m = flow(I, ("l", "loop", {"max_iterations": 3}), ("b", "template", {"template": "again {{ text }}"}), *FAN, T, O,
             wires=["i.value -> l.initial", "l.current -> b.text", "b.text -> l.feedback", "l.done -> f.items",
                    *CARRY_REGION])
    assert [(p.severity, p.code, p.node, p.port, p.message, p.hint) for p in validate(m)] == [
        ("error", "type_mismatch", "f", "items", "l.done -> f.items: l.done carries a text value (from its inputs); "
         "a text output cannot feed a list input (it can feed: any, text)",
         "Feed f.items a list value, or convert it in between.")]
    # the same shape carrying a list is clean
    m = flow(LIST_IN, ("d", "delay"), *FAN, T, O, wires=["i.value -> d.value", "d.value -> f.items", *CARRY_REGION])
    assert validate(m) == []


def test_a_named_pass_through_says_which_input_it_carries():
    m = flow(I, ("d", "delay"), *FAN, T, O, wires=["i.value -> d.value", "d.value -> f.items", *CARRY_REGION])
    [p] = validate(m)
    assert (p.code, p.node, p.port) == ("type_mismatch", "f", "items")
    assert p.message == ("d.value -> f.items: d.value carries a text value (from its 'value' input); "
                         "a text output cannot feed a list input (it can feed: any, text)")


def test_a_missing_subflow_file_is_an_error_of_the_subflow_node():
    m = _in_fixture_dir(flow(I, ("s", "subflow", {"path": "no_such.flow.json"}), O, wires=["i.value -> o.value"]))
    [p] = [p for p in validate(m) if p.code == "subflow_missing"]
    assert (p.severity, p.node) == ("error", "s") and "no_such.flow.json" in p.message


def _warnings(m):
    return [(p.code, p.node, p.message, p.hint) for p in validate(m) if not p.is_error]


def test_no_input_and_no_output_say_so_with_a_hint():
    assert _warnings(flow(("t", "template", {"template": "constant"}), O, wires=["t.text -> o.value"])) == [
        ("no_input", None, "the flow has no Input node", "Add an Input node so the flow can be run with values.")]
    assert _warnings(flow(I)) == [
        ("no_output", None, "the flow has no Output node", "Add an Output node to return a result.")]


def test_exactly_the_nodes_that_reach_no_output_are_named():
    # i -> a -> o reaches; i -> b -> c is a dead end (both named); the loop body reaches
    # the Output only through its feedback wire and the loop's done
    m = flow(I, ("a", "template", {"template": "{{ text }}"}), ("b", "template", {"template": "{{ text }}"}),
             ("c", "template", {"template": "{{ text }}"}), ("l", "loop", {"max_iterations": 2}),
             ("body", "template", {"template": "{{ text }}"}), O, ("p", "output", {"name": "p"}),
             wires=["i.value -> a.text", "a.text -> o.value", "i.value -> b.text", "b.text -> c.text",
                    "i.value -> l.initial", "l.current -> body.text", "body.text -> l.feedback", "l.done -> p.value"])
    assert _warnings(m) == [
        ("unreachable_output", n, "this node's result reaches no Output",
         "Wire it towards an Output, or delete it if it is not needed.") for n in ("b", "c")]


def test_a_node_of_an_unknown_type_is_reported_once_as_unknown_not_also_as_a_dead_end() -> None:
    from studio.core.document import flowfile

    model = flowfile.loads('{"format": "orchestra-flow", "version": 1, "nodes": ['
                           '{"id": "i", "type": "input", "params": {"name": "i"}},'
                           '{"id": "o", "type": "output", "params": {"name": "o"}},'
                           '{"id": "x", "type": "someone_elses_type"}],'
                           '"edges": [{"from": "i.value", "to": "o.value"}]}')
    assert [p.code for p in validate(model) if p.node == "x"] == ["unknown_type"]


def test_a_bad_parameter_is_a_problem_of_its_node() -> None:
    m = flow(LIST_IN, ("f", "fanout", {"on_item_error": "explode"}), ("c", "collect"), T, O, wires=REGION)
    assert [(p.code, p.node) for p in validate(m) if p.is_error] == [("bad_param", "f")]


def test_a_carried_type_is_checked_on_every_wire_of_the_output_whatever_comes_first():
    """l.done also feeds an Output (any) and a port that does not exist, written first:
    the mismatch on f.items is still found, and the missing port is its own problem."""
    m = flow(I, ("l", "loop", {"max_iterations": 3}), ("b", "template", {"template": "again {{ text }}"}), *FAN, T, O,
             ("o2", "output", {"name": "o2"}), ("b2", "template", {"template": "{{ text }}"}),
             wires=["i.value -> l.initial", "l.current -> b.text", "b.text -> l.feedback", "l.done -> b2.nope",
                    "l.done -> o2.value", "l.done -> f.items", *CARRY_REGION])
    found = [(p.code, p.node, p.port) for p in validate(m) if p.is_error]
    assert ("type_mismatch", "f", "items") in found
    assert [c for c, n, _ in found if n == "b2"] and ("type_mismatch", "b2", "nope") not in found
