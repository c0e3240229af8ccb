"""The graph model: nodes, edges, frames and notes of one flow, with change events.

The model is plain data plus a listener list. Only the undoable commands in
``studio.core.document.commands`` call its mutators (the methods starting with ``_``); the
canvas observes the events and redraws. Run state never lives here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple

from studio.core.catalogue.nodetype import NodeType, Port
from studio.core.catalogue.params import Resolution
from studio.core.catalogue.registry import Registry, default_registry

# \Z, not $: "$" also matches before a final newline, which would let "abc\n" pass.
SLUG_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}\Z")
PORT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
MAX_ID_LEN = 64


def slugify(text: str, fallback: str = "node") -> str:
    """A readable node id from a title or type: "Extract actions" -> "extract_actions"."""
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not s or not s[0].isalpha():
        s = f"{fallback}_{s}" if s else fallback
    return s[:48].rstrip("_")


class ModelWatch:
    """One listener on one model at a time: watching a model stops listening to the last.

    Every panel that follows the open flow swaps its subscription when another flow opens.
    Doing the swap here means none of them can forget to unsubscribe and go on hearing
    (and redrawing for) a flow that is no longer shown.
    """

    __slots__ = ("_stop",)

    def __init__(self) -> None:
        self._stop: Callable[[], None] | None = None

    def watch(self, model: "FlowModel", listener: "Listener") -> None:
        self.stop()
        self._stop = model.subscribe(listener)

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None


@dataclass
class Node:
    id: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    title: str = ""
    x: float = 0.0
    y: float = 0.0
    width: float | None = None
    height: float | None = None
    collapsed: bool = False

    def copy(self) -> "Node":
        return Node(self.id, self.type, _deep_copy(self.params), self.title, self.x, self.y, self.width, self.height, self.collapsed)


class Edge(NamedTuple):
    """One wire, from an output (node, port) to an input (node, port).

    A NamedTuple rather than a frozen dataclass: flows hold thousands of edges and they
    live in sets and dict keys, where a tuple's C-level hash and compare are several
    times cheaper (this is most of the file loader's per-edge cost). Ordering is by
    (src, src_port, dst, dst_port), as before.
    """

    src: str
    src_port: str
    dst: str
    dst_port: str

    def __str__(self) -> str:
        return f"{self.src}.{self.src_port} -> {self.dst}.{self.dst_port}"


@dataclass
class Frame:
    id: str
    title: str = ""
    color: str = "#3a4a6b"
    x: float = 0.0
    y: float = 0.0
    width: float = 400.0
    height: float = 300.0

    def copy(self) -> "Frame":
        return Frame(self.id, self.title, self.color, self.x, self.y, self.width, self.height)


@dataclass
class Note:
    id: str
    text: str = ""
    color: str = "#6b5e2e"
    x: float = 0.0
    y: float = 0.0
    width: float = 220.0
    height: float = 120.0

    def copy(self) -> "Note":
        return Note(self.id, self.text, self.color, self.x, self.y, self.width, self.height)


@dataclass(frozen=True)
class ModelEvent:
    """One change: ``kind`` is e.g. node_added, node_removed, node_changed, node_moved,
    node_renamed, edge_added, edge_removed, frame_*, note_*, flow_changed, reset."""

    kind: str
    id: str | None = None
    edge: Edge | None = None
    data: Mapping[str, Any] | None = None


Listener = Callable[[ModelEvent], None]


class FlowModel:
    def __init__(self, name: str = "Untitled flow", registry: Registry | None = None, base_dir: Path | None = None):
        self.registry = registry or default_registry()
        self.base_dir = base_dir
        self.name = name
        self.description = ""
        self.nodes: dict[str, Node] = {}
        self._edges: dict[Edge, None] = {}  # an ordered set
        self._edges_at: dict[str, list[Edge]] = {}
        self.frames: dict[str, Frame] = {}
        self.notes: dict[str, Note] = {}
        # Flow-level sections kept verbatim: pricing overrides, run settings, tests,
        # the loaded file's `requires` (names packages for placeholders), unknown keys.
        self.meta: dict[str, Any] = {}
        self._listeners: list[Listener] = []
        self._resolved: dict[str, tuple[Node, dict, Any]] = {}  # node id -> (node, its params, Resolution)

    # -- observation -------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, kind: str, id: str | None = None, edge: Edge | None = None, **data: Any) -> None:
        if not self._listeners:
            return
        ev = ModelEvent(kind, id, edge, data or None)
        for listener in list(self._listeners):
            listener(ev)

    # -- queries -----------------------------------------------------------------

    @property
    def edges(self) -> list[Edge]:
        return list(self._edges)

    def edge_count(self) -> int:
        return len(self._edges)

    def has_edge(self, edge: Edge) -> bool:
        return edge in self._edges

    def edges_of(self, node_id: str) -> list[Edge]:
        return list(self._edges_at.get(node_id, ()))

    def edges_into(self, node_id: str, port: str | None = None) -> list[Edge]:
        return [e for e in self._edges_at.get(node_id, ()) if e.dst == node_id and (port is None or e.dst_port == port)]

    def edges_from(self, node_id: str, port: str | None = None) -> list[Edge]:
        return [e for e in self._edges_at.get(node_id, ()) if e.src == node_id and (port is None or e.src_port == port)]

    def node_type(self, node_id: str) -> type[NodeType]:
        return self.registry.get(self.nodes[node_id].type, self.package_for(self.nodes[node_id].type))

    def package_for(self, type_id: str) -> str | None:
        req = self.meta.get("requires")
        if isinstance(req, dict) and isinstance(req.get("node_types"), dict):
            pkg = req["node_types"].get(type_id)
            return pkg if isinstance(pkg, str) else None
        return None

    def resolution(self, node_id: str) -> "Resolution":
        """The node's parameters resolved against its type's schema (catalogue.params),
        cached until a parameter changes: validation asks for every node after every edit."""
        node = self.nodes[node_id]
        hit = self._resolved.get(node_id)
        if hit is not None and hit[0] is node and hit[1] is node.params:
            return hit[2]
        resolution = self.node_type(node_id).resolve(node.params)
        self._resolved[node_id] = (node, node.params, resolution)
        return resolution

    def params(self, node_id: str) -> dict[str, Any]:
        """The node's resolved parameter values: what every reader after loading uses."""
        return self.resolution(node_id).values

    def input_ports(self, node_id: str) -> dict[str, Port]:
        return {p.name: p for p in self.node_type(node_id).input_ports(self.params(node_id), self.base_dir)}

    def output_ports(self, node_id: str) -> dict[str, Port]:
        return {p.name: p for p in self.node_type(node_id).output_ports(self.params(node_id), self.base_dir)}

    def unique_node_id(self, base: str, taken: Iterable[str] = ()) -> str:
        """``base`` if free, else base_2, base_3, ... (readable, stable, unique).

        A ``base`` that already is a valid id is kept as it is (a pasted ``a__b`` stays
        ``a__b`` unless taken); anything else is slugified first. Suffixed ids are cut
        so they stay within the 64 characters the file format allows.
        """
        if not SLUG_RE.match(base):
            base = slugify(base)
        taken_set = set(taken)
        if base not in self.nodes and base not in taken_set:
            return base
        stem = re.sub(r"_\d+\Z", "", base) or base
        n = 2
        while True:
            suffix = f"_{n}"
            candidate = stem[: MAX_ID_LEN - len(suffix)] + suffix
            if candidate not in self.nodes and candidate not in taken_set:
                return candidate
            n += 1

    def unique_item_id(self, prefix: str, existing: Mapping[str, Any]) -> str:
        n = 1
        while f"{prefix}_{n}" in existing:
            n += 1
        return f"{prefix}_{n}"

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    # -- mutators (only commands and the file loader call these) ----------------------

    def _add_node(self, node: Node, index: int | None = None) -> None:
        if node.id in self.nodes:
            raise KeyError(f"node id {node.id!r} is taken")
        if index is None or index >= len(self.nodes):
            self.nodes[node.id] = node
        else:
            items = list(self.nodes.items())
            items.insert(index, (node.id, node))
            self.nodes = dict(items)
        self._emit("node_added", node.id)

    def _remove_node(self, node_id: str) -> tuple[Node, int]:
        index = list(self.nodes).index(node_id)
        node = self.nodes.pop(node_id)
        # _edges_at indexes every edge by both ends, whether the node exists or not (a
        # file may hold wires to missing nodes); commands remove a node's wires first.
        if not self._edges_at.get(node_id, True):
            del self._edges_at[node_id]
        self._emit("node_removed", node_id)
        return node, index

    def _add_edge(self, edge: Edge, index: int | None = None) -> None:
        if edge in self._edges:
            raise KeyError(f"the wire {edge} exists already")
        if index is None or index >= len(self._edges):
            self._edges[edge] = None
        else:
            items = list(self._edges)
            items.insert(index, edge)
            self._edges = dict.fromkeys(items)
        self._edges_at.setdefault(edge.src, []).append(edge)
        if edge.dst != edge.src:
            self._edges_at.setdefault(edge.dst, []).append(edge)
        self._emit("edge_added", edge=edge)

    def _remove_edge(self, edge: Edge) -> int:
        index = list(self._edges).index(edge)
        del self._edges[edge]
        for end in {edge.src, edge.dst}:
            lst = self._edges_at.get(end)
            if lst is not None and edge in lst:
                lst.remove(edge)
        self._emit("edge_removed", edge=edge)
        return index

    def _set_param(self, node_id: str, name: str, value: Any) -> None:
        params = self.nodes[node_id].params
        self._resolved.pop(node_id, None)
        if value is _DELETE:
            params.pop(name, None)
        else:
            params[name] = value
        self._emit("node_changed", node_id, param=name)

    def _set_node_fields(self, node_id: str, **fields: Any) -> None:
        node = self.nodes[node_id]
        for k, v in fields.items():
            setattr(node, k, v)
        kind = "node_moved" if set(fields) <= {"x", "y"} else "node_changed"
        self._emit(kind, node_id, fields=tuple(fields))

    def _rename_node(self, old: str, new: str) -> None:
        """Change a node's id; its wires follow and keep their places in the edge order
        (so renaming back restores the model exactly). Listeners see the old wires
        removed, the rename, then the new wires added."""
        if new in self.nodes:
            raise KeyError(f"node id {new!r} is taken")
        touched = list(dict.fromkeys(self._edges_at.get(old, ())))
        renamed = {e: Edge(new if e.src == old else e.src, e.src_port, new if e.dst == old else e.dst, e.dst_port)
                   for e in touched}
        if any(r in self._edges for r in renamed.values()):
            raise KeyError(f"renaming {old!r} to {new!r} would duplicate a wire")
        for e in touched:
            self._emit("edge_removed", edge=e)
        self.nodes = {(new if k == old else k): v for k, v in self.nodes.items()}
        self.nodes[new].id = new
        self._edges = {renamed.get(e, e): None for e in self._edges}
        for e in touched:
            for end in {e.src, e.dst} - {old}:
                lst = self._edges_at[end]
                lst[lst.index(e)] = renamed[e]
        self._edges_at.pop(old, None)
        if touched:
            self._edges_at.setdefault(new, []).extend(renamed[e] for e in touched)
        self._emit("node_renamed", new, old=old)
        for e in touched:
            self._emit("edge_added", edge=renamed[e])

    def _put_item(self, table: str, item: Frame | Note, index: int | None = None) -> None:
        store: dict = getattr(self, table)
        if index is None or index >= len(store):
            store[item.id] = item
        else:
            items = list(store.items())
            items.insert(index, (item.id, item))
            setattr(self, table, dict(items))
        self._emit(f"{table[:-1]}_added", item.id)

    def _pop_item(self, table: str, item_id: str) -> tuple[Frame | Note, int]:
        store: dict = getattr(self, table)
        index = list(store).index(item_id)
        item = store.pop(item_id)
        self._emit(f"{table[:-1]}_removed", item_id)
        return item, index

    def _set_item_fields(self, table: str, item_id: str, **fields: Any) -> None:
        item = getattr(self, table)[item_id]
        for k, v in fields.items():
            setattr(item, k, v)
        self._emit(f"{table[:-1]}_changed", item_id, fields=tuple(fields))

    def _set_flow_fields(self, **fields: Any) -> None:
        for k, v in fields.items():
            if k in ("name", "description"):
                setattr(self, k, v)
            elif v is _DELETE:
                self.meta.pop(k, None)
            else:
                self.meta[k] = v
        self._emit("flow_changed", fields=tuple(fields))

    def _load(self, nodes: Iterable[Node], edges: Iterable[Edge], frames: Iterable[Frame], notes: Iterable[Note]) -> None:
        """Replace the contents in one go (the file loader): one ``reset`` event instead
        of one per item, and no per-item bookkeeping beyond the edge index."""
        self.nodes = {n.id: n for n in nodes}
        self._edges = dict.fromkeys(edges)
        at: dict[str, list[Edge]] = {}
        for e in self._edges:
            at.setdefault(e.src, []).append(e)
            if e.dst != e.src:
                at.setdefault(e.dst, []).append(e)
        self._edges_at = at
        self.frames = {f.id: f for f in frames}
        self.notes = {n.id: n for n in notes}
        self._emit("reset")

    def _clear(self) -> None:
        self.nodes.clear()
        self._edges.clear()
        self._edges_at.clear()
        self.frames.clear()
        self.notes.clear()
        self.meta.clear()
        self._emit("reset")


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


_DELETE: Any = _Delete()
DELETE = _DELETE
"""Passed as a parameter value to remove the parameter (undo of setting a new one)."""


def _deep_copy(value: Any) -> Any:
    """Copy JSON-shaped data without recursion limits mattering for sane flows."""
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
