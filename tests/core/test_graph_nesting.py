"""graph.analyze on nested scopes: members, parents, each node's innermost scope and
the chain of scopes the executor uses for scope paths."""

from __future__ import annotations

import networkx as nx

from studio.core.document import flowfile
from studio.core.document.graph import analyze
from studio.core.document.validation import validate

from corehelp import FLOWS, flow

LIST_IN = ("src", "input", {"name": "src", "type": "list"})
OUT = ("out", "output", {"name": "out"})


def tpl(nid: str, var: str = "text"):
    return (nid, "template", {"template": "{{ %s }}" % var})


def analyzed(model):
    problems = [p for p in validate(model) if p.is_error]
    assert problems == [], [str(p) for p in problems]
    st = analyze(model)
    pos = {n: i for i, n in enumerate(st.order)}
    for a, bs in st.succ.items():  # order is topological
        assert all(pos[a] < pos[b] for b in bs)
    return st


def test_fanout_in_loop() -> None:
    st = analyzed(flow(LIST_IN, ("l", "loop", {"max_iterations": 3}), ("f", "fanout"), tpl("w"), ("c", "collect"), OUT, wires=[
        "src.value -> l.initial", "l.current -> f.items", "f.item -> w.text", "w.text -> c.item",
        "c.results -> l.feedback", "l.done -> out.value"]))
    assert st.scopes["l"].members == {"f", "w", "c"} and st.scopes["l"].parent is None
    assert st.scopes["f"].members == {"w"} and st.scopes["f"].tail == "c" and st.scopes["f"].parent == "l"
    assert st.scope_of == {"src": None, "l": None, "f": "l", "w": "f", "c": "l", "out": None}
    assert st.chain("w") == ["l", "f"]


def test_loop_in_fanout() -> None:
    st = analyzed(flow(LIST_IN, ("f", "fanout"), ("l", "loop", {"max_iterations": 2}), tpl("b"), ("c", "collect"), OUT, wires=[
        "src.value -> f.items", "f.item -> l.initial", "l.current -> b.text", "b.text -> l.feedback",
        "l.done -> c.item", "c.results -> out.value"]))
    assert st.scopes["f"].members == {"l", "b"} and st.scopes["l"].members == {"b"}
    assert st.scopes["l"].parent == "f" and st.scopes["f"].parent is None
    assert st.scope_of["b"] == "l" and st.scope_of["l"] == "f" and st.scope_of["c"] is None
    assert st.chain("b") == ["f", "l"]


def test_fanout_in_fanout() -> None:
    st = analyzed(flow(LIST_IN, ("outer", "fanout"), ("inner", "fanout"), tpl("w"), ("ci", "collect"), ("co", "collect"), OUT,
                       wires=["src.value -> outer.items", "outer.item -> inner.items", "inner.item -> w.text",
                              "w.text -> ci.item", "ci.results -> co.item", "co.results -> out.value"]))
    assert st.collect_of == {"inner": "ci", "outer": "co"}
    assert st.scopes["outer"].members == {"inner", "w", "ci"} and st.scopes["inner"].members == {"w"}
    assert st.scopes["inner"].parent == "outer"
    assert st.scope_of["ci"] == "outer" and st.scope_of["co"] is None and st.chain("w") == ["outer", "inner"]


def test_branch_in_fanout() -> None:
    st = analyzed(flow(LIST_IN, ("f", "fanout"), ("b", "branch", {"cases": [{"name": "big", "when": "value > 3"}]}),
                       tpl("x"), tpl("y"), ("m", "merge"), ("c", "collect"), OUT,
                       wires=["src.value -> f.items", "f.item -> b.value", "b.big -> x.text", "b.default -> y.text",
                              "x.text -> m.input_1", "y.text -> m.input_2", "m.value -> c.item", "c.results -> out.value"]))
    assert st.scopes["f"].members == {"b", "x", "y", "m"}
    assert all(st.scope_of[n] == "f" for n in ("b", "x", "y", "m"))


def test_branch_in_loop() -> None:
    st = analyzed(flow(("src", "input", {"name": "src"}), ("l", "loop", {"max_iterations": 4}),
                       ("b", "branch", {"cases": [{"name": "ok", "when": "value"}]}), tpl("fix"), ("m", "merge"), OUT,
                       wires=["src.value -> l.initial", "l.current -> b.value", "b.ok -> m.input_1", "b.default -> fix.text",
                              "fix.text -> m.input_2", "m.value -> l.feedback", "l.done -> out.value"]))
    assert st.scopes["l"].members == {"b", "fix", "m"} and st.scopes["l"].kind == "loop"
    assert st.chain("fix") == ["l"]


def test_fanout_loop_fanout_with_branch_fixture() -> None:
    st = analyzed(flowfile.load_flow(FLOWS / "nested.flow.json"))
    assert st.chain("keep") == ["per_batch", "rounds", "per_item"]
    assert [st.scopes[s].kind for s in st.chain("keep")] == ["fanout", "loop", "fanout"]
    assert st.scope_of["kept"] == "rounds" and st.scope_of["batch_done"] is None


def test_sequential_scopes_are_siblings() -> None:
    st = analyzed(flow(LIST_IN, ("f1", "fanout"), tpl("a"), ("c1", "collect"), ("f2", "fanout"), tpl("b"), ("c2", "collect"), OUT,
                       wires=["src.value -> f1.items", "f1.item -> a.text", "a.text -> c1.item", "c1.results -> f2.items",
                              "f2.item -> b.text", "b.text -> c2.item", "c2.results -> out.value"]))
    assert st.scopes["f1"].parent is None and st.scopes["f2"].parent is None
    assert st.collect_of == {"f1": "c1", "f2": "c2"}


def test_shared_values_from_outside_a_region_stay_outside() -> None:
    st = analyzed(flow(LIST_IN, ("ctx", "input", {"name": "ctx"}), ("f", "fanout"),
                       ("w", "template", {"template": "{{ item }} {{ ctx }}"}), ("c", "collect"), OUT,
                       wires=["src.value -> f.items", "f.item -> w.item", "ctx.value -> w.ctx", "w.text -> c.item",
                              "c.results -> out.value"]))
    assert st.scopes["f"].members == {"w"} and st.scope_of["ctx"] is None


def test_networkx_graph_matches_and_feedback_edges_are_left_out() -> None:
    model = flowfile.load_flow(FLOWS / "nested.flow.json")
    st = analyze(model)
    assert isinstance(st.graph, nx.DiGraph) and nx.is_directed_acyclic_graph(st.graph)
    assert set(st.graph.edges) == {(e.src, e.dst) for e in model.edges if e.dst_port != "feedback"}
    assert [str(e) for e in st.feedback_edges] == ["kept.results -> rounds.feedback"]


def test_a_cyclic_flow_has_no_order_and_reports_once_per_cycle() -> None:
    model = flow(tpl("a", "x"), tpl("b"), tpl("c"), tpl("d"), wires=["a.text -> b.text", "b.text -> a.x", "b.text -> c.text",
                                                                   "d.text -> d.text"])
    st = analyze(model)
    assert st.cyclic and st.order == []
    cycles = sorted(p.message for p in st.problems if p.code == "cycle")
    assert len(cycles) == 2 and "a -> b -> a" in cycles[0] and "d -> d" in cycles[1]
