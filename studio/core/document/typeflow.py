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
from studio.core.catalogue.portindex import Carrying, carrying_ports
from studio.core.catalogue.types import PortType
from studio.core.document.model import Edge

PortMap = Mapping[str, Mapping[str, Port]]


def carried_types(order: Iterable[str], edges_into: Callable[[str], Iterable[Edge]], out_ports: PortMap,
                  carrying: Mapping[str, Carrying] | None = None) -> dict[tuple[str, str], PortType]:
    """(node, output port) -> the type it carries, for carrying ``any`` outputs whose
    sources agree on a concrete type. Outputs not listed keep their declared type.

    ``edges_into(node)`` lists the wires into a node (``FlowModel.edges_into``).
    ``carrying`` maps the nodes that have carrying outputs to them (``carrying_ports``);
    a caller that already walked its port maps passes it, so a flow of plain steps
    costs one dict look per node and a carrying node one look at its wires."""
    if carrying is None:
        carrying = {nid: c for nid, ports in out_ports.items() if (c := carrying_ports(ports))}
    found: dict[tuple[str, str], PortType] = {}
    if not carrying:
        return found
    any_type, no_ports = PortType.ANY, {}
    for nid in filter(carrying.__contains__, order):  # the filter runs in C: most nodes carry nothing
        wires = edges_into(nid)
        done_for = None  # the `carries` whose common type `common` is (a Loop's two outputs share "*")
        for name, carries in carrying[nid]:
            if carries != done_for:
                done_for, common = carries, None  # the one type every source holds; ANY when they differ
                for e in wires:
                    if carries != "*" and e.dst_port != carries:
                        continue
                    t = found.get((e.src, e.src_port))
                    if t is None:
                        p = out_ports.get(e.src, no_ports).get(e.src_port)
                        t = p.type if p is not None else any_type
                    if common is None:
                        common = t
                    elif t is not common:
                        common = any_type
                        break
            if common is not None and common is not any_type:
                found[(nid, name)] = common
    return found
