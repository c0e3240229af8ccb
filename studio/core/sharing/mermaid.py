"""A Mermaid diagram of a flow, to paste into docs and READMEs.

Fan-out regions and loop bodies become subgraphs (nested as the scopes nest), edges are
labelled with their ports where that says something, and Branch cases name the route.
"""

from __future__ import annotations

import re

from studio.core.document.graph import analyze
from studio.core.document.model import FlowModel

_SHAPES = {
    "input": ('(["', '"])'),
    "output": ('(["', '"])'),
    "branch": ('{"', '"}'),
    "merge": ('(("', '"))'),
    "loop": ('[["', '"]]'),
    "fanout": ('[/"', '"/]'),
    "collect": ('[\\"', '"\\]'),
    "approval": ('{{"', '"}}'),
}


def _label(text: str) -> str:
    return re.sub(r'["<>]', lambda m: {'"': "#quot;", "<": "#lt;", ">": "#gt;"}[m.group(0)], text)


def to_mermaid(model: FlowModel) -> str:
    st = analyze(model)
    lines = ["flowchart LR"]
    children: dict[str | None, list[str]] = {}
    for sid, info in st.scopes.items():
        children.setdefault(info.parent, []).append(sid)
    members: dict[str | None, list[str]] = {}
    for nid in sorted(model.nodes):
        members.setdefault(st.scope_of.get(nid), []).append(nid)

    def node_line(nid: str, indent: str) -> str:
        node = model.nodes[nid]
        kind = model.node_type(nid).kind
        left, right = _SHAPES.get(kind, ('["', '"]'))
        summary = model.node_type(nid).summary(node.params)
        text = _label(node.title or nid)
        if summary:
            text += f"<br/><small>{_label(summary[:40])}</small>"
        return f"{indent}{nid}{left}{text}{right}"

    def emit(scope: str | None, indent: str) -> None:
        for nid in members.get(scope, []):
            lines.append(node_line(nid, indent))
        for sid in sorted(children.get(scope, [])):
            info = st.scopes[sid]
            title = f"for each item of {sid}" if info.kind == "fanout" else f"loop body of {sid}"
            lines.append(f'{indent}subgraph {sid}_scope["{_label(title)}"]')
            emit(sid, indent + "  ")
            lines.append(f"{indent}end")

    emit(None, "  ")
    for e in sorted(model.edges, key=lambda e: (e.src, e.src_port, e.dst, e.dst_port)):
        if e.src not in model.nodes or e.dst not in model.nodes:
            continue
        kind = model.node_type(e.src).kind
        show = kind == "branch" or e.src_port not in ("text", "value", "x", "result", "item", "results") or e.dst_port == "feedback"
        label = e.src_port if kind == "branch" else (f"{e.src_port} → {e.dst_port}" if show else "")
        arrow = "-.->" if e.dst_port == "feedback" or e.src_port == "error" else "-->"
        lines.append(f"  {e.src} {arrow}{'|' + _label(label) + '|' if label else ''} {e.dst}")
    return "\n".join(lines) + "\n"
