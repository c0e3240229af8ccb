"""Port types carried through ``any`` ports: what a pass-through output really holds.

Many outputs are declared ``any`` because they pass a value on: a Loop's ``current``
and ``done`` carry what came into ``initial`` and, after the first iteration, into
``feedback`` (so their common type), a Merge's ``value`` whatever its inputs hold, a Branch's cases and an Approval's ``approved`` the value they route. Declared
types alone would let a Loop's text ``done`` feed a Fan-out's ``items`` (a list) and
fail only when the run gets there. This pass follows the wires in topological order
and gives each carrying output the type that reaches it (the common type of its
sources; ``any`` when they differ or are unknown), so validation can refuse such a
wire and the plan can coerce along it exactly as for a declared type.

A port says what it carries with ``Port.carries``: the name of an input, or ``"*"``
for the common type of every wired input.
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping

from studio.core.catalogue.nodetype import Port
from studio.core.catalogue.types import PortType
from studio.core.document.model import Edge

PortMap = Mapping[str, Mapping[str, Port]]


def carried_types(order: Iterable[str], edges_into: Callable[[str], Iterable[Edge]], in_ports: PortMap,
                  out_ports: PortMap) -> dict[tuple[str, str], PortType]:
    """(node, output port) -> the type it carries, for carrying ``any`` outputs whose
    sources agree on a concrete type. Outputs not listed keep their declared type.

    ``edges_into(node)`` lists the wires into a node (``FlowModel.edges_into``): only
    carrying nodes are asked, so a flow of plain steps costs one look at each node."""
    found: dict[tuple[str, str], PortType] = {}

    def source_type(e: Edge) -> PortType:
        t = found.get((e.src, e.src_port))
        if t is not None:
            return t
        p = out_ports.get(e.src, {}).get(e.src_port)
        return p.type if p is not None else PortType.ANY

    for nid in order:
        outs = out_ports.get(nid)
        if not outs:
            continue
        for name, port in outs.items():
            carries = port.carries
            if carries is None or port.type is not PortType.ANY:
                continue
            wires = [e for e in edges_into(nid) if carries == "*" or e.dst_port == carries]
            types = {source_type(e) for e in wires}
            if len(types) == 1:
                (t,) = types
                if t is not PortType.ANY:
                    found[(nid, name)] = t
    return found
