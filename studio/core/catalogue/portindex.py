"""A node's ports by name, with the facts passes over a flow ask of them, worked out once
per distinct port tuple.

A node type hands out one cached tuple of ports for equal parameters, so a flow of a
thousand Template nodes has a handful of distinct tuples. Validation and plan
compilation both walk every node; each indexes a tuple the first time it meets it and
shares the result between the nodes that have it. The result is read-only: nodes share
its dicts.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from studio.core.catalogue.nodetype import Port
from studio.core.catalogue.types import SKIP, PortType

Carrying = tuple[tuple[str, str], ...]
"""A node's carrying outputs: (output name, what it carries) pairs (see document.typeflow)."""


def carrying_ports(ports: Mapping[str, Port]) -> Carrying:
    """The ``any`` outputs of one port map that pass a value on, with what each carries."""
    return tuple((name, p.carries) for name, p in ports.items() if p.carries is not None and p.type is PortType.ANY)


class IndexedPorts:
    """One port tuple, indexed. Its input facts are meaningful for input ports, its
    output facts for output ports; both are computed, as they cost little."""

    __slots__ = ("source", "by_name", "needing_source", "defaults", "carrying", "out_template")

    def __init__(self, ports: Iterable[Port]):
        self.source = ports  # held, so its id is not reused while the index lives
        self.by_name: dict[str, Port] = {p.name: p for p in ports}
        self.needing_source: tuple[str, ...] = tuple(n for n, p in self.by_name.items() if p.needs_source)
        self.defaults: dict[str, Any] = {n: p.default for n, p in self.by_name.items() if p.has_default}
        self.carrying: Carrying = carrying_ports(self.by_name)
        # every output present before a node's run fills them; 'error' is SKIP on success
        self.out_template: dict[str, Any] = {n: (SKIP if n == "error" else None) for n in self.by_name}


class PortIndex:
    """Indexes port tuples for one pass, each distinct tuple once."""

    def __init__(self) -> None:
        self._seen: dict[int, IndexedPorts] = {}

    def __call__(self, ports: Iterable[Port]) -> IndexedPorts:
        hit = self._seen.get(id(ports))
        if hit is None or hit.source is not ports:
            hit = self._seen[id(ports)] = IndexedPorts(ports)
        return hit
