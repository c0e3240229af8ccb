"""The structure of a flow: its DAG, loop bodies and fan-out regions, as a scope tree.

Shared by the validator (which reports what is malformed) and the executor (which runs
each scope once per iteration or item). Built on networkx:

* The graph without the edges into Loop ``feedback`` ports must be acyclic; those edges
  are the only way a flow may close a cycle.
* A Loop's body is every node on a path from its ``current`` port to its feedback
  source(s).
* A FanOut's region is every node on a path from its ``item``/``index`` ports to its
  Collect. Regions are matched innermost first (FanOuts in reverse topological order),
  and a region walk jumps over inner regions already matched, so nesting costs little.
* Bodies and regions must nest (a laminar family); together they form the scope tree.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Iterable

import networkx as nx

from .model import Edge, FlowModel
from .problems import Problem

REGION_PORTS = ("item", "index")


@dataclass
class ScopeInfo:
    id: str  # the head node (FanOut or Loop)
    kind: str  # "fanout" | "loop"
    tail: str | None  # the Collect of a fan-out; None for a loop
    members: frozenset[str]  # the nodes inside, excluding head and tail
    parent: str | None = None

    @property
    def closure(self) -> frozenset[str]:
        extra = {self.id} | ({self.tail} if self.tail else set())
        return self.members | extra


@dataclass
class Structure:
    graph: nx.DiGraph  # every edge except those into Loop feedback ports
    feedback_edges: list[Edge] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # a topological order of `graph`
    scopes: dict[str, ScopeInfo] = field(default_factory=dict)
    scope_of: dict[str, str | None] = field(default_factory=dict)  # innermost scope of each node
    collect_of: dict[str, str] = field(default_factory=dict)
    fanout_of: dict[str, str] = field(default_factory=dict)
    cyclic: bool = False
    problems: list[Problem] = field(default_factory=list)

    def chain(self, node_id: str) -> list[str]:
        """The scopes around ``node_id``, outermost first."""
        out: list[str] = []
        s = self.scope_of.get(node_id)
        while s is not None:
            out.append(s)
            s = self.scopes[s].parent
        return out[::-1]


def analyze(model: FlowModel) -> Structure:
    kinds = {nid: model.node_type(nid).kind for nid in model.nodes}
    g = nx.DiGraph()
    g.add_nodes_from(model.nodes)
    feedback: list[Edge] = []
    for e in model.edges:
        if e.src not in kinds or e.dst not in kinds:
            continue  # dangling: the validator reports it
        if kinds[e.dst] == "loop" and e.dst_port == "feedback":
            feedback.append(e)
        else:
            g.add_edge(e.src, e.dst)
    st = Structure(graph=g, feedback_edges=feedback)

    if not nx.is_directed_acyclic_graph(g):
        st.cyclic = True
        for comp in nx.strongly_connected_components(g):
            if len(comp) > 1 or any(g.has_edge(n, n) for n in comp):
                nodes = sorted(comp)
                st.problems.append(Problem(
                    "error", "cycle", f"these nodes form a cycle: {' -> '.join(nodes[:8])}{' ...' if len(nodes) > 8 else ''}",
                    node=nodes[0],
                    hint="A flow may only loop through a Loop node: wire the value back into its 'feedback' input."))
        return st
    st.order = list(nx.topological_sort(g))

    # adjacency that includes feedback edges, for walking back from a loop's end
    fb_pred: dict[str, list[str]] = {}
    for e in feedback:
        fb_pred.setdefault(e.dst, []).append(e.src)

    def back_within(starts: Iterable[str], allowed: set[str]) -> set[str]:
        seen = {s for s in starts if s in allowed}
        todo = deque(seen)
        while todo:
            n = todo.popleft()
            for p in (*g.pred[n], *fb_pred.get(n, ())):
                if p in allowed and p not in seen:
                    seen.add(p)
                    todo.append(p)
        return seen

    def port_targets(node: str, ports: Iterable[str]) -> list[str]:
        ps = set(ports)
        return [e.dst for e in model.edges_from(node) if e.src_port in ps and e.dst in kinds]

    # -- loops -------------------------------------------------------------------
    for loop in (n for n in st.order if kinds[n] == "loop"):
        starts = port_targets(loop, ("current",))
        fwd: set[str] = set(starts)
        todo = deque(starts)
        while todo:
            n = todo.popleft()
            for s in g.succ[n]:
                if s not in fwd:
                    fwd.add(s)
                    todo.append(s)
        sources = fb_pred.get(loop, [])
        outside = [s for s in sources if s not in fwd]
        for s in outside:
            st.problems.append(Problem(
                "error", "loop_feedback_outside", f"feedback comes from {s!r}, which is not downstream of this loop's 'current'",
                node=loop, port="feedback",
                hint="Feedback must be computed from 'current' by the loop's body."))
        body = back_within([s for s in sources if s in fwd], fwd)
        if not sources:
            st.problems.append(Problem(
                "warning", "loop_without_feedback", "nothing is wired into 'feedback', so every iteration sees the initial value",
                node=loop, port="feedback", hint="Wire the body's result back into 'feedback'."))
            body = fwd
        for n in sorted(fwd - body):
            for p in g.pred[n]:
                if p in body or p == loop and n in starts:
                    st.problems.append(Problem(
                        "error", "loop_edge_leaves_body",
                        f"{p!r} inside loop {loop!r} feeds {n!r}, which is not part of the loop body",
                        node=n, hint="Values leave a loop only through its 'done' output."))
        st.scopes[loop] = ScopeInfo(loop, "loop", None, frozenset(body))

    # -- fan-out regions, innermost first ------------------------------------------
    fanouts = [n for n in st.order if kinds[n] == "fanout"]
    for fo in reversed(fanouts):
        starts = port_targets(fo, REGION_PORTS)
        seen: set[str] = set()
        candidates: list[str] = []
        todo = deque(starts)
        seen.update(starts)
        while todo:
            n = todo.popleft()
            nxt: Iterable[str]
            if kinds[n] == "collect" and n not in st.fanout_of:
                candidates.append(n)
                continue
            if kinds[n] == "fanout" and n in st.collect_of:
                inner = st.scopes[n]
                seen.update(inner.members)
                c = st.collect_of[n]
                seen.add(c)
                nxt = g.succ[c]
            else:
                nxt = g.succ[n]
            for s in nxt:
                if s not in seen:
                    seen.add(s)
                    todo.append(s)
        explicit = [c for c in candidates if (model.nodes[c].params.get("fanout") or fo) == fo]
        if len(explicit) == 1:
            collect = explicit[0]
        elif not candidates:
            st.problems.append(Problem(
                "error", "fanout_without_collect", "no Collect closes this fan-out",
                node=fo, hint="Add a Collect node after the per-item steps and wire their result into its 'item'."))
            continue
        else:
            st.problems.append(Problem(
                "error", "region_multiple_collects",
                f"values of this fan-out reach several Collects: {', '.join(sorted(candidates))}",
                node=fo, hint="Each fan-out closes with exactly one Collect; nest a second fan-out inside if you need two."))
            continue
        seen.discard(collect)
        members = back_within([p for p in g.pred[collect] if p in seen], seen)
        for n in sorted(seen - members):
            for p in g.pred[n]:
                if p in members or p == fo:
                    st.problems.append(Problem(
                        "error", "region_edge_leaves",
                        f"{p!r} inside fan-out {fo!r} feeds {n!r} outside its region",
                        node=n, hint=f"Per-item values leave a fan-out only through its Collect ({collect!r})."))
        st.collect_of[fo] = collect
        st.fanout_of[collect] = fo
        st.scopes[fo] = ScopeInfo(fo, "fanout", collect, frozenset(members))
    for c in (n for n in st.order if kinds[n] == "collect"):
        if c not in st.fanout_of and not any(p.node and p.code == "region_multiple_collects" for p in st.problems if c in p.message):
            st.problems.append(Problem(
                "error", "collect_without_fanout", "this Collect does not close any fan-out",
                node=c, hint="Wire a per-item result from a Fan-out's region into 'item', or remove the Collect."))

    # loop bodies closed over nested scopes (a body walk sees an inner loop's body only
    # through its feedback edge, which back_within follows, so nothing to add here)
    _nest(st)
    return st


def _nest(st: Structure) -> None:
    """Check that scopes nest and compute parents and each node's innermost scope."""
    by_size = sorted(st.scopes.values(), key=lambda s: len(s.closure))
    containing: dict[str, list[str]] = {}
    for s in by_size:
        for n in s.members:
            containing.setdefault(n, []).append(s.id)
        if s.tail:
            pass
    bad: set[frozenset[str]] = set()
    closures = {s.id: s.closure for s in by_size}
    for s in by_size:
        # every node of the closure must sit in the same enclosing scopes as the head
        outer_of_head = set(containing.get(s.id, ()))
        for n in s.closure:
            if n == s.id:
                continue
            for o in containing.get(n, ()):
                if o == s.id or o in outer_of_head:
                    continue
                if closures[o] <= closures[s.id]:
                    continue
                pair = frozenset((o, s.id))
                if pair not in bad:
                    bad.add(pair)
                    a, b = sorted(pair)
                    st.problems.append(Problem(
                        "error", "regions_overlap",
                        f"the {st.scopes[a].kind} {a!r} and the {st.scopes[b].kind} {b!r} overlap without one containing the other",
                        node=a, hint="Loop bodies and fan-out regions must nest: move the shared steps fully inside one of them."))
    for s in by_size:
        enclosing = [o for o in containing.get(s.id, ()) if o != s.id]
        s.parent = enclosing[0] if enclosing else None  # smallest first (by_size order)
    for n in st.graph.nodes:
        inner = containing.get(n)
        st.scope_of[n] = inner[0] if inner else None
    for s in st.scopes.values():
        if s.tail is not None:
            st.scope_of[s.tail] = s.parent
        st.scope_of[s.id] = s.parent
