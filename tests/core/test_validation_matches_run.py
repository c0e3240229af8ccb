"""Validation reports everything the run would refuse: for generated flows, a flow that
validates without errors never fails at run time with a structural or configuration
error. The flows use only node types whose steps cannot fail on their own (no
provider, tool or timeout), so for them "no validation error" must mean "succeeds".

The generator wires every input from an earlier node (types chosen at random, so many
wires are type errors that validation must catch), adds loop bodies and fan-out
regions, and sometimes breaks a parameter. Values of type ``any`` whose real type is
known only when they arrive (a Merge of a text and a list, into a Fan-out) are left
out: the run checks those when the value arrives, as docs/execution.md says.
"""

from __future__ import annotations

import asyncio
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core.catalogue.registry import default_registry
from studio.core.document.flowfile import loads
from studio.core.document.validation import validate
from studio.core.running.executor import RunOptions, run_flow

REGISTRY = default_registry()
VALUES = {"text": "hello", "number": 3, "list": ["a", "b", "c"], "json": {"k": 1}, "boolean": True}
COUNTS = {"clean": 0, "refused": 0}


@st.composite
def flows(draw):
    nodes: list[dict] = []
    edges: list[dict] = []
    outs: list[tuple[str, str]] = []  # (node.port) available as sources, in creation order

    def add(nid, type_id, params=None):
        node = {"id": nid, "type": type_id}
        if params:
            node["params"] = params
        nodes.append(node)

    def source():
        return draw(st.sampled_from(outs))

    n_inputs = draw(st.integers(1, 2))
    for i in range(n_inputs):
        t = draw(st.sampled_from(sorted(VALUES)))
        add(f"in{i}", "input", {"name": f"in{i}", "type": t})
        outs.append((f"in{i}", "value"))
    for k in range(draw(st.integers(1, 4))):
        what = draw(st.sampled_from(["template", "merge", "loop", "fanout", "branch", "delay"]))
        nid = f"{what}{k}"
        if what == "template":
            add(nid, "template", {"template": "<{{ a }}>"})
            edges.append({"from": "%s.%s" % source(), "to": f"{nid}.a"})
            outs.append((nid, "text"))
        elif what == "merge":
            add(nid, "merge")
            edges.append({"from": "%s.%s" % source(), "to": f"{nid}.input_1"})
            if draw(st.booleans()):
                edges.append({"from": "%s.%s" % source(), "to": f"{nid}.input_2"})
            outs.append((nid, "value"))
        elif what == "delay":
            add(nid, "delay", {"seconds": 0})
            edges.append({"from": "%s.%s" % source(), "to": f"{nid}.value"})
            outs.append((nid, "value"))
        elif what == "branch":
            add(nid, "branch", {"mode": "expression", "cases": [{"name": "long", "when": "value == 'hello'"}]})
            edges.append({"from": "%s.%s" % source(), "to": f"{nid}.value"})
            joined = f"join{k}"
            add(joined, "merge")
            edges.append({"from": f"{nid}.long", "to": f"{joined}.input_1"})
            edges.append({"from": f"{nid}.default", "to": f"{joined}.input_2"})
            outs.append((joined, "value"))
        elif what == "loop":
            cap = draw(st.sampled_from([1, 3, 5, 0]))  # 0: a bad cap validation must refuse
            add(nid, "loop", {"max_iterations": cap, "condition": draw(st.sampled_from(["", "iteration >= 2"]))})
            edges.append({"from": "%s.%s" % source(), "to": f"{nid}.initial"})
            body = f"body{k}"
            add(body, "template", {"template": "{{ v }}+"})
            edges.append({"from": f"{nid}.current", "to": f"{body}.v"})
            edges.append({"from": f"{body}.text", "to": f"{nid}.feedback"})
            outs.append((nid, "done"))
        else:
            src = source()
            add(nid, "fanout", {"concurrency": draw(st.sampled_from([0, 1, 4]))})
            edges.append({"from": "%s.%s" % src, "to": f"{nid}.items"})
            work, col = f"work{k}", f"collect{k}"
            add(work, "template", {"template": "[{{ x }}]"})
            add(col, "collect")
            edges.append({"from": f"{nid}.item", "to": f"{work}.x"})
            edges.append({"from": f"{work}.text", "to": f"{col}.item"})
            outs.append((col, "results"))
    add("out", "output")
    edges.append({"from": "%s.%s" % outs[-1], "to": "out.value"})
    inputs = {n["params"]["name"]: VALUES[n["params"]["type"]] for n in nodes if n["type"] == "input"}
    doc = {"format": "orchestra-flow", "version": 1, "name": "generated", "nodes": nodes, "edges": edges}
    return doc, inputs


def _items_from_untyped_any(model) -> bool:
    """A Fan-out fed by an ``any`` value whose type is only known when it arrives."""
    from studio.core.catalogue.types import PortType
    from studio.core.document.graph import analyze
    from studio.core.document.typeflow import carried_types

    st_ = analyze(model)
    outs = {n: model.output_ports(n) for n in model.nodes}
    carried = carried_types(st_.order, model.edges_into, outs)
    for e in model.edges:
        if e.dst_port == "items" and model.nodes[e.dst].type == "fanout":
            t = carried.get((e.src, e.src_port)) or outs[e.src][e.src_port].type
            if t is PortType.ANY:
                return True
    return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flows())
def test_a_flow_that_validates_clean_runs_without_structural_errors(case):
    doc, inputs = case
    model = loads(json.dumps(doc), registry=REGISTRY)
    errors = [p for p in validate(model) if p.is_error]
    if errors:
        COUNTS["refused"] += 1
        return
    if _items_from_untyped_any(model):
        return
    COUNTS["clean"] += 1
    result = asyncio.run(run_flow(model, RunOptions(inputs=inputs, mock=True, trace=False)))
    assert result.status == "succeeded", (result.error, json.dumps(doc))
    assert "out" in {nid for nid, _ in result.results} or result.outputs is not None


def test_the_generator_makes_both_clean_and_refused_flows():
    # runs after the property above (file order): both sides of the property were exercised
    assert COUNTS["clean"] >= 20 and COUNTS["refused"] >= 10, COUNTS
