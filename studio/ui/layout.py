"""Auto-layout, align and distribute: pure position arithmetic, no Qt.

Auto-layout puts nodes in layers from networkx's topological generations, left to
right. Edges into a Loop's ``feedback`` port are ignored for layering (they close the
loop, they do not order it). Within a layer nodes are ordered by the mean position of
their predecessors (fewer crossings), and members of one loop body or fan-out region
are kept adjacent so the structure stays readable. networkx is imported here lazily:
it costs start-up time and is only needed when someone asks for a layout.

If ``studio.core.document.graph`` offers ``loop_bodies``/``fanout_regions`` they are used;
otherwise the regions are derived here the same way the design notes define them.
"""

from __future__ import annotations

from statistics import mean
from typing import Iterable, Mapping

from studio.core.document.model import FlowModel

H_GAP = 90.0
V_GAP = 36.0

Size = tuple[float, float]


def _graph(model: FlowModel, ids: set[str]):
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(n for n in model.nodes if n in ids)
    for e in model.edges:
        if e.src not in ids or e.dst not in ids or e.src == e.dst:
            continue
        if e.dst_port == "feedback" and model.node_type(e.dst).kind == "loop":
            continue
        g.add_edge(e.src, e.dst)
    while True:  # an invalid flow may still have a cycle: cut one edge per cycle
        try:
            cycle = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            break
        g.remove_edge(*cycle[-1][:2])
    return g


def regions(model: FlowModel, g) -> dict[str, set[str]]:
    """Owner node id -> the nodes of its loop body or fan-out region."""
    import networkx as nx

    out: dict[str, set[str]] = {}
    for nid in g.nodes:
        kind = model.node_type(nid).kind
        if kind == "loop":
            feeders = [e.src for e in model.edges_into(nid, "feedback") if e.src in g]
            down = nx.descendants(g, nid)
            body: set[str] = set()
            for f in feeders:
                body |= (nx.ancestors(g, f) | {f}) & down
            if body:
                out[nid] = body
        elif kind == "fanout":
            down = nx.descendants(g, nid)
            collects = [c for c in down if model.node_type(c).kind == "collect"]
            if collects:
                lengths = nx.single_source_shortest_path_length(g, nid)
                c = min(collects, key=lambda c: (lengths.get(c, 0), c))
                out[nid] = (nx.ancestors(g, c) & down) | {c}
    return out


def _scopes(model: FlowModel, g) -> dict[str, set[str]]:
    """Loop bodies and fan-out regions: the core's structure analysis when it can, else ours."""
    try:
        from studio.core.document.graph import analyze
    except ImportError:
        return regions(model, g)
    try:
        st = analyze(model)
    except Exception:
        return regions(model, g)
    if st.cyclic:
        return regions(model, g)
    ids = set(g.nodes)
    return {sid: set(info.closure) & ids for sid, info in st.scopes.items()}


def auto_layout(model: FlowModel, sizes: Mapping[str, Size], node_ids: Iterable[str] | None = None,
                origin: tuple[float, float] | None = None) -> dict[str, tuple[float, float]]:
    """New positions for ``node_ids`` (all nodes by default), top-left at ``origin``."""
    import networkx as nx

    ids = set(node_ids) if node_ids is not None else set(model.nodes)
    if not ids:
        return {}
    g = _graph(model, ids)
    index = {n: i for i, n in enumerate(model.nodes)}
    layers = [sorted(gen, key=index.__getitem__) for gen in nx.topological_generations(g)]
    # innermost region wins: smaller regions are assigned last
    group: dict[str, str] = {n: n for n in g.nodes}
    for owner, members in sorted(_scopes(model, g).items(), key=lambda kv: -len(kv[1])):
        for m in members:
            group[m] = owner
    order: dict[str, float] = {}
    for li, layer in enumerate(layers):
        if li == 0:
            bary = {n: float(i) for i, n in enumerate(layer)}
        else:
            bary = {}
            for i, n in enumerate(layer):
                preds = [order[p] for p in g.predecessors(n) if p in order]
                bary[n] = mean(preds) if preds else float(i) + 1e6  # orphans go below
        gbary: dict[str, list[float]] = {}
        for n in layer:
            gbary.setdefault(group[n], []).append(bary[n])
        layer.sort(key=lambda n: (mean(gbary[group[n]]), group[n], bary[n], n))
        for i, n in enumerate(layer):
            order[n] = float(i)
    # coordinates
    heights = [sum(sizes.get(n, (200, 80))[1] for n in layer) + V_GAP * (len(layer) - 1) for layer in layers]
    tallest = max(heights)
    if origin is None:
        xs = [model.nodes[n].x for n in ids]
        ys = [model.nodes[n].y for n in ids]
        origin = (min(xs), min(ys)) if node_ids is not None else (0.0, 0.0)
    x = origin[0]
    pos: dict[str, tuple[float, float]] = {}
    for layer, h in zip(layers, heights):
        y = origin[1] + (tallest - h) / 2
        width = max(sizes.get(n, (200, 80))[0] for n in layer)
        for n in layer:
            pos[n] = (x, y)
            y += sizes.get(n, (200, 80))[1] + V_GAP
        x += width + H_GAP
    return pos


def align(rects: Mapping[str, tuple[float, float, float, float]], mode: str) -> dict[str, tuple[float, float]]:
    """Align (x, y, w, h) rects: left, right, top, bottom, hcenter, vcenter."""
    if not rects:
        return {}
    xs = [r[0] for r in rects.values()]
    ys = [r[1] for r in rects.values()]
    rights = [r[0] + r[2] for r in rects.values()]
    bottoms = [r[1] + r[3] for r in rects.values()]
    out = {}
    for k, (x, y, w, h) in rects.items():
        if mode == "left":
            out[k] = (min(xs), y)
        elif mode == "right":
            out[k] = (max(rights) - w, y)
        elif mode == "top":
            out[k] = (x, min(ys))
        elif mode == "bottom":
            out[k] = (x, max(bottoms) - h)
        elif mode == "hcenter":
            out[k] = ((min(xs) + max(rights)) / 2 - w / 2, y)
        elif mode == "vcenter":
            out[k] = (x, (min(ys) + max(bottoms)) / 2 - h / 2)
        else:
            raise ValueError(f"unknown alignment {mode!r}")
    return out


def distribute(rects: Mapping[str, tuple[float, float, float, float]], axis: str) -> dict[str, tuple[float, float]]:
    """Equal gaps between rects along ``axis`` ("h" or "v"), keeping the outer two in place."""
    if len(rects) < 3:
        return {k: (r[0], r[1]) for k, r in rects.items()}
    i, s = (0, 2) if axis == "h" else (1, 3)
    items = sorted(rects.items(), key=lambda kv: kv[1][i])
    start = items[0][1][i]
    end = items[-1][1][i] + items[-1][1][s]
    total = sum(r[s] for _, r in items)
    gap = (end - start - total) / (len(items) - 1)
    out = {}
    cur = start
    for k, r in items:
        out[k] = (cur, r[1]) if axis == "h" else (r[0], cur)
        cur += r[s] + gap
    return out
